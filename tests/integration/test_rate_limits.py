"""Connection rate limits (Postfix's anvil: smtpd_client_connection_rate_limit, with
smtpd_client_event_limit_exceptions), the same limit shared by two instances through a real
Redis that the test starts (anvil_redis_server; Redis killed mid-way: each instance counts
alone, with a warning), and the greet pause (smtpd_greet_pause: PREGREET as postscreen).

The harness's readiness probe is one session per listener, and it counts: the tests count
accepted sessions from the server's "connect from" log lines instead of assuming a number."""
import re
import tempfile
import unittest

import harness

import maps_support as ms
from harness import EstafetaServer, HOSTNAME

REFUSED = '421 4.7.0 %s Error: too many connections from 127.0.0.1' % HOSTNAME
NO_EXCEPTIONS = {
    # The test client (127.0.0.1) is in mynetworks, which Postfix exempts by default.
    'smtpd_client_event_limit_exceptions': '',
    # Long enough that no window ends during a test (windows are never timed here).
    'anvil_rate_time_unit': '1h',
}


def sessions(srv):
    return len(re.findall(r'connect from unknown\[127\.0\.0\.1\]$', srv.log(), re.M))


def connect_until_refused(servers, attempts=20):
    """Connects to each server in turn until one answers 421; returns (server, banner) of the
    refusal, or None. Accepted sessions are ended with QUIT."""
    for i in range(attempts):
        srv = servers[i % len(servers)]
        with srv.connect() as c:
            if c.banner.code != 220:
                assert c.at_eof(), 'still open after %r' % c.banner
                return srv, c.banner
            c.cmd('QUIT')
    return None


class ConnectionRateLimitTest(unittest.TestCase):

    def test_rate_limit_421_then_close(self):
        main = dict(NO_EXCEPTIONS, smtpd_client_connection_rate_limit=3)
        with EstafetaServer(main=main) as srv:
            refused = connect_until_refused([srv])
            self.assertIsNotNone(refused, srv.log())
            self.assertEqual(refused[1].lines, [REFUSED])
            # The 4th connection of the window was the first refused.
            self.assertEqual(sessions(srv), 3)
            self.assertTrue(srv.wait_for_log(
                r'warning: Connection rate limit exceeded: 4 from unknown\[127\.0\.0\.1\] '
                r'for service \S+$'), srv.log())
            # A refused connection counts too: the next one is the 5th.
            with srv.connect() as c:
                self.assertEqual(c.banner.lines, [REFUSED])
                self.assertTrue(c.at_eof())
            self.assertTrue(srv.wait_for_log(r'Connection rate limit exceeded: 5 from'))
            self.assertEqual(sessions(srv), 3)

    def test_exceptions_are_not_limited(self):
        # Default smtpd_client_event_limit_exceptions = $mynetworks holds 127.0.0.1.
        with EstafetaServer(main={'smtpd_client_connection_rate_limit': 1}) as srv:
            for _ in range(4):
                with srv.connect() as c:
                    self.assertEqual(c.banner.code, 220, c.banner)
                    c.cmd('QUIT')
            self.assertNotIn('rate limit exceeded', srv.log())

    def test_count_limit_logs_as_postfix(self):
        main = dict(NO_EXCEPTIONS, smtpd_client_connection_count_limit=1)
        with EstafetaServer(main=main) as srv, srv.connect() as a:
            self.assertEqual(a.banner.code, 220)
            with srv.connect() as c:
                self.assertEqual(c.banner.lines, [REFUSED])
                self.assertTrue(c.at_eof())
            self.assertTrue(srv.wait_for_log(
                r'warning: Connection concurrency limit exceeded: 2 from '
                r'unknown\[127\.0\.0\.1\] for service \S+$'), srv.log())


class MessageAndRecipientRateLimitTest(unittest.TestCase):
    """smtpd_client_message_rate_limit at MAIL, smtpd_client_recipient_rate_limit at RCPT
    (every RCPT counts, accepted or not), 450 as Postfix; new sessions do not reset them."""

    def test_message_rate(self):
        main = dict(NO_EXCEPTIONS, smtpd_client_message_rate_limit=2)
        with EstafetaServer(main=main) as srv:
            codes = []
            for _ in range(2):
                with srv.connect() as c:
                    c.cmd('EHLO client.example')
                    for _ in range(2):
                        codes.append(c.cmd('MAIL FROM:<a@example.org>').code)
                        c.cmd('RSET')
                    last = c.cmd('MAIL FROM:<a@example.org>')
                    c.cmd('QUIT')
            self.assertEqual(codes, [250, 250, 450, 450], srv.log())
            self.assertEqual(last.lines, ['450 4.7.1 Error: too much mail from 127.0.0.1'])
            self.assertTrue(srv.wait_for_log(r'warning: Message delivery request rate limit '
                                             r'exceeded'), srv.log())

    def test_recipient_rate(self):
        main = dict(NO_EXCEPTIONS, smtpd_client_recipient_rate_limit=3)
        with EstafetaServer(main=main) as srv, srv.connect() as c:
            c.cmd('EHLO client.example')
            self.assertEqual(c.cmd('MAIL FROM:<a@example.org>').code, 250)
            codes = [c.cmd('RCPT TO:<%s@localhost>' % who).code
                     for who in ('a', 'b', 'c', 'd')]
            self.assertEqual(codes, [250, 250, 250, 450], srv.log())
            self.assertEqual(c.cmd('RCPT TO:<e@localhost>').lines,
                             ['450 4.7.1 Error: too many recipients from 127.0.0.1'])
            c.cmd('QUIT')

    def test_new_tls_session_rate(self):
        """smtpd_client_new_tls_session_rate_limit: the handshake past the limit is
        answered with 421 over TLS, then the session ends."""
        with tempfile.TemporaryDirectory() as certs:
            cert, key = harness.make_certificate(certs)
            main = dict(NO_EXCEPTIONS, smtpd_client_new_tls_session_rate_limit=1,
                        smtpd_tls_cert_file=cert, smtpd_tls_key_file=key,
                        smtpd_tls_security_level='may')
            with EstafetaServer(main=main) as srv:
                replies = []
                for _ in range(2):
                    with srv.connect() as c:
                        c.cmd('EHLO client.example')
                        self.assertEqual(c.cmd('STARTTLS').code, 220)
                        c.starttls(harness.client_tls_context())
                        try:
                            replies.append(c.cmd('EHLO client.example').lines[-1])
                        except EOFError:
                            replies.append('EOF')
                        if replies[-1].startswith('421'):
                            self.assertTrue(c.at_eof())
                self.assertEqual(replies[0][:4], '250 ', srv.log())
                self.assertEqual(replies[1], '421 4.7.0 %s Error: too many new TLS sessions '
                                 'from unknown[127.0.0.1]' % HOSTNAME, srv.log())


class SharedRateLimitTest(unittest.TestCase):
    """Two instances behind one MX share the connection rate in Redis."""

    def setUp(self):
        self.tmp = ms.TempDir()
        self.redis = ms.RedisServer(self.tmp)

    def tearDown(self):
        self.redis.stop()
        self.tmp.cleanup()

    def test_shared_then_alone_when_redis_dies(self):
        main = dict(NO_EXCEPTIONS, smtpd_client_connection_rate_limit=4,
                    anvil_redis_server='127.0.0.1:%d' % self.redis.port,
                    anvil_redis_key_prefix='itest:')
        with EstafetaServer(main=main) as one, EstafetaServer(main=main) as two:
            refused = connect_until_refused([one, two])
            self.assertIsNotNone(refused, one.log() + two.log())
            self.assertEqual(refused[1].lines, [REFUSED])
            # Four sessions in all, over both instances: the limit was shared.
            self.assertEqual(sessions(one) + sessions(two), 4)
            self.assertIn(b'\r\n5\r\n', self.redis.command('GET', 'itest:conn:127.0.0.1'))

            self.redis.stop()
            # Each instance now counts its own connections only: the next one is accepted
            # (its own count is below 4), with one warning; its own limit still holds.
            other = two if refused[0] is one else one
            before = sessions(other)
            self.assertLess(before, 4)
            again = connect_until_refused([other])
            self.assertIsNotNone(again, other.log())
            self.assertEqual(again[1].lines, [REFUSED])
            self.assertGreater(sessions(other), before)
            self.assertEqual(sessions(other), 4)
            warnings = re.findall(
                r'warning: anvil: shared counters at redis:127\.0\.0\.1:%d unavailable'
                % self.redis.port, other.log())
            self.assertEqual(len(warnings), 1, other.log())


class GreetPauseTest(unittest.TestCase):
    # 127.0.0.1 outside mynetworks, so the pause applies to the test client.
    MAIN = {'smtpd_greet_pause': '2s', 'mynetworks': '192.0.2.0/24'}

    def test_early_talker_is_dropped(self):
        with EstafetaServer(main=self.MAIN) as srv:
            with srv.connect(read_banner=False) as c:
                c.send(b'EHLO early\r\n')
                r = c.read_reply()
                self.assertEqual(r.lines, ['521 5.5.1 Protocol error'])
                self.assertTrue(c.at_eof())
            m = srv.wait_for_log(r'PREGREET 12 after \d+\.\d\d from \[127\.0\.0\.1\]:\d+: '
                                 r'EHLO early\\r\\n$')
            self.assertTrue(m, srv.log())

    def test_patient_client_gets_the_banner(self):
        with EstafetaServer(main=self.MAIN) as srv, srv.connect() as c:
            self.assertEqual(c.banner.code, 220)
            self.assertEqual(c.cmd('EHLO patient.example').code, 250)
            self.assertEqual(c.cmd('MAIL FROM:<a@example.org>').code, 250)
            self.assertEqual(c.cmd('RCPT TO:<user@localhost>').code, 250)
            self.assertEqual(c.cmd('DATA').code, 354)
            self.assertEqual(c.cmd('Subject: waited\r\n\r\nbody\r\n.').code, 250)
            c.cmd('QUIT')
            self.assertEqual(len(srv.wait_for_delivery('user')), 1)
            self.assertNotIn('PREGREET', srv.log())

    def test_hangup_is_logged(self):
        with EstafetaServer(main=self.MAIN) as srv:
            c = srv.connect(read_banner=False)
            c.close()
            self.assertTrue(srv.wait_for_log(
                r'HANGUP after \d+\.\d\d from \[127\.0\.0\.1\]:\d+ in smtpd_greet_pause$'),
                srv.log())

    def test_mynetworks_is_not_paused(self):
        with EstafetaServer(main={'smtpd_greet_pause': '2s'}) as srv:
            with srv.connect(read_banner=False) as c:
                c.send(b'EHLO early\r\n')  # pipelined before the banner: allowed here
                self.assertEqual(c.read_reply().code, 220)
                self.assertEqual(c.read_reply().code, 250)
                c.cmd('QUIT')
            self.assertNotIn('PREGREET', srv.log())


if __name__ == '__main__':
    unittest.main()
