# The dnsmasq fixture (dns_server.py) answers what a test gives it and nothing else: the
# records, NXDOMAIN, NODATA, REFUSED for `servfail` names and silence for `timeout` names.
import unittest

from dns_server import DnsServer, query

A, PTR, MX, TXT, AAAA, TLSA = 1, 12, 15, 16, 28, 52
NOERROR, NXDOMAIN, REFUSED = 0, 3, 5


class DnsServerTest(unittest.TestCase):

    def test_records_and_failures(self):
        with DnsServer(mx={'example.test': [(10, 'mx1.example.test'), (20, 'mx2.example.test')],
                           'null.test': [(0, '.')]},
                       hosts={'mx1.example.test': ['127.0.0.1', '::1']},
                       txt={'example.test': ['v=spf1 -all']},
                       tlsa={'_25._tcp.mx1.example.test': [(3, 1, 1, b'\x01' * 32)]},
                       servfail=['broken.test'], timeout=['slow.test']) as dns:
            self.assertEqual(query(dns.port, 'example.test', MX), (NOERROR, 2))
            self.assertEqual(query(dns.port, 'null.test', MX), (NOERROR, 1))
            self.assertEqual(query(dns.port, 'mx1.example.test', A), (NOERROR, 1))
            self.assertEqual(query(dns.port, 'mx1.example.test', AAAA), (NOERROR, 1))
            self.assertEqual(query(dns.port, 'example.test', TXT), (NOERROR, 1))
            self.assertEqual(query(dns.port, '_25._tcp.mx1.example.test', TLSA), (NOERROR, 1))
            self.assertEqual(query(dns.port, 'mx1.example.test', MX), (NOERROR, 0))
            self.assertEqual(query(dns.port, 'nowhere.test', MX), (NXDOMAIN, 0))
            self.assertEqual(query(dns.port, 'x.broken.test', MX), (REFUSED, 0))
            self.assertIsNone(query(dns.port, 'x.slow.test', MX, timeout=0.5))
            self.assertEqual(dns.nameserver, '127.0.0.1:%d' % dns.port)
        # PTR records: those of host names, and others; unknown reverse names are NXDOMAIN
        # in a local zone.
        with DnsServer(hosts={'a.test': ['127.0.0.2', '::2']}, ptr={'127.0.0.3': ['b.test']},
                       local_zones=['127.in-addr.arpa', 'ip6.arpa']) as dns:
            self.assertEqual(query(dns.port, '2.0.0.127.in-addr.arpa', PTR), (NOERROR, 1))
            self.assertEqual(query(dns.port, '3.0.0.127.in-addr.arpa', PTR), (NOERROR, 1))
            self.assertEqual(query(dns.port, '4.0.0.127.in-addr.arpa', PTR), (NXDOMAIN, 0))
            self.assertEqual(query(dns.port, '2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.'
                                             '0.0.0.0.0.0.ip6.arpa', PTR), (NOERROR, 1))
            process = dns.process
        self.assertIsNotNone(process.poll())  # stopped


if __name__ == '__main__':
    unittest.main()
