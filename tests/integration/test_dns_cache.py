# smtpd's cache of the restrictions' DNS answers (docs/access-policy.md, "DNS answer cache"):
# a DNS list served by dnsmasq as its authoritative server (answers with a TTL of 300 s,
# NXDOMAIN with the zone's SOA), reject_rbl_client asking it; two sessions from the same
# client get the same verdict and dnsmasq's query log shows the list asked once, for a
# listed client (a positive answer) and for a client not listed (a negative one).
import re
import unittest

from dns_server import DnsServer
from harness import EstafetaServer, SocketConversation

LISTED = '127.0.0.2'
NOT_LISTED = '127.0.0.3'


class DnsCacheTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dns = DnsServer(raw=[('2.0.0.127.zone.test', 1, [127, 0, 0, 2])],
                            authoritative=['zone.test'], auth_ttl=300)
        cls.enterClassContext(cls.dns)
        cls.server = EstafetaServer(main={
            'mynetworks': '127.0.0.1/32',
            'smtpd_peername_lookup': 'no',
            'resolver_nameservers': cls.dns.nameserver,
            'smtpd_client_restrictions': 'reject_rbl_client zone.test',
        })
        cls.enterClassContext(cls.server)  # class cleanups stop both, in reverse order

    def rcpt(self, source):
        """One session from `source`: EHLO, MAIL, RCPT; the RCPT reply."""
        with SocketConversation('127.0.0.1', self.server.port, source=source) as c:
            self.assertEqual(c.banner.code, 220, c.banner)
            self.assertEqual(c.cmd('EHLO client.example').code, 250)
            self.assertEqual(c.cmd('MAIL FROM:<a@example.org>').code, 250)
            reply = c.cmd('RCPT TO:<user@localhost>')
            c.cmd('QUIT')
            return reply

    def queries(self, name):
        """How many A queries for `name` dnsmasq logged."""
        return len(re.findall(r'(?:query|auth)\[A\] %s ' % re.escape(name), self.dns.log()))

    def test_a_listed_client_is_looked_up_once(self):
        for _ in range(2):
            reply = self.rcpt(LISTED)
            self.assertEqual(reply.code, 554, reply)
            self.assertIn('blocked using zone.test', reply.text)
        self.assertEqual(self.queries('2.0.0.127.zone.test'), 1, self.dns.log())

    def test_a_negative_answer_with_an_soa_is_kept_too(self):
        for _ in range(2):
            self.assertEqual(self.rcpt(NOT_LISTED).code, 250)
        self.assertIn('3.0.0.127.zone.test is NXDOMAIN', self.dns.log())
        self.assertEqual(self.queries('3.0.0.127.zone.test'), 1, self.dns.log())


if __name__ == '__main__':
    unittest.main()
