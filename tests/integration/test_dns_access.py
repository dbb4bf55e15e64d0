# The DNS-based access checks through the real smtpd (issue 19, docs/access-policy.md):
# check_sender_mx_access, check_helo_a_access, check_recipient_ns_access, permit_mx_backup
# (with proxy_interfaces and permit_mx_backup_networks) and check_client_hostname_access,
# against a dnsmasq on loopback serving the MX, NS, A and PTR records. Clients connect from
# chosen loopback addresses with mynetworks = 127.0.0.1/32; each case checks the reply, and
# the refusals Postfix's log line.
import os
import re
import unittest

import harness
from dns_server import DnsServer
from harness import EstafetaServer

INSIDE = '127.0.0.1'
OUTSIDE = '127.0.0.2'
OUR_PROXY_ADDRESS = '192.0.2.200'  # proxy_interfaces: "this machine" for permit_mx_backup


def wire_name(name):
    """A domain name in DNS wire format (for NS rdata)."""
    return b''.join(bytes([len(label)]) + label.encode() for label in name.split('.')) + b'\0'


def write(directory, name, text):
    path = os.path.join(directory, name)
    with open(path, 'w') as f:
        f.write(text)
    return path


class DnsAccessTest(unittest.TestCase):
    """Listeners:
       0  smtpd_sender_restrictions = check_sender_mx_access cidr (127/8, 10/8 refused)
       1  smtpd_helo_restrictions = check_helo_a_access cidr (10/8 refused)
       2  smtpd_recipient_restrictions = check_recipient_ns_access texthash, permit_mynetworks,
          reject_unauth_destination (name servers at badhoster.test refused)
       3  smtpd_relay_restrictions = permit_mynetworks, permit_mx_backup,
          reject_unauth_destination
       4  as 3, with permit_mx_backup_networks = 203.0.113.0/24
       5  smtpd_client_restrictions = check_client_hostname_access texthash"""

    @classmethod
    def setUpClass(cls):
        cls.dns = DnsServer(
            mx={'loopmx.test': [(10, 'mx.loopmx.test')],
                'goodmx.test': [(10, 'mx.goodmx.test')],
                'privatemx.test': [(10, 'mx1.privatemx.test'), (20, 'mx2.privatemx.test')],
                'backup.test': [(10, 'primary.backup.test'), (20, 'secondary.backup.test')],
                'elsewhere.test': [(10, 'primary.elsewhere.test'),
                                   (20, 'other.elsewhere.test')],
                'weareprimary.test': [(10, 'secondary.backup.test'),
                                      (20, 'other.elsewhere.test')]},
            hosts={'mx.loopmx.test': ['127.0.0.99'],
                   'mx.goodmx.test': ['192.0.2.25'],
                   'mx1.privatemx.test': ['192.0.2.26'],
                   'mx2.privatemx.test': ['10.20.30.40'],
                   'private.test': ['10.1.2.3'],
                   'public.test': ['192.0.2.30', '2001:db8::30'],
                   'primary.backup.test': ['198.51.100.1'],
                   'secondary.backup.test': [OUR_PROXY_ADDRESS],
                   'primary.elsewhere.test': ['198.51.100.2'],
                   'other.elsewhere.test': ['198.51.100.3'],
                   'blocked.clients.test': ['127.0.0.5'],
                   'fine.clients.test': ['127.0.0.6']},
            raw=[('nsbad.test', 2, wire_name('ns1.badhoster.test')),
                 ('nsgood.test', 2, wire_name('ns.goodhoster.test'))],
            servfail=['fail.test'],
            local_zones=['127.in-addr.arpa'])
        cls.enterClassContext(cls.dns)
        rest = 'permit_mynetworks,permit_mx_backup,reject_unauth_destination'
        cls.server = EstafetaServer(start=False, listeners=[
            {'options': {'smtpd_sender_restrictions': 'check_sender_mx_access,cidr:mx_access'}},
            {'options': {'smtpd_helo_restrictions': 'check_helo_a_access,cidr:helo_access'}},
            {'options': {'smtpd_recipient_restrictions':
                         'check_recipient_ns_access,texthash:ns_access,permit_mynetworks,'
                         'reject_unauth_destination'}},
            {'options': {'smtpd_relay_restrictions': rest}},
            {'options': {'smtpd_relay_restrictions': rest,
                         'permit_mx_backup_networks': '203.0.113.0/24'}},
            {'options': {'smtpd_client_restrictions':
                         'check_client_hostname_access,texthash:client_access'}},
        ], main={
            'mynetworks': '127.0.0.1/32',
            'smtpd_peername_lookup': 'yes',
            'resolver_nameservers': cls.dns.nameserver,
            'proxy_interfaces': OUR_PROXY_ADDRESS,
        })
        cls.enterClassContext(cls.server)  # class cleanups stop both, in reverse order
        d = cls.server.dir
        tables = {
            'mx_access': '127.0.0.0/8 REJECT Your MX is in a loopback network\n'
                         '10.0.0.0/8 REJECT Your MX is in a private network\n',
            'helo_access': '10.0.0.0/8 550 5.7.1 HELO name resolves to a private network\n',
            'ns_access': 'badhoster.test REJECT Domain hosted at a bad hoster\n',
            'client_access': 'blocked.clients.test REJECT Not you\n'
                             '127.0.0.6 REJECT never used: the address is not searched\n',
        }
        for name, text in tables.items():
            path = write(d, name, text)
            for options in (listener.get('options', {}) for listener in cls.server.listeners):
                for key, value in options.items():
                    options[key] = value.replace(':' + name, ':' + path)
        cls.server.write_config()
        cls.server.start()

    def envelope(self, listener, source, sender, recipient, helo='client.example'):
        """EHLO, MAIL, RCPT from `source`; returns (MAIL reply, RCPT reply or None)."""
        with harness.SocketConversation('127.0.0.1', self.server.ports[listener],
                                        source=source) as c:
            self.assertEqual(c.banner.code, 220, c.banner)
            self.assertEqual(c.cmd('EHLO ' + helo).code, 250)
            mail = c.cmd('MAIL FROM:<%s>' % sender)
            rcpt = c.cmd('RCPT TO:<%s>' % recipient) if mail.code == 250 else None
            c.cmd('QUIT')
        return mail, rcpt

    def rcpt(self, listener, source=INSIDE, sender='a@goodmx.test', recipient='user@localhost',
             helo='client.example'):
        mail, rcpt = self.envelope(listener, source, sender, recipient, helo)
        self.assertEqual(mail.code, 250, mail)
        return rcpt

    def log_has(self, pattern):
        m = self.server.wait_for_log(pattern)
        self.assertIsNotNone(m, 'no log line %r in:\n%s' % (pattern, self.server.log()))

    def test_sender_mx_in_a_blocked_network(self):
        rcpt = self.rcpt(0, sender='a@loopmx.test')
        expected = '554 5.7.1 <a@loopmx.test>: Sender address rejected: Your MX is in a loopback network'
        self.assertEqual(rcpt.lines, [expected])
        self.log_has(r'NOQUEUE: reject: RCPT from \S+\[127\.0\.0\.1\]: %s; from=<a@loopmx\.test> '
                     r'to=<user@localhost> proto=ESMTP helo=<client\.example>'
                     % re.escape(expected))
        # The backup MX host (preference 20) is in 10/8: also refused.
        rcpt = self.rcpt(0, sender='b@privatemx.test')
        self.assertEqual(rcpt.lines, ['554 5.7.1 <b@privatemx.test>: Sender address rejected: '
                                      'Your MX is in a private network'])
        self.assertEqual(self.rcpt(0, sender='a@goodmx.test').code, 250)
        # No MX: the domain is its own mail exchanger (public.test's A records).
        self.assertEqual(self.rcpt(0, sender='a@public.test').code, 250)
        self.assertIn('mx.loopmx.test', self.dns.log())

    def test_sender_mx_lookup_failure_skips_the_check(self):
        self.assertEqual(self.rcpt(0, sender='a@x.fail.test').code, 250)
        self.log_has(r'warning: Unable to look up MX host for x\.fail\.test')

    def test_helo_a_access(self):
        rcpt = self.rcpt(1, helo='private.test')
        expected = ('550 5.7.1 <private.test>: Helo command rejected: HELO name resolves to a '
                    'private network')
        self.assertEqual(rcpt.lines, [expected])
        self.log_has(r'NOQUEUE: reject: RCPT from \S+\[127\.0\.0\.1\]: %s; '
                     r'from=<a@goodmx\.test> to=<user@localhost> proto=ESMTP helo=<private\.test>'
                     % re.escape(expected))
        self.assertEqual(self.rcpt(1, helo='public.test').code, 250)

    def test_recipient_ns_access(self):
        # mail.nsbad.test has no NS records: those of its parent nsbad.test count.
        for recipient in ('user@nsbad.test', 'user@mail.nsbad.test'):
            rcpt = self.rcpt(2, recipient=recipient)
            expected = ('554 5.7.1 <%s>: Recipient address rejected: Domain hosted at a bad '
                        'hoster' % recipient)
            self.assertEqual(rcpt.lines, [expected])
        self.log_has(r'NOQUEUE: reject: RCPT from \S+\[127\.0\.0\.1\]: 554 5\.7\.1 '
                     r'<user@nsbad\.test>: Recipient address rejected: Domain hosted at a bad '
                     r'hoster; from=<a@goodmx\.test> to=<user@nsbad\.test>')
        self.assertEqual(self.rcpt(2, recipient='user@nsgood.test').code, 250)

    def test_permit_mx_backup(self):
        # backup.test lists this machine (a proxy_interfaces address) as its secondary MX.
        self.assertEqual(self.rcpt(3, source=OUTSIDE, recipient='user@backup.test').code, 250)
        for domain in ('elsewhere.test', 'weareprimary.test', 'nowhere.test'):
            rcpt = self.rcpt(3, source=OUTSIDE, recipient='user@' + domain)
            self.assertEqual(rcpt.lines, ['554 5.7.1 <user@%s>: Relay access denied' % domain])
        self.log_has(r'NOQUEUE: reject: RCPT from \S+\[127\.0\.0\.2\]: 554 5\.7\.1 '
                     r'<user@elsewhere\.test>: Relay access denied; from=<a@goodmx\.test> '
                     r'to=<user@elsewhere\.test>')
        # Source routing through the backup domain is never relayed.
        rcpt = self.rcpt(3, source=OUTSIDE, recipient='user%other.test@backup.test')
        self.assertEqual(rcpt.code, 554, rcpt)
        # A DNS failure defers instead of refusing.
        rcpt = self.rcpt(3, source=OUTSIDE, recipient='user@x.fail.test')
        self.assertEqual(rcpt.code, 450, rcpt)
        self.assertIn('Unable to look up mail exchanger information', rcpt.text)

    def test_permit_mx_backup_networks(self):
        # backup.test's primary MX host (198.51.100.1) is outside 203.0.113.0/24.
        rcpt = self.rcpt(4, source=OUTSIDE, recipient='user@backup.test')
        self.assertEqual(rcpt.lines, ['554 5.7.1 <user@backup.test>: Relay access denied'])

    def test_client_hostname_access(self):
        rcpt = self.rcpt(5, source='127.0.0.5')
        expected = '554 5.7.1 <blocked.clients.test[127.0.0.5]>: Client host rejected: Not you'
        self.assertEqual(rcpt.lines, [expected])
        self.log_has(r'NOQUEUE: reject: RCPT from blocked\.clients\.test\[127\.0\.0\.5\]: %s; '
                     r'from=<a@goodmx\.test> to=<user@localhost>' % re.escape(expected))
        # Only the name is searched: the entry for the address 127.0.0.6 does not apply.
        self.assertEqual(self.rcpt(5, source='127.0.0.6').code, 250)


if __name__ == '__main__':
    unittest.main()
