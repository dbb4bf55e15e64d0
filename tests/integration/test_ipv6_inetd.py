# IPv6 listener on [::1] and inetd mode against the real binary. inetd mode runs one SMTP
# session on stdin/stdout (`estafeta -c DIR smtpd -bs`, and `sendmail -bs` through a symlink
# named sendmail with ESTAFETA_CONFIG_DIR=DIR); the message goes into the same queue and is
# delivered by the running daemon, or by the daemon's next start. The IPv6 test skips, saying
# why, only when the machine has no ::1.
import os
import shutil
import smtplib
import tempfile
import unittest

import harness
from harness import EstafetaServer, PipeConversation, HOSTNAME


class Ipv6Test(unittest.TestCase):

    def test_ipv6_loopback_listener(self):
        if not harness.have_ipv6_loopback():
            self.skipTest('this machine has no IPv6 loopback address ::1')
        with EstafetaServer(main={'inet_protocols': 'all'},
                            listeners=[{'family': 'inet6'}]) as srv:
            with smtplib.SMTP('::1', srv.port, timeout=harness.TIMEOUT) as c:
                c.sendmail('alice@example.org', ['six@localhost'],
                           'Subject: v6\r\n\r\nover-ipv6\r\n')
            msgs = srv.wait_for_delivery('six', 1)
            self.assertEqual(len(msgs), 1)
            self.assertIn(b'over-ipv6', msgs[0])
            self.assertIsNotNone(srv.wait_for_log(r'connect from \S+\[::1\]'), srv.log())


def inetd_session(test, conv, rcpt, body):
    test.assertEqual(conv.banner.lines, ['220 %s ESMTP Estafeta' % HOSTNAME])
    test.assertEqual(conv.cmd('EHLO client.example').code, 250)
    test.assertEqual(conv.cmd('MAIL FROM:<alice@example.org>').code, 250)
    test.assertEqual(conv.cmd('RCPT TO:<%s@localhost>' % rcpt).code, 250)
    test.assertEqual(conv.cmd('DATA').code, 354)
    conv.send(b'Subject: inetd\r\n\r\n' + body + b'\r\n.\r\n')
    r = conv.read_reply()
    test.assertRegex(r.last, r'^250 2\.0\.0 Ok: queued as \S+$')
    test.assertEqual(conv.cmd('QUIT').code, 221)
    status, err = conv.finish()
    test.assertEqual(status, 0, err)
    return r.last.split()[-1]


class InetdTest(unittest.TestCase):

    def test_smtpd_bs_delivered_by_running_daemon(self):
        with EstafetaServer() as srv:
            conv = PipeConversation([harness.estafeta_bin(), '-c', srv.dir, 'smtpd', '-bs'])
            inetd_session(self, conv, 'inetd', b'inetd-body-1')
            msgs = srv.wait_for_delivery('inetd', 1)
            self.assertEqual(len(msgs), 1)
            self.assertIn(b'inetd-body-1', msgs[0])

    def test_smtpd_bs_queued_then_delivered_on_next_start(self):
        with EstafetaServer() as srv:
            srv.stop()  # the spool exists now; the daemon is down
            conv = PipeConversation([harness.estafeta_bin(), '-c', srv.dir, 'smtpd', '-bs'])
            qid = inetd_session(self, conv, 'later', b'inetd-body-2')
            queued = [f for _, _, files in os.walk(srv.spool) for f in files if qid in f]
            self.assertTrue(queued, 'queue id %s not found under %s' % (qid, srv.spool))
            self.assertEqual(srv.messages('later'), [])
            srv.start()
            msgs = srv.wait_for_delivery('later', 1)
            self.assertEqual(len(msgs), 1)
            self.assertIn(b'inetd-body-2', msgs[0])

    def test_sendmail_bs_via_symlink(self):
        linkdir = tempfile.mkdtemp(prefix='estafeta-itest-bin-')
        try:
            link = os.path.join(linkdir, 'sendmail')
            os.symlink(harness.estafeta_bin(), link)
            with EstafetaServer() as srv:
                env = dict(os.environ, ESTAFETA_CONFIG_DIR=srv.dir)
                conv = PipeConversation([link, '-bs'], env=env)
                inetd_session(self, conv, 'viasendmail', b'sendmail-bs-body')
                msgs = srv.wait_for_delivery('viasendmail', 1)
                self.assertEqual(len(msgs), 1)
                self.assertIn(b'sendmail-bs-body', msgs[0])
        finally:
            shutil.rmtree(linkdir, ignore_errors=True)

    def test_inetd_noop_quit_exit_status(self):
        with EstafetaServer() as srv:
            conv = PipeConversation([harness.estafeta_bin(), '-c', srv.dir, 'smtpd', '-bs'])
            self.assertEqual(conv.cmd('NOOP').code, 250)
            self.assertEqual(conv.cmd('QUIT').code, 221)
            status, err = conv.finish()
            self.assertEqual(status, 0, err)


if __name__ == '__main__':
    unittest.main()
