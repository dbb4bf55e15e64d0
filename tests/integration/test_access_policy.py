# The restriction engine through the real smtpd (issue 19): smtpd_*_restrictions with access
# tables, access(5) actions, restriction classes, smtpd_delay_reject, DNS lists and client
# names from a dnsmasq on loopback, and greylisting by Debian's postgrey through
# check_policy_service. Clients connect from chosen loopback addresses (127.0.0.2, ...:
# Linux routes all of 127/8 to lo) with mynetworks = 127.0.0.1/32; every case checks the
# replies and Postfix's log lines.
import os
import re
import time
import unittest

import harness
from dns_server import DnsServer
from harness import EstafetaServer
from postgrey import Postgrey

INSIDE = '127.0.0.1'


def From(source, port):
    """An SMTP conversation from a chosen local address to 127.0.0.1:port."""
    return harness.SocketConversation('127.0.0.1', port, source=source)


def write(directory, name, text):
    path = os.path.join(directory, name)
    with open(path, 'w') as f:
        f.write(text)
    return path


def files_under(path):
    return [name for _, _, names in os.walk(path) for name in names]


class Session:
    """Helpers shared by the test classes: one envelope, then optionally a message."""

    def envelope(self, port, source, sender, recipient, helo='client.example'):
        """Connects from `source`, EHLO, MAIL, RCPT; returns (conversation, MAIL reply,
        RCPT reply). The caller closes the conversation."""
        c = From(source, port)
        self.assertEqual(c.banner.code, 220, c.banner)
        self.assertEqual(c.cmd('EHLO ' + helo).code, 250)
        mail = c.cmd('MAIL FROM:<%s>' % sender)
        rcpt = c.cmd('RCPT TO:<%s>' % recipient) if mail.code == 250 else None
        return c, mail, rcpt

    def rcpt_reply(self, port, source, sender, recipient):
        c, mail, rcpt = self.envelope(port, source, sender, recipient)
        with c:
            self.assertEqual(mail.code, 250, mail)
            c.cmd('QUIT')
        return rcpt

    def send(self, port, source, sender, recipient, headers='Subject: policy\r\n'):
        """One message; asserts it was accepted; returns the queue ID from the 250 reply."""
        c, mail, rcpt = self.envelope(port, source, sender, recipient)
        with c:
            self.assertEqual(mail.code, 250, mail)
            self.assertEqual(rcpt.code, 250, rcpt)
            self.assertEqual(c.cmd('DATA').code, 354)
            c.send(headers + '\r\nbody\r\n.\r\n')
            done = c.read_reply()
            self.assertEqual(done.code, 250, done)
            c.cmd('QUIT')
        m = re.search(r'queued as ([0-9A-F]+)', done.text)
        return m.group(1) if m else None


class AccessTablesTest(unittest.TestCase, Session):
    """Sendmail-style access tables, access(5) actions and a restriction class. Listener 0
    has the defaults (smtpd_delay_reject = yes); listener 1 has smtpd_delay_reject = no."""

    @classmethod
    def setUpClass(cls):
        cls.server = EstafetaServer(main={}, start=False, listeners=[
            {}, {'options': {'smtpd_delay_reject': 'no'}}])
        cls.server.__enter__()
        try:
            d = cls.server.dir
            clients = write(d, 'client_access',
                            '# the internal network relays, another one is refused\n'
                            '127.0.0.2/32 RELAY\n'
                            '127.0.0.3/32 REJECT\n'
                            '127.0.0.4/32 known_senders_only\n')
            senders = write(d, 'sender_access',
                            'spam.com REJECT\n'
                            'spammer@ REJECT No spammers here\n'
                            'friend@partner.example OK\n')
            recipients = write(d, 'recipient_access',
                               'hold@localhost HOLD held for review\n'
                               'discard@localhost DISCARD dropped quietly\n'
                               'prepend@localhost PREPEND X-Access-Tag: tagged\n'
                               'redirect@localhost REDIRECT target@localhost\n'
                               'warn@localhost WARN watch this one\n'
                               'dip@localhost DEFER_IF_PERMIT not yet\n'
                               'later@localhost 451 4.7.1 Come back later\n')
            cls.server.main.update({
                'mynetworks': '127.0.0.1/32',
                'smtpd_restriction_classes': 'known_senders_only',
                'known_senders_only': 'check_sender_access texthash:%s, reject' % senders,
                'smtpd_client_restrictions': 'check_client_access cidr:%s' % clients,
                # An inline table with spaces and commas inside its braces is one argument.
                'smtpd_sender_restrictions':
                    'check_sender_access inline:{ { inline@spam.example = 550 5.7.1 Inline }, '
                    'x@y.example=OK }, check_sender_access texthash:%s' % senders,
                'smtpd_relay_restrictions': '',
                'smtpd_recipient_restrictions':
                    'check_recipient_access texthash:%s, permit_mynetworks, '
                    'check_client_access cidr:%s, reject_unauth_destination'
                    % (recipients, clients),
            })
            cls.server.write_config()
            cls.server.start()
        except BaseException:
            cls.server.__exit__(None, None, None)
            raise
        cls.port = cls.server.ports[0]
        cls.no_delay_port = cls.server.ports[1]

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)

    def log_has(self, pattern):
        m = self.server.wait_for_log(pattern)
        self.assertIsNotNone(m, 'no log line %r in:\n%s' % (pattern, self.server.log()))
        return m

    # -- 1. client and sender access tables

    def test_internal_network_relays(self):
        rcpt = self.rcpt_reply(self.port, '127.0.0.2', 'someone@example.org',
                               'far@relay-target.example')
        self.assertEqual(rcpt.code, 250, rcpt)
        # The control: an outside client that the table does not list may not relay.
        rcpt = self.rcpt_reply(self.port, '127.0.0.5', 'someone@example.org',
                               'far@relay-target.example')
        self.assertEqual(rcpt.lines, ['554 5.7.1 <far@relay-target.example>: '
                                      'Relay access denied'])

    def test_refused_client(self):
        rcpt = self.rcpt_reply(self.port, '127.0.0.3', 'someone@example.org', 'user@localhost')
        expected = ('554 5.7.1 <unknown[127.0.0.3]>: Client host rejected: Access denied')
        self.assertEqual(rcpt.lines, [expected])
        self.log_has(r'NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.3\]: %s; '
                     r'from=<someone@example\.org> to=<user@localhost> proto=ESMTP '
                     r'helo=<client\.example>' % re.escape(expected))

    def test_sender_domain_and_subdomains_refused(self):
        for sender in ('bulk@spam.com', 'bulk@mail.spam.com'):
            rcpt = self.rcpt_reply(self.port, INSIDE, sender, 'user@localhost')
            expected = '554 5.7.1 <%s>: Sender address rejected: Access denied' % sender
            self.assertEqual(rcpt.lines, [expected])
            self.log_has(r'NOQUEUE: reject: RCPT from \S+\[127\.0\.0\.1\]: %s; from=<%s> '
                         r'to=<user@localhost> proto=ESMTP helo=<client\.example>'
                         % (re.escape(expected), re.escape(sender)))
        # Not a subdomain: the key is the domain and its parents only.
        rcpt = self.rcpt_reply(self.port, INSIDE, 'bulk@notspam.com', 'user@localhost')
        self.assertEqual(rcpt.code, 250, rcpt)

    def test_sender_local_part_key(self):
        rcpt = self.rcpt_reply(self.port, INSIDE, 'spammer@anywhere.example', 'user@localhost')
        self.assertEqual(rcpt.lines, ['554 5.7.1 <spammer@anywhere.example>: '
                                      'Sender address rejected: No spammers here'])

    def test_inline_table_with_spaces(self):
        rcpt = self.rcpt_reply(self.port, INSIDE, 'inline@spam.example', 'user@localhost')
        self.assertEqual(rcpt.lines, ['550 5.7.1 <inline@spam.example>: '
                                      'Sender address rejected: Inline'])

    # -- 6. a restriction class named by an access table value

    def test_restriction_class_from_access_table(self):
        rcpt = self.rcpt_reply(self.port, '127.0.0.4', 'friend@partner.example',
                               'user@localhost')
        self.assertEqual(rcpt.code, 250, rcpt)
        rcpt = self.rcpt_reply(self.port, '127.0.0.4', 'stranger@partner.example',
                               'user@localhost')
        self.assertEqual(rcpt.code, 554, rcpt)
        self.assertIn('Access denied', rcpt.text)
        self.log_has(r'NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.4\]: 554 5\.7\.1 .*; '
                     r'from=<stranger@partner\.example> to=<user@localhost>')

    # -- 3. smtpd_delay_reject

    def test_delay_reject_no_refuses_at_connect(self):
        with From('127.0.0.3', self.no_delay_port) as c:
            self.assertEqual(c.banner.lines, ['554 5.7.1 <unknown[127.0.0.3]>: '
                                              'Client host rejected: Access denied'])
            for command in ('EHLO client.example', 'MAIL FROM:<a@example.org>'):
                reply = c.cmd(command)
                self.assertEqual(reply.lines, ['503 5.7.0 Error: access denied for '
                                               'unknown[127.0.0.3]'])
            self.assertEqual(c.cmd('QUIT').code, 221)
        self.log_has(r'NOQUEUE: reject: CONNECT from unknown\[127\.0\.0\.3\]: 554 5\.7\.1 '
                     r'<unknown\[127\.0\.0\.3\]>: Client host rejected: Access denied; '
                     r'proto=SMTP')
        # The same client with the default (yes) gets its banner and is refused at RCPT.
        c, mail, rcpt = self.envelope(self.port, '127.0.0.3', 'a@example.org',
                                      'user@localhost')
        with c:
            self.assertEqual(c.banner.code, 220)
            self.assertEqual(mail.code, 250)
            self.assertEqual(rcpt.code, 554)
        # A client the table does not refuse is served on the no-delay listener.
        with From(INSIDE, self.no_delay_port) as c:
            self.assertEqual(c.banner.code, 220)

    # -- 2. access actions

    def test_hold(self):
        queue_id = self.send(self.port, INSIDE, 'a@example.org', 'hold@localhost')
        # Logged at RCPT, before the message has its queue ID (as in Postfix).
        self.log_has(r'NOQUEUE: hold: RCPT from \S+\[127\.0\.0\.1\]: <hold@localhost>: '
                     r'Recipient address held for review; from=<a@example\.org> '
                     r'to=<hold@localhost> proto=ESMTP helo=<client\.example>')
        held = harness.wait_until(
            lambda: files_under(os.path.join(self.server.spool, 'hold')))
        self.assertTrue(any(queue_id in name for name in held), held)
        self.assertEqual(self.server.messages('hold'), [])

    def test_discard(self):
        queue_id = self.send(self.port, INSIDE, 'a@example.org', 'discard@localhost')
        self.log_has(r'NOQUEUE: discard: RCPT from \S+\[127\.0\.0\.1\]: <discard@localhost>: '
                     r'Recipient address dropped quietly; from=<a@example\.org> '
                     r'to=<discard@localhost>')
        self.log_has(r'%s: discard: DATA from \S+\[127\.0\.0\.1\]' % queue_id)
        # A message after it is delivered; the discarded one never is.
        self.send(self.port, INSIDE, 'a@example.org', 'control-discard@localhost')
        self.assertEqual(len(self.server.wait_for_delivery('control-discard')), 1)
        self.log_has(r'to=<control-discard@localhost>.*status=sent')
        self.assertEqual(self.server.messages('discard'), [])
        self.assertNotRegex(self.server.log(), r'to=<discard@localhost>.*status=')

    def test_prepend(self):
        self.send(self.port, INSIDE, 'a@example.org', 'prepend@localhost')
        messages = self.server.wait_for_delivery('prepend')
        self.assertEqual(len(messages), 1, self.server.log())
        self.assertRegex(messages[0].decode(), r'(?m)^X-Access-Tag: tagged\r?$')

    def test_redirect(self):
        queue_id = self.send(self.port, INSIDE, 'a@example.org', 'redirect@localhost')
        self.log_has(r'NOQUEUE: redirect: RCPT from \S+\[127\.0\.0\.1\]: '
                     r'<redirect@localhost>: Recipient address triggers REDIRECT '
                     r'target@localhost; from=<a@example\.org> to=<redirect@localhost>')
        self.log_has(r'%s: redirect to=<target@localhost>, orig_to=<redirect@localhost>'
                     % queue_id)
        self.assertEqual(len(self.server.wait_for_delivery('target')), 1, self.server.log())
        self.assertEqual(self.server.messages('redirect'), [])

    def test_warn(self):
        queue_id = self.send(self.port, INSIDE, 'a@example.org', 'warn@localhost')
        # Postfix logs WARN's text alone, without the address and its class.
        self.log_has(r'NOQUEUE: warn: RCPT from \S+\[127\.0\.0\.1\]: watch this one; '
                     r'from=<a@example\.org> to=<warn@localhost>')
        self.log_has(r'%s: to=<warn@localhost>.*status=sent' % queue_id)
        self.assertEqual(len(self.server.wait_for_delivery('warn')), 1)

    def test_defer_if_permit(self):
        rcpt = self.rcpt_reply(self.port, INSIDE, 'a@example.org', 'dip@localhost')
        expected = '450 4.7.1 <dip@localhost>: Recipient address rejected: not yet'
        self.assertEqual(rcpt.lines, [expected])
        self.log_has(r'NOQUEUE: reject: RCPT from \S+\[127\.0\.0\.1\]: %s; '
                     r'from=<a@example\.org> to=<dip@localhost>' % re.escape(expected))

    def test_numeric_temporary_reply(self):
        rcpt = self.rcpt_reply(self.port, INSIDE, 'a@example.org', 'later@localhost')
        expected = '451 4.7.1 <later@localhost>: Recipient address rejected: Come back later'
        self.assertEqual(rcpt.lines, [expected])
        self.log_has(r'NOQUEUE: reject: RCPT from \S+\[127\.0\.0\.1\]: %s; '
                     r'from=<a@example\.org> to=<later@localhost>' % re.escape(expected))


class DnsRestrictionsTest(unittest.TestCase, Session):
    """DNS lists, sender domains and client names against a dnsmasq on loopback:
       127.0.0.2  listed in bl.test (127.0.0.2, with a TXT)     -> refused
       127.0.0.3  listed in bl.test as 127.0.0.10               -> refused; passes the
                                                                   =127.0.0.2 filter
       127.0.0.4  listed in bl.test and in wl.test               -> accepted
       127.0.0.5  PTR good.test, A 127.0.0.5                     -> a confirmed name
       127.0.0.6  no PTR                                         -> unknown
       127.0.0.7  PTR forged.test, A 192.0.2.7                   -> a PTR name only
    Listener 0: permit_dnswl_client wl.test, reject_rbl_client bl.test; listener 1:
    reject_rbl_client bl.test=127.0.0.2; listener 2: reject_unknown_client_hostname;
    listener 3: reject_unknown_reverse_client_hostname."""

    @classmethod
    def setUpClass(cls):
        cls.dns = DnsServer(
            hosts={'good.test': ['127.0.0.5'], 'forged.test': ['192.0.2.7'],
                   'known.test': ['192.0.2.1']},
            # The lists' A records as raw records: a host record would add PTRs for them.
            raw=[('2.0.0.127.bl.test', 1, [127, 0, 0, 2]),
                 ('3.0.0.127.bl.test', 1, [127, 0, 0, 10]),
                 ('4.0.0.127.bl.test', 1, [127, 0, 0, 2]),
                 ('4.0.0.127.wl.test', 1, [127, 0, 0, 2])],
            ptr={'127.0.0.7': ['forged.test']},
            txt={'2.0.0.127.bl.test': ['Listed for spamming']},
            local_zones=['127.in-addr.arpa'])
        cls.enterClassContext(cls.dns)
        listeners = [
            {'options': {'smtpd_client_restrictions':
                         'permit_dnswl_client,wl.test,reject_rbl_client,bl.test'}},
            {'options': {'smtpd_client_restrictions': 'reject_rbl_client,bl.test=127.0.0.2'}},
            {'options': {'smtpd_client_restrictions': 'reject_unknown_client_hostname'}},
            {'options': {'smtpd_client_restrictions':
                         'reject_unknown_reverse_client_hostname'}},
        ]
        cls.server = EstafetaServer(listeners=listeners, main={
            'mynetworks': '127.0.0.1/32',
            'smtpd_peername_lookup': 'yes',
            'resolver_nameservers': cls.dns.nameserver,
            'smtpd_sender_restrictions': 'reject_unknown_sender_domain',
        })
        cls.enterClassContext(cls.server)  # class cleanups stop both, in reverse order

    def rcpt(self, listener, source, sender='a@known.test', recipient='user@localhost'):
        return self.rcpt_reply(self.server.ports[listener], source, sender, recipient)

    def log_has(self, pattern):
        m = self.server.wait_for_log(pattern)
        self.assertIsNotNone(m, 'no log line %r in:\n%s' % (pattern, self.server.log()))

    def test_rbl_client(self):
        rcpt = self.rcpt(0, '127.0.0.2')
        expected = ('554 5.7.1 Service unavailable; Client host [127.0.0.2] blocked using '
                    'bl.test; Listed for spamming')
        self.assertEqual(rcpt.lines, [expected])
        self.log_has(r'NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.2\]: %s; '
                     r'from=<a@known\.test> to=<user@localhost> proto=ESMTP '
                     r'helo=<client\.example>' % re.escape(expected))
        rcpt = self.rcpt(0, '127.0.0.3')
        self.assertEqual(rcpt.code, 554, rcpt)
        self.assertIn('blocked using bl.test', rcpt.text)
        # Not listed: accepted.
        self.assertEqual(self.rcpt(0, '127.0.0.8').code, 250)
        self.assertIn('8.0.0.127.bl.test', self.dns.log())

    def test_rbl_client_with_reply_filter(self):
        rcpt = self.rcpt(1, '127.0.0.2')
        self.assertEqual(rcpt.code, 554, rcpt)
        self.assertIn('blocked using bl.test', rcpt.text)
        # Listed with 127.0.0.10, which the filter does not match.
        self.assertEqual(self.rcpt(1, '127.0.0.3').code, 250)

    def test_dnswl_client_passes_a_listed_client(self):
        self.assertEqual(self.rcpt(0, '127.0.0.4').code, 250)
        self.assertIn('4.0.0.127.wl.test', self.dns.log())

    def test_unknown_sender_domain(self):
        rcpt = self.rcpt(0, INSIDE, sender='a@nowhere.test')
        expected = '450 4.1.8 <a@nowhere.test>: Sender address rejected: Domain not found'
        self.assertEqual(rcpt.lines, [expected])
        self.log_has(r'NOQUEUE: reject: RCPT from \S+\[127\.0\.0\.1\]: %s; '
                     r'from=<a@nowhere\.test> to=<user@localhost>' % re.escape(expected))
        self.assertEqual(self.rcpt(0, INSIDE, sender='a@known.test').code, 250)

    def test_unknown_client_hostname(self):
        self.assertEqual(self.rcpt(2, '127.0.0.5').code, 250)
        for source in ('127.0.0.6', '127.0.0.7'):
            rcpt = self.rcpt(2, source)
            expected = ('450 4.7.25 Client host rejected: cannot find your hostname, [%s]'
                        % source)
            self.assertEqual(rcpt.lines, [expected])
            self.log_has(r'NOQUEUE: reject: RCPT from unknown\[%s\]: %s; '
                         r'from=<a@known\.test> to=<user@localhost>'
                         % (re.escape(source), re.escape(expected)))
        self.log_has(r'connect from good\.test\[127\.0\.0\.5\]')

    def test_unknown_reverse_client_hostname(self):
        self.assertEqual(self.rcpt(3, '127.0.0.5').code, 250)
        self.assertEqual(self.rcpt(3, '127.0.0.7').code, 250)  # has a PTR name
        rcpt = self.rcpt(3, '127.0.0.6')
        # Postfix keeps 4.7.1 here (4.7.25 is for the forward-confirmed name).
        expected = ('450 4.7.1 Client host rejected: cannot find your reverse hostname, '
                    '[127.0.0.6]')
        self.assertEqual(rcpt.lines, [expected])
        self.log_has(r'NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.6\]: %s; '
                     r'from=<a@known\.test> to=<user@localhost>' % re.escape(expected))


class GreylistingTest(unittest.TestCase, Session):
    """check_policy_service against Debian's postgrey: greylisted, then accepted."""

    DELAY = 2  # postgrey --delay, seconds

    def test_greylisting_through_smtpd(self):
        with Postgrey(delay=self.DELAY) as grey:
            main = {'smtpd_recipient_restrictions':
                    'reject_unauth_destination, check_policy_service ' + grey.service}
            with EstafetaServer(main=main) as server:
                rcpt = self.rcpt_reply(server.port, INSIDE, 'alice@example.org',
                                       'bob@localhost')
                self.assertEqual(rcpt.code, 450, rcpt)
                self.assertRegex(rcpt.last, r'^450 4\.2\.0 <bob@localhost>: Recipient address '
                                 r'rejected: Greylisted, see http://postgrey')
                self.assertIsNotNone(server.wait_for_log(
                    r'NOQUEUE: reject: RCPT from \S+\[127\.0\.0\.1\]: 450 4\.2\.0 '
                    r'<bob@localhost>: Recipient address rejected: Greylisted.*; '
                    r'from=<alice@example\.org> to=<bob@localhost>'), server.log())
                # Wait past the delay (a longer wait only makes the pass more certain).
                time.sleep(self.DELAY + 1)
                self.send(server.port, INSIDE, 'alice@example.org', 'bob@localhost')
                messages = server.wait_for_delivery('bob')
                self.assertEqual(len(messages), 1, server.log())
                self.assertRegex(messages[0].decode(), r'(?m)^X-Greylist: delayed \d+ seconds')
            log = grey.log()
            self.assertEqual(log.count('reason=new'), 1, log)
            self.assertEqual(log.count('reason=triplet found'), 1, log)


if __name__ == '__main__':
    unittest.main()
