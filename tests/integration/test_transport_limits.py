# Postfix's per-transport scheduler parameters for a transport of master.cf's own (issue 16's
# queue manager; config/transport_parameters.h): a "slow" smtp transport with
# slow_destination_concurrency_limit = 1 delivers one message at a time to its destination,
# while a "fast" one beside it, on the default limits, delivers several at once, both to a
# scripted SMTP server on loopback that holds each transaction for a second and counts the
# transactions in progress. main.cf takes the parameter without an "unknown parameter"
# warning, and the queue manager warns about one that names no master.cf transport.
import re
import smtplib
import threading
import time
import unittest

import harness
import test_smtp_client  # its server set-up (a module import: its tests do not run here)


class Concurrency:
    """An end_of_data reply that holds each transaction for a second, counting how many
    are in progress at once."""

    def __init__(self):
        self._lock = threading.Lock()
        self.active = 0
        self.most = 0

    def end_of_data(self, n):
        with self._lock:
            self.active += 1
            self.most = max(self.most, self.active)
        time.sleep(1)
        with self._lock:
            self.active -= 1
        return '250 2.0.0 Ok: queued'


class TransportLimitsTest(unittest.TestCase):
    scripted = test_smtp_client.SmtpClientTest.scripted

    def test_a_master_cf_transport_has_its_own_concurrency_limit(self):
        slow, fast = Concurrency(), Concurrency()
        slow_peer = self.scripted(end_of_data=slow.end_of_data)
        fast_peer = self.scripted(end_of_data=fast.end_of_data)
        srv = harness.EstafetaServer(main={
            'mynetworks': '127.0.0.0/8',
            'resolver_nameservers': '127.0.0.1:9',
            'transport_maps': 'inline:{ slow.test=slow:[127.0.0.1]:%d, '
                              'fast.test=fast:[127.0.0.1]:%d }' % (slow_peer.port,
                                                                   fast_peer.port),
            'slow_destination_concurrency_limit': '1',
            'slwo_destination_rate_delay': '1s',  # a typo: no such transport
        }, start=False)
        srv.master_extra = list(test_smtp_client.SMTP_ROWS) + [
            'slow unix - - n - - smtp', 'fast unix - - n - - smtp']
        with srv:
            srv.start()
            with smtplib.SMTP(srv.host, srv.port, timeout=harness.TIMEOUT) as s:
                for i in range(4):
                    for domain in ('slow.test', 'fast.test'):
                        text, _ = harness.simple_message(subject='%s %d' % (domain, i))
                        s.sendmail('alice@localhost', ['bob%d@%s' % (i, domain)], text)
            for i in range(4):
                for domain in ('slow.test', 'fast.test'):
                    self.assertIsNotNone(srv.wait_for_log(
                        r'to=<bob%d@%s>, relay=.*status=sent' % (i, re.escape(domain))),
                        srv.log())
            log = srv.log()
        self.assertEqual((len(slow_peer.accepted), len(fast_peer.accepted)), (4, 4))
        self.assertEqual(slow.most, 1)
        self.assertGreater(fast.most, 1)  # the same load without the limit: in parallel
        self.assertNotIn('unknown parameter: slow_destination_concurrency_limit', log)
        self.assertRegex(log, r'warning: slwo_destination_rate_delay: no delivery service of '
                              r'that name runs \(master\.cf\)')


if __name__ == '__main__':
    unittest.main()
