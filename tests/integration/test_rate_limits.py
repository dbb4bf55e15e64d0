"""Connection rate limits (Postfix's anvil: smtpd_client_connection_rate_limit, with
smtpd_client_event_limit_exceptions), the same limit shared by two instances through a real
Redis that the test starts (anvil_redis_server; Redis killed mid-way: each instance counts
alone, with a warning), the new-TLS-session rate (421 after a handshake past it, then 454 to
STARTTLS itself, the session going on in clear, and a refused STARTTLS not counted), and the
greet pause (smtpd_greet_pause: PREGREET as postscreen).

The harness's readiness probe is one session per listener, and it counts: the tests count
accepted sessions from the server's "connect from" log lines instead of assuming a number."""
import re
import smtplib
import ssl
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


def tls_main(certs, **extra):
    cert, key = harness.make_certificate(certs)
    main = dict(NO_EXCEPTIONS, smtpd_tls_cert_file=cert, smtpd_tls_key_file=key,
                smtpd_tls_security_level='may')
    main.update(extra)
    return main


def starttls_then_ehlo(srv):
    """One session: EHLO, STARTTLS (which must get 220), the handshake, EHLO again; returns
    the last line of the reply to that EHLO ('EOF' when the server closed instead). A 421
    must be followed by the end of the session."""
    with srv.connect() as c:
        c.cmd('EHLO client.example')
        r = c.cmd('STARTTLS')
        assert r.code == 220, r
        c.starttls(harness.client_tls_context())
        try:
            last = c.cmd('EHLO client.example').lines[-1]
        except EOFError:
            return 'EOF'
        if last.startswith('421'):
            assert c.at_eof(), 'still open after %r' % last
        return last


def starttls_reply(srv):
    """One session: EHLO, STARTTLS; returns the code of the reply to STARTTLS (no handshake
    is made after a 220: the server's handshake fails and it closes)."""
    with srv.connect() as c:
        c.cmd('EHLO client.example')
        return c.cmd('STARTTLS').code


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
        """smtpd_client_new_tls_session_rate_limit: STARTTLS is allowed while the client's
        count of new TLS sessions is within the limit, and the handshake that goes past it is
        answered with 421 over TLS, then the session ends (as Postfix); once the count is
        over the limit, STARTTLS itself gets 454 and the session goes on in clear."""
        with tempfile.TemporaryDirectory() as certs:
            main = tls_main(certs, smtpd_client_new_tls_session_rate_limit=1)
            with EstafetaServer(main=main) as srv:
                replies = [starttls_then_ehlo(srv) for _ in range(2)]
                self.assertEqual(replies[0][:4], '250 ', srv.log())
                self.assertEqual(replies[1], '421 4.7.0 %s Error: too many new TLS sessions '
                                 'from unknown[127.0.0.1]' % HOSTNAME, srv.log())
                self.assertTrue(srv.wait_for_log(
                    r'warning: New TLS session rate limit exceeded: 2 from '
                    r'unknown\[127\.0\.0\.1\] for service \S+$'), srv.log())

                # A real client: starttls() sees the 454, and the session goes on in clear.
                with smtplib.SMTP(srv.host, srv.port, timeout=harness.TIMEOUT) as c:
                    c.ehlo('client.example')
                    self.assertTrue(c.has_extn('starttls'))
                    with self.assertRaises(smtplib.SMTPResponseException) as refused:
                        c.starttls(context=harness.client_tls_context())
                    self.assertEqual(
                        (refused.exception.smtp_code, refused.exception.smtp_error),
                        (454, b'4.7.0 Error: too many new TLS sessions from '
                              b'unknown[127.0.0.1]'))
                    self.assertNotIsInstance(c.sock, ssl.SSLSocket)
                    c.ehlo('client.example')
                    self.assertEqual(c.sendmail('a@example.org', ['user@localhost'],
                                                'Subject: in clear\r\n\r\nafter 454\r\n'), {})
                self.assertEqual(len(srv.wait_for_delivery('user')), 1)
                self.assertTrue(srv.wait_for_log(
                    r'warning: Refusing STARTTLS request from unknown\[127\.0\.0\.1\] '
                    r'for service \S+$'), srv.log())
                # Pipelined after the refused STARTTLS: read in clear, not dropped.
                with srv.connect() as c:
                    c.cmd('EHLO client.example')
                    c.send('STARTTLS\r\nNOOP\r\n')
                    self.assertEqual([r.code for r in c.read_replies(2)], [454, 250])
                    c.cmd('QUIT')
                self.assertNotIn('improper command pipelining after STARTTLS', srv.log())

    def test_within_the_tls_limit_starttls_is_not_refused(self):
        """The control: a client that stays within the limit is never refused."""
        with tempfile.TemporaryDirectory() as certs:
            main = tls_main(certs, smtpd_client_new_tls_session_rate_limit=3)
            with EstafetaServer(main=main) as srv:
                replies = [starttls_then_ehlo(srv) for _ in range(3)]
                self.assertEqual([r[:4] for r in replies], ['250 '] * 3, srv.log())
                self.assertNotIn('Refusing STARTTLS', srv.log())


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


    def test_refused_starttls_is_not_counted(self):
        """A STARTTLS refused with 454 does not add to the new-TLS-session count (read
        from the shared counter in Redis): only handshakes count."""
        with tempfile.TemporaryDirectory() as certs:
            main = tls_main(certs, smtpd_client_new_tls_session_rate_limit=1,
                            anvil_redis_server='127.0.0.1:%d' % self.redis.port,
                            anvil_redis_key_prefix='itest:')
            with EstafetaServer(main=main) as srv:
                self.assertEqual(starttls_then_ehlo(srv)[:4], '250 ', srv.log())
                self.assertTrue(starttls_then_ehlo(srv).startswith('421 '), srv.log())
                self.assertIn(b'\r\n2\r\n', self.redis.command('GET', 'itest:newtls:127.0.0.1'))
                self.assertEqual([starttls_reply(srv) for _ in range(3)], [454] * 3, srv.log())
                self.assertIn(b'\r\n2\r\n', self.redis.command('GET', 'itest:newtls:127.0.0.1'))
                self.assertEqual(len(re.findall(r'Refusing STARTTLS request', srv.log())), 3)


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
