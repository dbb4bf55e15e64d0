# Client host names from reverse DNS (smtpd_peername_lookup) with the real daemon and a
# dnsmasq on loopback (resolver_nameservers). Clients connect from several loopback addresses
# (127.0.0.2, ...: Linux routes all of 127/8 to lo), each with its own PTR records:
#   127.0.0.2  PTR good.test, A 127.0.0.2        -> good.test[127.0.0.2]
#   127.0.0.3  PTR forged.test, A 192.0.2.3      -> unknown[127.0.0.3] and Postfix's warning
#   127.0.0.4  no PTR (NXDOMAIN)                 -> unknown[127.0.0.4]
#   127.0.0.5  its PTR query is never answered   -> unknown[127.0.0.5] once the resolver gives up
#   ::1        PTR six.test, AAAA ::1            -> six.test[::1] (when the machine has ::1)
# and a second listener with -o smtpd_peername_lookup=no, where every client is unknown.
# The names appear in the connect line, the client= line and the Received header.
import re
import unittest

import harness
from dns_server import DnsServer
from harness import EstafetaServer, HOSTNAME

# The resolver's budget for one query: 5 s for the one nameserver, then 10 s in the second
# round (ResolverOptions: timeout 5 s, 2 tries; c-ares doubles the wait). Generous bound for
# the banner of a client whose PTR query is never answered; never asserted as a duration.
SLOW_BANNER_TIMEOUT = 15 + harness.TIMEOUT


def FromAddress(source, host, port, timeout=harness.TIMEOUT):
    """An SMTP conversation from a chosen local address."""
    return harness.SocketConversation(host, port, timeout=timeout, source=source)


class ClientNamesTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.ipv6 = harness.have_ipv6_loopback()
        cls.dns = DnsServer(hosts={'good.test': ['127.0.0.2'], 'forged.test': ['192.0.2.3'],
                                   'six.test': ['::1']},
                            ptr={'127.0.0.3': ['forged.test']},
                            local_zones=['127.in-addr.arpa', 'ip6.arpa'],
                            timeout=['5.0.0.127.in-addr.arpa'])
        cls.enterClassContext(cls.dns)
        listeners = [{}, {'options': {'smtpd_peername_lookup': 'no'}}]
        if cls.ipv6:
            listeners.append({'family': 'inet6'})
        main = {'smtpd_peername_lookup': 'yes', 'resolver_nameservers': cls.dns.nameserver}
        if cls.ipv6:
            main['inet_protocols'] = 'all'
        cls.server = EstafetaServer(main=main, listeners=listeners)
        cls.enterClassContext(cls.server)  # class cleanups stop both, in reverse order

    def send_from(self, source, rcpt, listener=0, timeout=harness.TIMEOUT):
        """Sends one message from `source` to rcpt@localhost; returns the delivered copy."""
        l = self.server.listeners[listener]
        with FromAddress(source, l['host'], l['port'], timeout=timeout) as c:
            self.assertEqual(c.banner.code, 220, c.banner)
            self.assertEqual(c.cmd('EHLO helo.client.test').code, 250)
            self.assertEqual(c.cmd('MAIL FROM:<alice@example.org>').code, 250)
            self.assertEqual(c.cmd('RCPT TO:<%s@localhost>' % rcpt).code, 250)
            self.assertEqual(c.cmd('DATA').code, 354)
            c.send(b'Subject: names\r\n\r\nbody\r\n.\r\n')
            self.assertEqual(c.read_reply().code, 250)
            self.assertEqual(c.cmd('QUIT').code, 221)
        messages = self.server.wait_for_delivery(rcpt, 1)
        self.assertEqual(len(messages), 1, self.server.log())
        return messages[0].decode('utf-8', 'replace')

    def assert_names(self, message, peer, received_host, received_address):
        log = self.server.log()
        self.assertRegex(log, r'\]: connect from %s' % re.escape(peer))
        self.assertRegex(log, r': [0-9A-F]+: client=%s' % re.escape(peer))
        received = re.search(r'^Received: from ([^\r\n]*)', message, re.M)
        self.assertIsNotNone(received, message)
        self.assertEqual(received.group(1), 'helo.client.test (%s [%s])'
                         % (received_host, received_address))
        self.assertIn('by %s (Estafeta)' % HOSTNAME, message)

    def test_forward_confirmed_name(self):
        message = self.send_from('127.0.0.2', 'confirmed')
        self.assert_names(message, 'good.test[127.0.0.2]', 'good.test', '127.0.0.2')

    def test_ptr_name_whose_address_does_not_match(self):
        message = self.send_from('127.0.0.3', 'forged')
        self.assert_names(message, 'unknown[127.0.0.3]', 'unknown', '127.0.0.3')
        self.assertIn('warning: hostname forged.test does not resolve to address 127.0.0.3',
                      self.server.log())
        self.assertNotIn('forged.test[', self.server.log())

    def test_no_ptr_record(self):
        message = self.send_from('127.0.0.4', 'noptr')
        self.assert_names(message, 'unknown[127.0.0.4]', 'unknown', '127.0.0.4')
        self.assertIn('4.0.0.127.in-addr.arpa', self.dns.log())  # it was asked

    def test_lookup_switched_off(self):
        asked = self.dns.log().count('2.0.0.127.in-addr.arpa')
        message = self.send_from('127.0.0.2', 'nolookup', listener=1)
        self.assert_names(message, 'unknown[127.0.0.2]', 'unknown', '127.0.0.2')
        self.assertEqual(self.dns.log().count('2.0.0.127.in-addr.arpa'), asked)

    def test_nameserver_that_never_answers(self):
        # The session waits for the resolver's timeout, then goes on with unknown names.
        message = self.send_from('127.0.0.5', 'slowdns', timeout=SLOW_BANNER_TIMEOUT)
        self.assert_names(message, 'unknown[127.0.0.5]', 'unknown', '127.0.0.5')
        self.assertIn('5.0.0.127.in-addr.arpa', self.dns.log())

    def test_ipv6_client(self):
        if not self.ipv6:
            self.skipTest('this machine has no IPv6 loopback address ::1')
        message = self.send_from('::1', 'sixname', listener=2)
        self.assert_names(message, 'six.test[::1]', 'six.test', 'IPv6:::1')


if __name__ == '__main__':
    unittest.main()
