# The bounce service against the real daemon: it runs as a program of its own (added to a
# master.cf without a bounce row, listening on private/bounce); notify_classes sends the
# postmaster a copy of a non-delivery notice with the headers only (read back from the
# postmaster's Maildir), a copy of a delay warning, and a report of mail deferred by a
# software error (a delivery agent that broke the protocol); a failed notice is dropped
# without `2bounce`; while no bounce service runs, a bounced recipient stays deferred and is
# bounced, once, when the service is back; a bounce service killed with SIGKILL is started
# again and the notice still arrives once. No timing is asserted: waits are bounded polls.
import os
import re
import signal
import smtplib
import socket
import subprocess
import threading
import unittest

import harness
from harness import EstafetaServer

FAST = harness.FAST_RETRIES
EXPIRE = dict(FAST, maximal_queue_lifetime='2s', bounce_queue_lifetime='2s')
DOUBLE_BOUNCE = 'double-bounce@%s' % harness.HOSTNAME


def send(srv, sender, rcpt, subject='bounce service test', rcpt_options=()):
    body, _ = harness.simple_message(subject=subject, to=rcpt, sender=sender or 'x@y')
    with smtplib.SMTP(srv.host, srv.port, timeout=harness.TIMEOUT) as s:
        s.ehlo('client.example')
        s.sendmail(sender, [rcpt], body, rcpt_options=list(rcpt_options))


def accepts_connections(path):
    """True when a unix stream socket at `path` is listening."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
        return True
    except OSError:
        return False
    finally:
        probe.close()


def drained(srv):
    return not harness.sorted_names(os.path.join(srv.spool, 'active')) and \
        not harness.sorted_names(os.path.join(srv.spool, 'deferred'))


def bounce_pids(srv):
    out = []
    for pid in srv.children():
        try:
            with open('/proc/%d/cmdline' % pid, 'rb') as f:
                argv = f.read().split(b'\0')
        except OSError:
            continue
        if len(argv) > 3 and argv[3] == b'bounce':
            out.append(pid)
    return out


def serving_bounce_pid(srv):
    """The bounce service's pid once the supervisor lists it as serving (`estafeta status`
    shows a state after the pid while a service is starting), else None."""
    p = subprocess.run([harness.estafeta_bin(), '-c', srv.dir, 'status'],
                       capture_output=True, timeout=harness.TIMEOUT)
    for line in p.stdout.decode().splitlines():
        m = re.fullmatch(r'bounce pid (\d+)', line.strip())
        if m:
            return int(m.group(1))
    return None


def with_rows(srv, rows):
    """The harness's master.cf (smtpd rows) plus `rows`."""
    with open(os.path.join(srv.dir, 'master.cf'), 'w') as f:
        f.write(srv.master_cf_text() + rows)


class BounceServiceTest(unittest.TestCase):

    def test_runs_as_its_own_program_on_private_bounce(self):
        with EstafetaServer() as srv:
            self.assertTrue(harness.wait_until(lambda: bounce_pids(srv)), srv.log())
            self.assertTrue(harness.wait_until(
                lambda: os.path.exists(os.path.join(srv.spool, 'private', 'bounce'))))
            out = subprocess.run([harness.estafeta_bin(), '-c', srv.dir, 'config', '-M', '-d'],
                                 capture_output=True, timeout=harness.TIMEOUT).stdout.decode()
            self.assertIn('bounce     unix  -       -       n       -       0       bounce', out)

    def test_postmaster_copy_of_a_non_delivery_notice_has_the_headers_only(self):
        with EstafetaServer(main=dict(EXPIRE, notify_classes='bounce')) as srv:
            send(srv, 'alice@localhost', 'someone@remote.example')
            notices = srv.wait_for_delivery('alice', 1)
            self.assertEqual(len(notices), 1, srv.log())
            self.assertIn(b'Subject: Undelivered Mail Returned to Sender', notices[0])
            self.assertIn(b'Hello from the integration tests.', notices[0])  # RET=FULL
            copies = srv.wait_for_delivery('postmaster', 1)
            self.assertEqual(len(copies), 1, srv.log())
            copy = copies[0].decode()
            self.assertIn('Return-Path: <%s>' % DOUBLE_BOUNCE, copy)
            self.assertIn('Subject: Postmaster Copy: Undelivered Mail', copy)
            self.assertIn('Content-Type: message/delivery-status', copy)
            self.assertIn('Final-Recipient: rfc822; someone@remote.example', copy)
            self.assertIn('Action: failed', copy)
            self.assertIn('Content-Type: text/rfc822-headers', copy)
            self.assertIn('Subject: bounce service test', copy)  # the original's headers
            self.assertNotIn('Hello from the integration tests.', copy)  # not its body
            self.assertTrue(srv.wait_for_log(
                r'estafeta/bounce\[\d+\]: [0-9A-F]{18}: postmaster copy of the non-delivery '
                r'notification: [0-9A-F]{18}'))
            self.assertTrue(harness.wait_until(lambda: drained(srv)))
            self.assertEqual(len(srv.messages('alice')), 1)
            self.assertEqual(len(srv.messages('postmaster')), 1)

    def test_without_bounce_in_notify_classes_the_postmaster_gets_no_copy(self):
        with EstafetaServer(main=EXPIRE) as srv:  # notify_classes = 2bounce, resource, software
            send(srv, 'alice@localhost', 'someone@remote.example')
            self.assertEqual(len(srv.wait_for_delivery('alice', 1)), 1, srv.log())
            self.assertTrue(harness.wait_until(lambda: drained(srv)))
            self.assertEqual(srv.messages('postmaster'), [])

    def test_a_failed_notice_is_dropped_without_2bounce(self):
        # Postfix's default, which Estafeta's adds 2bounce to.
        with EstafetaServer(main=dict(EXPIRE, notify_classes='resource, software')) as srv:
            send(srv, '', 'someone@remote.example')
            self.assertTrue(srv.wait_for_log(
                r'undeliverable non-delivery notification discarded'), srv.log())
            self.assertTrue(harness.wait_until(lambda: drained(srv)))
            self.assertEqual(srv.messages('postmaster'), [])

    def test_delay_warning_copy_goes_to_delay_notice_recipient(self):
        main = dict(FAST, delay_warning_time='1s', notify_classes='delay',
                    delay_notice_recipient='delays')
        with EstafetaServer(main=main) as srv:
            send(srv, 'alice@localhost', 'someone@remote.example')
            warnings = srv.wait_for_delivery('alice', 1)
            self.assertEqual(len(warnings), 1, srv.log())
            self.assertIn(b'Action: delayed', warnings[0])
            copies = srv.wait_for_delivery('delays', 1)
            self.assertEqual(len(copies), 1, srv.log())
            self.assertIn(b'Subject: Postmaster Warning: Delayed Mail', copies[0])
            self.assertIn(b'Content-Type: text/rfc822-headers', copies[0])

    def test_software_error_is_reported_to_the_postmaster(self):
        # The harness's local domains are virtual mailbox domains: this test takes the
        # virtual agent's socket name (private/virtual, before the queue manager first
        # connects) for an "agent" that hangs up on every request: the queue manager defers
        # the recipient ("delivery agent did not report a status"), a software error.
        with EstafetaServer(main=dict(FAST, notify_classes='software')) as srv:
            path = os.path.join(srv.spool, 'private', 'virtual')
            # Listening, not only existing: the agent binds, then chmods the path, then
            # listens; a path replaced between its bind and chmod made the agent fail.
            self.assertTrue(harness.wait_until(lambda: accepts_connections(path)))
            os.unlink(path)
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            stop = threading.Event()
            try:
                listener.bind(path)
                os.chmod(path, 0o777)
                listener.listen(8)
                listener.settimeout(0.2)

                def hang_up():
                    while not stop.is_set():
                        try:
                            conn, _ = listener.accept()
                        except OSError:
                            continue
                        conn.close()
                thread = threading.Thread(target=hang_up)
                thread.start()
                try:
                    send(srv, 'alice@localhost', 'bob@localhost')
                    self.assertTrue(srv.wait_for_log(
                        r'postmaster software notification: [0-9A-F]{18}'), srv.log())
                finally:
                    stop.set()
                    thread.join(harness.TIMEOUT)
            finally:
                listener.close()
            # With the real agent back the report reaches the postmaster, and bob his mail.
            srv.stop()
            srv.write_config()
            srv.start()
            reports = srv.wait_for_delivery('postmaster', 1)
            self.assertGreaterEqual(len(reports), 1, srv.log())
            report = reports[0].decode()
            self.assertIn('Return-Path: <%s>' % DOUBLE_BOUNCE, report)
            self.assertIn('Subject: Postmaster Warning: Delayed Mail', report)
            self.assertIn('by a software error', report)
            self.assertIn('Final-Recipient: rfc822; bob@localhost', report)
            self.assertIn('Status: 4.3.0', report)
            self.assertEqual(len(srv.wait_for_delivery('bob', 1)), 1, srv.log())


class BounceServiceDownTest(unittest.TestCase):

    def test_recipients_stay_deferred_until_the_service_is_back_then_bounce_once(self):
        with EstafetaServer(main=EXPIRE, start=False) as srv:
            # The name is taken by a row Estafeta ignores: no bounce service runs.
            with_rows(srv, 'bounce unix - - n - - discard\n')
            srv.start()
            send(srv, 'alice@localhost', 'someone@remote.example')
            self.assertTrue(srv.wait_for_log(
                r'to=<someone@remote\.example>, relay=none, dsn=4\.3\.0, status=deferred '
                r'\(cannot queue the non-delivery notice: bounce service unavailable\)'),
                srv.log())
            self.assertTrue(harness.wait_until(lambda: harness.sorted_names(os.path.join(srv.spool, 'deferred'))))
            self.assertEqual(srv.messages('alice'), [])
            # The service comes back (the harness's master.cf gets the bounce row added).
            srv.write_config()
            subprocess.run([harness.estafeta_bin(), '-c', srv.dir, 'reload'],
                           capture_output=True, timeout=harness.TIMEOUT, check=True)
            notices = srv.wait_for_delivery('alice', 1)
            self.assertEqual(len(notices), 1, srv.log())
            self.assertIn(b'Final-Recipient: rfc822; someone@remote.example', notices[0])
            self.assertTrue(harness.wait_until(lambda: drained(srv)), srv.log())
            self.assertEqual(len(srv.messages('alice')), 1, 'the notice was sent twice')

    def test_a_killed_bounce_service_is_restarted_and_the_notice_arrives_once(self):
        with EstafetaServer(main=EXPIRE) as srv:
            # Killed once it serves (a service that dies before it reported ready makes the
            # whole start fail, by design).
            pid = harness.wait_until(lambda: serving_bounce_pid(srv))
            self.assertTrue(pid, srv.log())
            self.assertIn(pid, bounce_pids(srv))
            os.kill(pid, signal.SIGKILL)
            send(srv, 'alice@localhost', 'someone@remote.example')
            self.assertEqual(len(srv.wait_for_delivery('alice', 1)), 1, srv.log())
            self.assertTrue(harness.wait_until(lambda: drained(srv)), srv.log())
            self.assertEqual(len(srv.messages('alice')), 1, 'the notice was sent twice')
            self.assertTrue(srv.wait_for_log(r'service bounce \(bounce\): restarting in'))


if __name__ == '__main__':
    unittest.main()
