# The content half of the cleanup stage through the daemon: hopcount_limit (a message with too
# many Received: headers is a mail loop, refused with 554 5.4.0; today's limit is Postfix's 50,
# our own Received: header counted), header_checks and body_checks with regexp: tables
# (REJECT, IGNORE, REPLACE, DISCARD; HOLD until `estafeta queue release`, REDIRECT, BCC,
# FILTER to the error transport and to a second virtual service), through smtpd and through
# sendmail/pickup (where a REJECT becomes a non-delivery notice to the sender, as in Postfix).
import os
import smtplib
import subprocess
import time
import unittest

import harness
from harness import EstafetaServer

HEADER_CHECKS = '''\
/^Subject:.*make money fast/  REJECT no spam please
/^X-Secret:/                   IGNORE
/^X-Mailer: (.*)/              REPLACE X-Mailer: checked $1
/^Subject: hold me/            HOLD quarantined
/^Subject: redirect me/        REDIRECT carol@localhost
/^Subject: copy me/            BCC audit@localhost
/^Subject: filter away/        FILTER error:5.7.1 filtered away
/^Subject: filter to virtual2/ FILTER virtual2:
'''
BODY_CHECKS = '''\
/^DISCARD-ME$/                 DISCARD
'''


def message(headers, body='hello'):
    return '\r\n'.join(headers) + '\r\n\r\n' + body + '\r\n'


class ContentChecksTest(unittest.TestCase):
    def server(self, master_rows=(), **main):
        srv = EstafetaServer(start=False)
        srv.__enter__()
        self.addCleanup(srv.__exit__, None, None, None)
        for name, text in (('header_checks', HEADER_CHECKS), ('body_checks', BODY_CHECKS)):
            path = os.path.join(srv.dir, name)
            with open(path, 'w') as f:
                f.write(text)
            srv.main[name] = 'regexp:' + path
        srv.main.update(main)
        srv.write_config()
        if master_rows:
            with open(os.path.join(srv.dir, 'master.cf'), 'a') as f:
                f.write(''.join(row.format(dir=srv.dir) + '\n' for row in master_rows))
        srv.start()
        return srv

    def send(self, srv, text, rcpt='alice@localhost'):
        with smtplib.SMTP(srv.host, srv.port, timeout=harness.TIMEOUT) as s:
            s.ehlo('client.example')
            return s.sendmail('sender@example.org', rcpt if isinstance(rcpt, list) else [rcpt],
                              text)

    def queued_id(self, srv, pattern):
        m = srv.wait_for_log(r'(\w+): ' + pattern)
        self.assertIsNotNone(m, srv.log())
        return m.group(1)

    def test_hold_keeps_the_message_until_released(self):
        srv = self.server(queue_run_delay='1s')
        self.send(srv, message(['Subject: hold me please']))  # 250: accepted
        queue_id = self.queued_id(
            srv, r'hold: header Subject: hold me please from unknown\[127\.0\.0\.1\]; '
                 r'from=<sender@example\.org> to=<alice@localhost> proto=ESMTP '
                 r'helo=<client\.example>: quarantined$')
        held = os.path.join(srv.spool, 'hold', queue_id)
        self.assertTrue(harness.wait_until(lambda: os.path.exists(held)), srv.log())
        self.assertFalse(os.path.exists(os.path.join(srv.spool, 'active', queue_id)))
        time.sleep(1.5)
        self.assertEqual(srv.messages('alice'), [])
        p = subprocess.run([harness.estafeta_bin(), '-c', srv.dir, 'queue', 'release', queue_id],
                           capture_output=True, timeout=harness.TIMEOUT)
        self.assertEqual(p.returncode, 0, p.stderr)
        delivered = srv.wait_for_delivery('alice', 1)
        self.assertEqual(len(delivered), 1, srv.log())
        self.assertIn(b'Subject: hold me please\n', delivered[0])

    def test_redirect_replaces_every_recipient(self):
        srv = self.server()
        self.send(srv, message(['Subject: redirect me']), ['alice@localhost', 'bob@localhost'])
        self.queued_id(srv, r'redirect: header Subject: redirect me .*: carol@localhost$')
        delivered = srv.wait_for_delivery('carol', 1)
        self.assertEqual(len(delivered), 1, srv.log())
        self.assertIn(b'Subject: redirect me\n', delivered[0])
        self.assertTrue(srv.wait_for_log(r'redirect to=<carol@localhost>, '
                                         r'orig_to=<alice@localhost>, <bob@localhost>'))
        time.sleep(0.5)
        self.assertEqual(srv.messages('alice') + srv.messages('bob'), [])
        self.assertEqual(len(srv.messages('carol')), 1)

    def test_bcc_adds_a_recipient(self):
        srv = self.server()
        self.send(srv, message(['Subject: copy me']))
        self.assertEqual(len(srv.wait_for_delivery('alice', 1)), 1, srv.log())
        copy = srv.wait_for_delivery('audit', 1)
        self.assertEqual(len(copy), 1, srv.log())
        self.assertIn(b'Delivered-To: audit@localhost\n', copy[0])
        self.assertIn(b'Subject: copy me\n', copy[0])

    def test_filter_routes_every_recipient_through_the_transport(self):
        # A second virtual service with mailboxes of its own: what it delivers can only have
        # been routed to it by the FILTER.
        srv = self.server(
            master_rows=['virtual2 unix - n n - - virtual -o virtual_mailbox_base={dir}/mail2'])
        other = os.path.join(srv.dir, 'mail2')
        os.mkdir(other)
        os.chown(other, *harness.demo_owner())
        self.send(srv, message(['Subject: filter away']), ['alice@localhost', 'bob@localhost'])
        for rcpt in ('alice', 'bob'):
            self.assertTrue(srv.wait_for_log(r'to=<%s@localhost>, relay=none, .*dsn=5\.7\.1, '
                                             r'status=bounced \(filtered away\)' % rcpt),
                            srv.log())
        self.send(srv, message(['Subject: filter to virtual2']))
        new = os.path.join(other, 'alice', 'Maildir', 'new')
        self.assertTrue(harness.wait_until(lambda: os.path.isdir(new) and os.listdir(new)),
                        srv.log())
        self.assertEqual(srv.messages('alice'), [])

    def test_too_many_hops_is_refused_as_a_mail_loop(self):
        srv = self.server()
        hops = ['Received: from hop%d.example by x.example; Sat, 5 Dec 2026 10:00:00 +0000' % i
                for i in range(49)]  # ours makes 50
        with self.assertRaises(smtplib.SMTPDataError) as e:
            self.send(srv, message(hops + ['Subject: loop']))
        self.assertEqual((e.exception.smtp_code, e.exception.smtp_error),
                         (554, b'5.4.0 Error: too many hops'))
        self.send(srv, message(hops[:48] + ['Subject: not yet a loop']))
        self.assertEqual(len(srv.wait_for_delivery('alice', 1)), 1)

    def test_header_checks_reject_ignore_replace(self):
        srv = self.server()
        with self.assertRaises(smtplib.SMTPDataError) as e:
            self.send(srv, message(['Subject: Make money fast now']))
        self.assertEqual((e.exception.smtp_code, e.exception.smtp_error),
                         (550, b'5.7.1 no spam please'))
        self.assertTrue(srv.wait_for_log(r': reject: header Subject: Make money fast now from '
                                         r'unknown\[127\.0\.0\.1\]; from=<sender@example\.org> '
                                         r'to=<alice@localhost> proto=ESMTP '
                                         r'helo=<client\.example>: 5\.7\.1 no spam please'))
        self.send(srv, message(['Subject: fine', 'X-Secret: 42', 'X-Mailer: mutt']))
        delivered = srv.wait_for_delivery('alice', 1)[0]
        self.assertNotIn(b'X-Secret', delivered)
        self.assertIn(b'X-Mailer: checked mutt\n', delivered)
        self.assertIn(b'Subject: fine\n', delivered)

    def test_body_checks_discard(self):
        srv = self.server()
        self.send(srv, message(['Subject: a'], 'first\r\nDISCARD-ME'))
        self.assertTrue(srv.wait_for_log(r': discard: DATA from unknown\[127\.0\.0\.1\]'))
        self.send(srv, message(['Subject: b'], 'kept'))
        delivered = srv.wait_for_delivery('alice', 1)
        time.sleep(0.5)
        self.assertEqual(len(srv.messages('alice')), 1)
        self.assertIn(b'Subject: b', delivered[0])

    def test_local_submission_goes_through_the_same_checks(self):
        srv = self.server()
        for subject, delivered in (('Make money fast', 0), ('fine', 1)):
            p = subprocess.run([harness.estafeta_bin(), '-c', srv.dir, 'sendmail', 'alice'],
                               input=message(['Subject: ' + subject]).encode(),
                               capture_output=True, timeout=harness.TIMEOUT)
            self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(srv.wait_for_log(r'reject: header Subject: Make money fast from local'))
        self.assertEqual(len(srv.wait_for_delivery('alice', 1)), 1)

    def test_local_submission_hold_and_bcc(self):
        srv = self.server()
        for subject in ('hold me', 'copy me'):
            p = subprocess.run([harness.estafeta_bin(), '-c', srv.dir, 'sendmail', 'alice'],
                               input=message(['Subject: ' + subject]).encode(),
                               capture_output=True, timeout=harness.TIMEOUT)
            self.assertEqual(p.returncode, 0, p.stderr)
        queue_id = self.queued_id(srv, r'hold: header Subject: hold me from local;')
        self.assertTrue(harness.wait_until(
            lambda: os.path.exists(os.path.join(srv.spool, 'hold', queue_id))), srv.log())
        self.assertEqual(len(srv.wait_for_delivery('audit', 1)), 1, srv.log())
        self.assertEqual(len(srv.wait_for_delivery('alice', 1)), 1)

    def test_local_submission_rejected_by_header_checks_bounces_to_the_sender(self):
        srv = self.server()
        p = subprocess.run([harness.estafeta_bin(), '-c', srv.dir, 'sendmail', '-f', 'bob',
                            'alice'],
                           input=message(['Subject: Make money fast']).encode(),
                           capture_output=True, timeout=harness.TIMEOUT)
        self.assertEqual(p.returncode, 0, p.stderr)
        notices = srv.wait_for_delivery('bob', 1)
        self.assertEqual(len(notices), 1, srv.log())
        notice = notices[0]
        self.assertIn(b'no spam please', notice)
        self.assertIn(b'Action: failed', notice)
        self.assertIn(b'Subject: Make money fast', notice)  # the original comes back
        self.assertTrue(srv.wait_for_log(r'reject: local submission of uid=\d+ from=<bob@'))
        self.assertEqual(srv.messages('alice'), [])
        corrupt = os.path.join(srv.spool, 'corrupt')
        self.assertEqual(os.listdir(corrupt) if os.path.isdir(corrupt) else [], [])
        maildrop = os.path.join(srv.spool, 'maildrop')
        self.assertEqual(os.listdir(maildrop), [])


if __name__ == '__main__':
    unittest.main()
