# Limits of the real daemon, each with its Postfix-worded reply: SIZE at MAIL and while
# receiving, recipients per message, hard error limit (421 and close), soft error limit
# (replies delayed by smtpd_error_sleep_time), idle timeout
# (smtpd_timeout -> 421 4.4.2), concurrent sessions per listener (master.cf maxproc) and per
# client (smtpd_client_connection_count_limit). Timeouts are configured small and waited for
# with a generous bound; nothing asserts speed.
import smtplib
import time
import unittest

import harness
from harness import EstafetaServer, HOSTNAME, assert_enhanced, ehlo_keywords


class SizeTest(unittest.TestCase):

    def test_size_rejected_at_mail(self):
        with EstafetaServer(main={'message_size_limit': 10000}) as srv, srv.connect() as c:
            r = c.cmd('EHLO client.example')
            self.assertEqual(ehlo_keywords(r).get('SIZE'), '10000')
            r = c.cmd('MAIL FROM:<a@example.org> SIZE=20000')
            self.assertEqual(r.lines, ['552 5.3.4 Message size exceeds fixed limit'])
            r = c.cmd('MAIL FROM:<a@example.org> SIZE=5000')
            self.assertEqual(r.code, 250, r)

    def test_size_enforced_while_receiving(self):
        with EstafetaServer(main={'message_size_limit': 10000}) as srv, srv.connect() as c:
            c.cmd('EHLO client.example')
            self.assertEqual(c.cmd('MAIL FROM:<a@example.org>').code, 250)
            self.assertEqual(c.cmd('RCPT TO:<big@localhost>').code, 250)
            self.assertEqual(c.cmd('DATA').code, 354)
            line = b'x' * 70 + b'\r\n'
            c.send(b'Subject: big\r\n\r\n' + line * 400 + b'.\r\n')  # ~28 KB
            r = c.read_reply()
            # Postfix words this one "552 5.3.4 Error: message file too big".
            self.assertEqual(r.code, 552, r)
            self.assertRegex(r.last, r'^552 5\.3\.4 ')
            # The session continues in sync and nothing was delivered.
            self.assertEqual(c.cmd('NOOP').code, 250)
            self.assertEqual(c.cmd('QUIT').code, 221)

    def test_oversized_message_is_not_delivered(self):
        with EstafetaServer(main={'message_size_limit': 10000}) as srv:
            with smtplib.SMTP(srv.host, srv.port, timeout=harness.TIMEOUT) as c:
                c.ehlo('client.example')
                del c.esmtp_features['size']  # no SIZE= at MAIL: test the check in DATA
                body = ('y' * 70 + '\r\n') * 400
                with self.assertRaises(smtplib.SMTPDataError) as cm:
                    c.sendmail('a@example.org', ['big@localhost'],
                               'Subject: big\r\n\r\n' + body)
                self.assertEqual(cm.exception.smtp_code, 552)
                # a small message afterwards on the same connection is fine
                c.sendmail('a@example.org', ['small@localhost'], 'Subject: s\r\n\r\nsmall\r\n')
            self.assertEqual(len(srv.wait_for_delivery('small', 1)), 1)
            self.assertEqual(srv.messages('big'), [])


class RecipientLimitTest(unittest.TestCase):

    def test_recipient_limit(self):
        with EstafetaServer(main={'smtpd_recipient_limit': 3}) as srv, srv.connect() as c:
            c.cmd('EHLO client.example')
            c.cmd('MAIL FROM:<a@example.org>')
            for i in range(3):
                self.assertEqual(c.cmd('RCPT TO:<r%d@localhost>' % i).code, 250)
            r = c.cmd('RCPT TO:<r3@localhost>')
            self.assertEqual(r.lines, ['452 4.5.3 Error: too many recipients'])
            self.assertEqual(c.cmd('DATA').code, 354)
            c.send(b'Subject: lim\r\n\r\nlimit\r\n.\r\n')
            self.assertEqual(c.read_reply().code, 250)
            for i in range(3):
                self.assertEqual(len(srv.wait_for_delivery('r%d' % i, 1)), 1)
            self.assertEqual(srv.messages('r3'), [])


class ErrorLimitTest(unittest.TestCase):

    def test_hard_error_limit_421_and_close(self):
        limit = 3
        with EstafetaServer(main={'smtpd_hard_error_limit': limit}) as srv, \
                srv.connect() as c:
            c.cmd('EHLO client.example')
            replies = []
            for _ in range(limit + 1):
                try:
                    c.send(b'XYZZY\r\n')
                except OSError:
                    break
                try:
                    r = c.read_reply()
                except (EOFError, ConnectionResetError):
                    break
                replies.append(r)
                if r.code == 421:
                    break
            codes = [r.code for r in replies]
            self.assertEqual(codes, [502] * limit + [421], replies)
            self.assertRegex(replies[-1].last,
                             r'^421 4\.7\.0 %s Error: too many errors$' % HOSTNAME)
            self.assertTrue(c.at_eof(), 'connection not closed after 421')


    def test_soft_error_limit_delays_replies(self):
        # Beyond smtpd_soft_error_limit every reply waits smtpd_error_sleep_time (Postfix
        # 2.1+). Only a lower bound is asserted: the delay must be there.
        main = {'smtpd_soft_error_limit': 2, 'smtpd_error_sleep_time': '1s'}
        with EstafetaServer(main=main) as srv:
            with smtplib.SMTP(srv.host, srv.port, timeout=harness.TIMEOUT) as c:
                c.ehlo('client.example')
                for _ in range(3):  # errors 1..3; the third is the first beyond the limit
                    self.assertEqual(c.docmd('XYZZY')[0], 502)
                started = time.monotonic()
                code, _ = c.noop()
                waited = time.monotonic() - started
                self.assertEqual(code, 250)
                self.assertGreaterEqual(waited, 0.9)
                c.quit()


class IdleTimeoutTest(unittest.TestCase):

    def test_idle_timeout_421(self):
        with EstafetaServer(main={'smtpd_timeout': '2s'}) as srv, srv.connect() as c:
            c.cmd('EHLO client.example')
            r = c.read_reply()  # sent spontaneously after ~2 s; read bounded by 30 s
            self.assertEqual(r.lines, ['421 4.4.2 %s Error: timeout exceeded' % HOSTNAME])
            self.assertTrue(c.at_eof())

    def test_timeout_during_data(self):
        with EstafetaServer(main={'smtpd_timeout': '2s'}) as srv, srv.connect() as c:
            c.cmd('EHLO client.example')
            c.cmd('MAIL FROM:<a@example.org>')
            c.cmd('RCPT TO:<slow@localhost>')
            self.assertEqual(c.cmd('DATA').code, 354)
            c.send(b'Subject: half\r\n\r\nincomplete')
            r = c.read_reply()
            self.assertEqual(r.code, 421, r)
            self.assertTrue(c.at_eof())
            time.sleep(0.5)
            self.assertEqual(srv.messages('slow'), [])


class ConcurrencyLimitTest(unittest.TestCase):

    def test_maxproc_limits_concurrent_sessions(self):
        with EstafetaServer(listeners=[{'maxproc': 2}]) as srv:
            a = srv.connect()
            b = srv.connect()
            try:
                self.assertEqual(a.banner.code, 220)
                self.assertEqual(b.banner.code, 220)
                with srv.connect() as c:
                    self.assertEqual(c.banner.lines,
                                     ['421 4.7.0 %s Error: too many connections' % HOSTNAME])
                    self.assertTrue(c.at_eof())
            finally:
                a.cmd('QUIT')
                a.close()
            # A slot is free again (the server may need a moment to notice the close).
            deadline = time.monotonic() + harness.TIMEOUT
            while True:
                with srv.connect() as d:
                    if d.banner.code == 220 or time.monotonic() > deadline:
                        break
                time.sleep(0.1)
            self.assertEqual(d.banner.code, 220)
            b.close()

    def test_client_connection_count_limit(self):
        main = {'smtpd_client_connection_count_limit': 1,
                # Postfix exempts $mynetworks by default; the test client is in mynetworks.
                'smtpd_client_event_limit_exceptions': ''}
        with EstafetaServer(main=main) as srv:
            a = srv.connect()
            try:
                self.assertEqual(a.banner.code, 220)
                with srv.connect() as c:
                    self.assertEqual(c.banner.code, 421, c.banner)
                    assert_enhanced(self, c.banner)
                    self.assertTrue(c.at_eof())
            finally:
                a.close()


if __name__ == '__main__':
    unittest.main()
