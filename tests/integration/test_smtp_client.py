# The smtp delivery agent (issue 18; docs/smtp-client.md) against real peers on loopback: Postfix's
# smtp-sink as the receiving server, dnsmasq serving the test's MX and A records
# (resolver_nameservers points Estafeta at it), and a scripted server (scripted_smtp.py) for the
# failures smtp-sink cannot play: the next MX when the first is down, an MX reached over IPv6 (AAAA
# only; not with inet_protocols = ipv4), smtp_fallback_relay for an unreachable destination,
# sender_dependent_relayhost_maps (by sender address, by sender domain, else relayhost),
# smtp_helo_name and smtp_bind_address, DSN parameters passed on, a message over the peer's SIZE and
# an SMTPUTF8 message for a peer without SMTPUTF8 (both bounced without MAIL), the null MX and a
# domain that does not exist bounced at once, a 4xx then a success, a partial RCPT failure, TLS
# required but not offered (deferred, nothing sent in clear), a peer that stalls after the end of
# the data, a peer that stops reading in the middle of the data (the agent's write blocks until
# smtp_data_xfer_timeout), a peer that answers garbage, a peer without 8BITMIME (the 8-bit message
# is downgraded to quoted-printable, its UTF-8 Subject and From display name become RFC 2047
# encoded-words that Python's email package decodes back), a peer without SMTPUTF8 (an IDN recipient
# domain goes as A-labels). Every outcome is checked in Postfix's log format (to=<..>,
# relay=host[ip]:port, delays=a/b/c/d, dsn=, status=).
import email
import email.policy
import glob
import os
import re
import smtplib
import subprocess
import tempfile
import time
import unittest

import harness
import tools
from dns_server import DnsServer
from harness import EstafetaServer
from scripted_smtp import ScriptedSmtp

SMTP_ROWS = ['smtp unix - - n - - smtp', 'relay unix - - n - - smtp']


def send(srv, recipients, sender='alice@localhost', subject='outbound', body=None):
    with smtplib.SMTP(srv.host, srv.port, timeout=harness.TIMEOUT) as s:
        s.ehlo('client.example')
        text, _ = harness.simple_message(subject=subject, body=body or 'Hello from Estafeta.')
        s.sendmail(sender, recipients, text)


class SmtpSink:
    """Postfix's smtp-sink on 127.0.0.1:PORT, dumping each transaction into a directory."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix='estafeta-sink-')
        os.chmod(self.dir, 0o777)
        self.port = harness.free_port()
        user = 'nobody'
        self.proc = subprocess.Popen(
            [tools.require('smtp-sink'), '-u', user, '-d', os.path.join(self.dir, '%Y%m%d%H%M%S.'),
             '127.0.0.1:%d' % self.port, '16'],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        harness.wait_until(lambda: self._listening(), 10)

    def _listening(self):
        import socket
        try:
            socket.create_connection(('127.0.0.1', self.port), 0.5).close()
            return True
        except OSError:
            return False

    def messages(self):
        out = []
        for name in sorted(glob.glob(os.path.join(self.dir, '*'))):
            with open(name, 'rb') as f:
                out.append(f.read())
        return out

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        harness.stop_process(self.proc, 10)
        subprocess.run(['rm', '-rf', self.dir])


class SmtpClientTest(unittest.TestCase):
    def server(self, dns=None, **main):
        settings = {
            'mynetworks': '127.0.0.0/8',
            'minimal_backoff_time': '1s',
            'maximal_backoff_time': '2s',
            'queue_run_delay': '1s',
            'smtp_connect_timeout': '3s',
            # Every test has its own nameserver; without one, an address that no test
            # record covers must not reach the machine's.
            'resolver_nameservers': dns.nameserver if dns else '127.0.0.1:9',
        }
        settings.update(main)
        srv = EstafetaServer(main=settings, start=False)
        srv.master_extra = list(SMTP_ROWS)
        srv.__enter__()
        self.addCleanup(srv.__exit__, None, None, None)
        srv.start()
        return srv

    def dns(self, **records):
        d = DnsServer(**records)
        d.__enter__()
        self.addCleanup(d.__exit__, None, None, None)
        return d

    def scripted(self, **kw):
        s = ScriptedSmtp(**kw)
        self.addCleanup(s.stop)
        return s

    def send_8bitmime(self, srv, message, recipient):
        """`message` (bytes) from alice@localhost with BODY=8BITMIME, then its delivery."""
        with smtplib.SMTP(srv.host, srv.port, timeout=harness.TIMEOUT) as s:
            s.ehlo('client.example')
            s.sendmail('alice@localhost', [recipient], message, mail_options=['BODY=8BITMIME'])
        self.wait_status(srv, recipient, 'sent')

    def wait_status(self, srv, address, status):
        m = srv.wait_for_log(r'smtp\[\d+\]: \w+: to=<%s>, .*status=%s .*$' %
                             (re.escape(address), status))
        self.assertIsNotNone(m, srv.log())
        return m.group(0)

    def test_relayhost_in_brackets_delivers_to_smtp_sink(self):
        with SmtpSink() as sink:
            srv = self.server(relayhost='[127.0.0.1]:%d' % sink.port)
            send(srv, ['bob@remote.test'], subject='to the sink')
            line = self.wait_status(srv, 'bob@remote.test', 'sent')
            self.assertRegex(line, r'relay=127\.0\.0\.1\[127\.0\.0\.1\]:%d, delay=[\d.]+, '
                                   r'delays=[\d.]+/[\d.]+/[\d.]+/[\d.]+, dsn=2\.0\.0, status=sent '
                                   r'\(250 ' % sink.port)
            harness.wait_until(lambda: sink.messages(), 10)
            self.assertIn(b'Subject: to the sink', sink.messages()[0])
            # The queue is empty afterwards.
            self.assertTrue(harness.wait_until(
                lambda: not os.listdir(os.path.join(srv.spool, 'active')), 10))

    def test_mx_lookup_tries_the_next_mx_when_the_first_is_down(self):
        peer = self.scripted()
        dns = self.dns(mx={'dest.test': [(10, 'mx1.dest.test'), (20, 'mx2.dest.test')]},
                       hosts={'mx1.dest.test': ['127.0.0.2'], 'mx2.dest.test': ['127.0.0.1']})
        # The MX hosts on the scripted server's port (127.0.0.2 has nothing on it).
        srv = self.server(dns, relayhost='dest.test:%d' % peer.port)
        send(srv, ['carol@far.test'])
        line = self.wait_status(srv, 'carol@far.test', 'sent')
        self.assertIn('relay=mx2.dest.test[127.0.0.1]:%d' % peer.port, line)
        self.assertEqual(len(peer.accepted), 1)
        self.assertEqual(peer.accepted[0][1], ['carol@far.test'])

    def test_an_mx_with_only_an_ipv6_address_is_reached_over_ipv6(self):
        # inet_protocols = all (the default): the MX host has only an AAAA record (::1).
        peer = self.scripted(host='::1')
        dns = self.dns(mx={'six.test': [(10, 'mx6.six.test')]}, hosts={'mx6.six.test': ['::1']})
        srv = self.server(dns, relayhost='six.test:%d' % peer.port)
        send(srv, ['olga@far.test'])
        line = self.wait_status(srv, 'olga@far.test', 'sent')
        self.assertIn('relay=mx6.six.test[::1]:%d' % peer.port, line)
        self.assertEqual([a[1] for a in peer.accepted], [['olga@far.test']])

    def test_inet_protocols_ipv4_does_not_use_an_ipv6_only_mx(self):
        # Only A records are looked up; an MX host without one is not found, as Postfix
        # says with smtp_defer_if_no_mx_address_found = no (the default): a bounce.
        peer = self.scripted(host='::1')
        dns = self.dns(mx={'six.test': [(10, 'mx6.six.test')]}, hosts={'mx6.six.test': ['::1']})
        srv = self.server(dns, relayhost='six.test:%d' % peer.port, inet_protocols='ipv4')
        send(srv, ['pia@far.test'])
        line = self.wait_status(srv, 'pia@far.test', 'bounced')
        self.assertIn('relay=none', line)
        self.assertIn('dsn=5.4.4', line)
        self.assertIn('name=mx6.six.test type=A: Host found but no data record', line)
        self.assertEqual(peer.connections, 0)

    def test_a_4xx_greeting_sends_the_message_to_the_next_mx(self):
        peer = self.scripted()
        busy = self.scripted(host='127.0.0.2', port=peer.port, greeting='421 4.3.2 too busy')
        dns = self.dns(mx={'dest.test': [(10, 'mx1.dest.test'), (20, 'mx2.dest.test')]},
                       hosts={'mx1.dest.test': ['127.0.0.2'], 'mx2.dest.test': ['127.0.0.1']})
        srv = self.server(dns, relayhost='dest.test:%d' % peer.port)
        send(srv, ['cathy@far.test'])
        line = self.wait_status(srv, 'cathy@far.test', 'sent')
        self.assertIn('relay=mx2.dest.test[127.0.0.1]:%d' % peer.port, line)
        self.assertEqual(busy.connections, 1)  # tried first, and nothing went there
        self.assertEqual(busy.accepted, [])
        self.assertEqual([a[1] for a in peer.accepted], [['cathy@far.test']])

    def test_null_mx_and_unknown_domain_bounce_at_once(self):
        dns = self.dns(mx={'nullmx.test': [(0, '.')]}, hosts={'other.test': ['127.0.0.1']})
        srv = self.server(dns)
        send(srv, ['x@nullmx.test', 'y@nosuch.test'])
        line = self.wait_status(srv, 'x@nullmx.test', 'bounced')
        self.assertIn('dsn=5.1.10', line)
        self.assertIn('relay=none', line)
        line = self.wait_status(srv, 'y@nosuch.test', 'bounced')
        self.assertIn('dsn=5.4.4', line)
        self.assertIn('Host or domain name not found', line)
        # The sender gets the non-delivery notice.
        self.assertTrue(srv.wait_for_delivery('alice'), srv.log())

    def test_a_4xx_is_deferred_then_delivered(self):
        peer = self.scripted(rcpt=lambda a, n: '451 4.3.0 Try again later' if n == 1
                             else '250 2.1.5 Ok')
        srv = self.server(relayhost='[127.0.0.1]:%d' % peer.port)
        send(srv, ['dave@remote.test'])
        line = self.wait_status(srv, 'dave@remote.test', 'deferred')
        self.assertIn('dsn=4.3.0', line)
        self.assertIn('host 127.0.0.1[127.0.0.1] said: 451 4.3.0 Try again later (in reply to '
                      'RCPT TO command)', line)
        self.wait_status(srv, 'dave@remote.test', 'sent')
        self.assertEqual(len(peer.accepted), 1)

    def test_a_partial_rcpt_failure_delivers_the_rest_and_bounces_one(self):
        peer = self.scripted(rcpt=lambda a, n: '550 5.1.1 <%s>: Recipient address rejected: '
                             'User unknown' % a if a.startswith('nobody') else '250 2.1.5 Ok')
        srv = self.server(relayhost='[127.0.0.1]:%d' % peer.port)
        send(srv, ['erin@remote.test', 'nobody@remote.test'])
        self.wait_status(srv, 'erin@remote.test', 'sent')
        line = self.wait_status(srv, 'nobody@remote.test', 'bounced')
        self.assertIn('dsn=5.1.1', line)
        self.assertEqual([a[1] for a in peer.accepted], [['erin@remote.test']])
        self.assertTrue(srv.wait_for_delivery('alice'), srv.log())
        notice = srv.messages('alice')[0]
        self.assertIn(b'nobody@remote.test', notice)
        self.assertIn(b'Diagnostic-Code: smtp; 550 5.1.1', notice)

    def test_tls_required_but_not_offered_is_deferred_and_nothing_is_sent(self):
        peer = self.scripted()  # no STARTTLS in its EHLO reply
        srv = self.server(relayhost='[127.0.0.1]:%d' % peer.port,
                          smtp_tls_security_level='encrypt')
        send(srv, ['frank@remote.test'])
        line = self.wait_status(srv, 'frank@remote.test', 'deferred')
        self.assertIn('dsn=4.7.4', line)
        self.assertIn('TLS is required, but was not offered', line)
        self.assertFalse([c for c in peer.commands if c.upper().startswith(('MAIL', 'RCPT', 'DATA'))])
        self.assertEqual(peer.accepted, [])

    def test_a_failed_opportunistic_handshake_is_retried_in_clear(self):
        peer = self.scripted(ehlo_lines=('PIPELINING', 'STARTTLS', '8BITMIME'))
        srv = self.server(relayhost='[127.0.0.1]:%d' % peer.port)  # smtp_tls_security_level=may
        send(srv, ['jane@remote.test'])
        self.wait_status(srv, 'jane@remote.test', 'sent')
        self.assertIn('TLS handshake failed, trying again in clear', srv.log())
        self.assertEqual(peer.connections, 2, srv.log())
        self.assertEqual(peer.commands.count('STARTTLS'), 1)
        self.assertEqual([a[1] for a in peer.accepted], [['jane@remote.test']])

    def test_level_none_notes_a_starttls_offer_and_sends_in_clear(self):
        peer = self.scripted(ehlo_lines=('PIPELINING', 'STARTTLS', '8BITMIME'))
        srv = self.server(relayhost='[127.0.0.1]:%d' % peer.port,
                          smtp_tls_security_level='none', smtp_tls_note_starttls_offer='yes')
        send(srv, ['lena@remote.test'])
        self.wait_status(srv, 'lena@remote.test', 'sent')
        self.assertIn('Host offered STARTTLS: [127.0.0.1]', srv.log())
        self.assertNotIn('STARTTLS', peer.commands)

    def test_a_failed_handshake_when_tls_is_required_is_not_retried_in_clear(self):
        peer = self.scripted(ehlo_lines=('PIPELINING', 'STARTTLS', '8BITMIME'))
        srv = self.server(relayhost='[127.0.0.1]:%d' % peer.port,
                          smtp_tls_security_level='encrypt')
        send(srv, ['kate@remote.test'])
        line = self.wait_status(srv, 'kate@remote.test', 'deferred')
        self.assertIn('dsn=4.7.5', line)
        self.assertEqual(peer.connections, 1)
        self.assertEqual(peer.accepted, [])

    def test_a_peer_that_stalls_after_the_data_is_deferred_with_a_warning(self):
        peer = self.scripted(end_of_data='STALL')
        srv = self.server(relayhost='[127.0.0.1]:%d' % peer.port, smtp_data_done_timeout='2s')
        send(srv, ['gina@remote.test'])
        line = self.wait_status(srv, 'gina@remote.test', 'deferred')
        self.assertIn('conversation with 127.0.0.1[127.0.0.1] timed out while sending end of data '
                      '-- message may be sent more than once', line)
        self.assertIn('relay=127.0.0.1[127.0.0.1]:%d' % peer.port, line)

    def test_a_peer_that_stops_reading_mid_data_is_deferred_and_the_agent_goes_on(self):
        # The peer stops reading after 64 KiB of an 8 MB message's content (its receive
        # window fills, the agent's write blocks): smtp_data_xfer_timeout ends the session,
        # the recipient is deferred with Postfix's text, and the same agent then delivers the
        # retry and another message to that peer (it stalls only in the first transaction).
        peer = self.scripted(stall_in_body=lambda n: n == 1)
        srv = self.server(relayhost='[127.0.0.1]:%d' % peer.port, smtp_data_xfer_timeout='3s')
        big = ('x' * 76 + '\r\n') * (8 * 1024 * 1024 // 78)
        send(srv, ['lena@remote.test'], subject='big', body=big)
        line = self.wait_status(srv, 'lena@remote.test', 'deferred')
        self.assertIn('relay=127.0.0.1[127.0.0.1]:%d' % peer.port, line)
        self.assertIn('dsn=4.4.2', line)
        self.assertIn('(conversation with 127.0.0.1[127.0.0.1] timed out while sending message '
                      'body)', line)
        self.assertEqual(peer.body_stalls, 1)
        send(srv, ['mona@remote.test'], subject='small')
        self.wait_status(srv, 'mona@remote.test', 'sent')
        self.wait_status(srv, 'lena@remote.test', 'sent')
        self.assertEqual(sorted(a[1][0] for a in peer.accepted),
                         ['lena@remote.test', 'mona@remote.test'])
        lena = [a[2] for a in peer.accepted if a[1] == ['lena@remote.test']][0]
        self.assertGreater(len(lena), 8 * 1024 * 1024 - 1024)
        self.assertNotRegex(srv.log(), r'process \S+ pid \d+ (killed by signal|exit status)')

    def test_an_8bit_message_is_downgraded_for_a_peer_without_8bitmime(self):
        peer = self.scripted(ehlo_lines=('PIPELINING', 'SIZE 10240000', 'ENHANCEDSTATUSCODES'))
        srv = self.server(relayhost='[127.0.0.1]:%d' % peer.port)
        body = b'Le caf\xe9 est pr\xeat.\r\n'
        message = (b'From: alice@localhost\r\nTo: hugo@remote.test\r\nSubject: 8bit\r\n'
                   b'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\n'
                   b'Content-Transfer-Encoding: 8bit\r\n\r\n' + body)
        self.send_8bitmime(srv, message, 'hugo@remote.test')
        self.assertEqual(len(peer.accepted), 1)
        data = peer.accepted[0][2]
        self.assertIn(b'Content-Transfer-Encoding: quoted-printable\r\n', data)
        self.assertIn(b'Le caf=E9 est pr=EAt.\r\n', data)
        self.assertFalse([c for c in peer.commands if 'BODY=' in c.upper()], peer.commands)

    def test_8bit_header_text_is_rfc2047_encoded_for_a_peer_without_8bitmime(self):
        peer = self.scripted(ehlo_lines=('PIPELINING', 'SIZE 10240000', 'ENHANCEDSTATUSCODES'))
        srv = self.server(relayhost='[127.0.0.1]:%d' % peer.port)
        subject = 'Caf\u00e9 cr\u00e8me for everyone: \u20ac10 ' + 'tr\u00e8s long ' * 8
        message = ('From: J\u00f6rg M\u00fcller <alice@localhost>\r\nTo: hugo@remote.test\r\n'
                   'Subject: %s\r\nMIME-Version: 1.0\r\n'
                   'Content-Type: text/plain; charset=utf-8\r\n'
                   'Content-Transfer-Encoding: 8bit\r\n\r\nD\u00e9j\u00e0 vu.\r\n'
                   % subject).encode('utf-8')
        self.send_8bitmime(srv, message, 'hugo@remote.test')
        self.assertEqual(len(peer.accepted), 1)
        data = peer.accepted[0][2]
        self.assertFalse([b for b in data if b > 127], data)
        for line in data.split(b'\r\n'):
            if b'=?utf-8?' in line:
                self.assertLessEqual(len(line), 76, data)
        parsed = email.message_from_bytes(data, policy=email.policy.default)
        self.assertEqual(parsed['Subject'], subject.rstrip())
        self.assertEqual(parsed['From'].addresses[0].display_name, 'J\u00f6rg M\u00fcller')
        self.assertEqual(parsed['From'].addresses[0].addr_spec, 'alice@localhost')
        self.assertEqual(parsed.get_content().rstrip(), 'D\u00e9j\u00e0 vu.')

    def test_an_idn_recipient_domain_goes_as_a_labels_to_a_peer_without_smtputf8(self):
        peer = self.scripted()  # no SMTPUTF8 in its EHLO reply
        srv = self.server(relayhost='[127.0.0.1]:%d' % peer.port,
                          virtual_alias_maps='inline:{ ivan@remote.test=ivan@b\u00fccher.test }')
        send(srv, ['ivan@remote.test'])
        self.wait_status(srv, 'ivan@b\u00fccher.test', 'sent')
        self.assertEqual([a[1] for a in peer.accepted], [['ivan@xn--bcher-kva.test']])

    def test_an_unreachable_destination_goes_to_the_fallback_relay(self):
        # The destination's only MX (127.0.0.2) has nothing on the port: smtp_fallback_relay.
        peer = self.scripted()
        dns = self.dns(mx={'dest.test': [(10, 'mx1.dest.test')]},
                       hosts={'mx1.dest.test': ['127.0.0.2']})
        srv = self.server(dns, relayhost='dest.test:%d' % peer.port,
                          smtp_fallback_relay='[127.0.0.1]:%d' % peer.port)
        send(srv, ['quinn@far.test'])
        line = self.wait_status(srv, 'quinn@far.test', 'sent')
        self.assertIn('relay=127.0.0.1[127.0.0.1]:%d' % peer.port, line)
        self.assertEqual([a[1] for a in peer.accepted], [['quinn@far.test']])

    def test_sender_dependent_relayhost_maps_picks_the_relay_by_sender(self):
        # One relay for a sender address, one for a sender domain, relayhost for the rest.
        by_address, by_domain, default = self.scripted(), self.scripted(), self.scripted()
        tmp = tempfile.mkdtemp(prefix='estafeta-sdrh-')
        self.addCleanup(subprocess.run, ['rm', '-rf', tmp])
        os.chmod(tmp, 0o755)
        table = os.path.join(tmp, 'sender_relay')
        with open(table, 'w') as f:
            f.write('alice@localhost [127.0.0.1]:%d\n' % by_address.port)
            f.write('@senders.test [127.0.0.1]:%d\n' % by_domain.port)
        os.chmod(table, 0o644)
        srv = self.server(relayhost='[127.0.0.1]:%d' % default.port,
                          sender_dependent_relayhost_maps='texthash:' + table)
        send(srv, ['to-a@remote.test'], sender='alice@localhost')
        send(srv, ['to-b@remote.test'], sender='bob@senders.test')
        send(srv, ['to-c@remote.test'], sender='carol@other.test')
        for address, peer in (('to-a@remote.test', by_address), ('to-b@remote.test', by_domain),
                              ('to-c@remote.test', default)):
            line = self.wait_status(srv, address, 'sent')
            self.assertIn('relay=127.0.0.1[127.0.0.1]:%d' % peer.port, line)
        self.assertEqual([(a[0], a[1]) for a in by_address.accepted],
                         [('alice@localhost', ['to-a@remote.test'])])
        self.assertEqual([(a[0], a[1]) for a in by_domain.accepted],
                         [('bob@senders.test', ['to-b@remote.test'])])
        self.assertEqual([(a[0], a[1]) for a in default.accepted],
                         [('carol@other.test', ['to-c@remote.test'])])

    def test_helo_name_and_bind_address(self):
        peer = self.scripted()
        srv = self.server(relayhost='[127.0.0.1]:%d' % peer.port,
                          smtp_helo_name='out.helo.test', smtp_bind_address='127.0.0.3')
        send(srv, ['rosa@remote.test'])
        self.wait_status(srv, 'rosa@remote.test', 'sent')
        self.assertIn('EHLO out.helo.test', peer.commands)
        self.assertEqual(peer.peers, ['127.0.0.3'])

    def test_dsn_parameters_are_passed_on(self):
        peer = self.scripted()  # announces DSN
        srv = self.server(relayhost='[127.0.0.1]:%d' % peer.port)
        with smtplib.SMTP(srv.host, srv.port, timeout=harness.TIMEOUT) as s:
            s.ehlo('client.example')
            text, _ = harness.simple_message(subject='dsn')
            s.sendmail('alice@localhost', ['sam@remote.test'], text,
                       mail_options=['RET=HDRS', 'ENVID=env+2B1'],
                       rcpt_options=['NOTIFY=SUCCESS,FAILURE', 'ORCPT=rfc822;sam@orig.test'])
        self.wait_status(srv, 'sam@remote.test', 'sent')
        mail = [c for c in peer.commands if c.upper().startswith('MAIL FROM:')][0]
        rcpt = [c for c in peer.commands if c.upper().startswith('RCPT TO:')][0]
        self.assertIn(' RET=HDRS', mail)
        self.assertIn(' ENVID=env+2B1', mail)
        self.assertIn(' NOTIFY=SUCCESS,FAILURE', rcpt)
        self.assertIn(' ORCPT=rfc822;sam@orig.test', rcpt)

    def test_a_message_over_the_peers_size_is_bounced_without_sending_it(self):
        peer = self.scripted(ehlo_lines=('PIPELINING', 'SIZE 1000', '8BITMIME'))
        srv = self.server(relayhost='[127.0.0.1]:%d' % peer.port)
        send(srv, ['tom@remote.test'], body=('y' * 70 + '\r\n') * 30)
        line = self.wait_status(srv, 'tom@remote.test', 'bounced')
        self.assertIn('dsn=5.3.4', line)
        self.assertIn('Message size exceeds fixed limit', line)
        self.assertFalse([c for c in peer.commands if c.upper().startswith('MAIL')],
                         peer.commands)

    def test_smtputf8_required_but_not_offered_is_bounced(self):
        peer = self.scripted()  # no SMTPUTF8
        srv = self.server(relayhost='[127.0.0.1]:%d' % peer.port)
        with smtplib.SMTP(srv.host, srv.port, timeout=harness.TIMEOUT) as s:
            s.ehlo('client.example')
            text, _ = harness.simple_message(subject='utf8')
            s.sendmail('alice@localhost', ['j\u00fcrgen@remote.test'], text.encode(),
                       mail_options=['SMTPUTF8'])
        line = self.wait_status(srv, 'j\u00fcrgen@remote.test', 'bounced')
        self.assertIn('dsn=5.6.7', line)
        self.assertIn('SMTPUTF8 is required, but was not offered by host 127.0.0.1[127.0.0.1]',
                      line)
        self.assertFalse([c for c in peer.commands if c.upper().startswith('MAIL')],
                         peer.commands)

    def test_garbage_instead_of_a_greeting_is_deferred(self):
        peer = self.scripted(greeting='hello, I am not an SMTP server')
        srv = self.server(relayhost='[127.0.0.1]:%d' % peer.port)
        send(srv, ['hank@remote.test'])
        line = self.wait_status(srv, 'hank@remote.test', 'deferred')
        self.assertIn('dsn=4.4.2', line)
        self.assertEqual(peer.accepted, [])

    def test_an_over_long_reply_is_a_protocol_error_and_nothing_is_sent(self):
        # A reply line over line_length_limit (2048) to MAIL: the session ends there.
        peer = self.scripted(mail='250 2.1.0 ' + 'x' * 5000)
        srv = self.server(relayhost='[127.0.0.1]:%d' % peer.port)
        send(srv, ['judy@remote.test'])
        line = self.wait_status(srv, 'judy@remote.test', 'deferred')
        self.assertIn('dsn=4.4.2', line)
        self.assertIn('reply line too long', line)
        self.assertNotIn('x' * 100, srv.log())  # the reply is not logged whole
        self.assertEqual(peer.accepted, [])  # no content went out

    def test_a_refused_connection_is_deferred_with_the_reason(self):
        port = harness.free_port()  # nothing listens there
        srv = self.server(relayhost='[127.0.0.1]:%d' % port)
        send(srv, ['ivan@remote.test'])
        line = self.wait_status(srv, 'ivan@remote.test', 'deferred')
        self.assertIn('relay=none', line)
        self.assertIn('dsn=4.4.1', line)
        self.assertIn('connect to 127.0.0.1[127.0.0.1]:%d: Connection refused' % port, line)


if __name__ == '__main__':
    unittest.main()
