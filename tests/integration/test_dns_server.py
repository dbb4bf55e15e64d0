# The dnsmasq fixture (dns_server.py) answers what a test gives it and nothing else: the
# records, NXDOMAIN, NODATA, REFUSED for `servfail` names and silence for `timeout` names.
import unittest

from dns_server import DnsServer, query

A, MX, TXT, AAAA, TLSA = 1, 15, 16, 28, 52
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
            process = dns.process
        self.assertIsNotNone(process.poll())  # stopped


if __name__ == '__main__':
    unittest.main()
