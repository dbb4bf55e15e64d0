# The queue manager against the real daemon: a recipient whose delivery fails temporarily is
# deferred, retried after the backoff and then delivered; a recipient that never succeeds
# leaves the queue when the message's lifetime is over (logged as expired); after kill -9 of
# every process a restart never repeats a finished delivery; the local agent and the queue
# manager are programs of their own (exec'd), not forks of the supervisor.
import os
import re
import smtplib
import unittest

import harness
from harness import EstafetaServer

FAST = harness.FAST_RETRIES


def send(srv, rcpts, subject='queue manager test'):
    body, _ = harness.simple_message(subject=subject, to=rcpts[0])
    with smtplib.SMTP(srv.host, srv.port, timeout=harness.TIMEOUT) as s:
        s.sendmail('alice@example.org', rcpts, body)


def block_mailbox(srv, localpart):
    """A plain file where the mailbox directory would be: delivery fails temporarily."""
    os.makedirs(srv.mail, exist_ok=True)
    path = os.path.join(srv.mail, localpart)
    with open(path, 'w') as f:
        f.write('not a directory')
    return path


class RetryTest(unittest.TestCase):

    def test_temporary_failure_is_retried_then_delivered(self):
        with EstafetaServer(main=FAST) as srv:
            blocker = block_mailbox(srv, 'bob')
            send(srv, ['bob@localhost'])
            self.assertTrue(srv.wait_for_log(r'to=<bob@localhost>, relay=virtual, .*status=deferred'),
                            srv.log())
            self.assertTrue(harness.wait_until(lambda: harness.sorted_names(os.path.join(srv.spool, 'deferred'))),
                            'the message did not go to deferred/')
            self.assertTrue(os.path.isfile(blocker))  # nothing was delivered around it
            os.unlink(blocker)
            msgs = srv.wait_for_delivery('bob', 1)
            self.assertEqual(len(msgs), 1, srv.log())
            self.assertTrue(srv.wait_for_log(r'to=<bob@localhost>, relay=virtual, .*status=sent'))
            self.assertTrue(harness.wait_until(lambda: not harness.sorted_names(os.path.join(srv.spool, 'deferred'))))
            self.assertTrue(srv.wait_for_log(r': removed$'))
            self.assertEqual(harness.sorted_names(os.path.join(srv.spool, 'status')), [])

    def test_partly_delivered_message_keeps_only_the_rest(self):
        with EstafetaServer(main=FAST) as srv:
            blocker = block_mailbox(srv, 'carol')
            send(srv, ['bob@localhost', 'carol@localhost'])
            self.assertEqual(len(srv.wait_for_delivery('bob', 1)), 1)
            self.assertTrue(harness.wait_until(lambda: harness.sorted_names(os.path.join(srv.spool, 'status'))),
                            'no status log for the partly delivered message')
            # Several retries of carol happen meanwhile; bob is never delivered again.
            self.assertTrue(harness.wait_until(
                lambda: len(re.findall(r'to=<carol@localhost>.*deferred', srv.log())) >= 2))
            os.unlink(blocker)
            self.assertEqual(len(srv.wait_for_delivery('carol', 1)), 1)
            self.assertTrue(harness.wait_until(lambda: not harness.sorted_names(os.path.join(srv.spool, 'deferred'))))
            self.assertEqual(len(srv.messages('bob')), 1)

    def test_transport_maps_error_retry_and_discard_are_answered_by_the_queue_manager(self):
        with EstafetaServer(start=False) as srv:
            table = os.path.join(srv.dir, 'transport')
            with open(table, 'w') as f:
                f.write('gone.example error:5.1.1 this domain is gone\n'
                        'later.example retry:4.3.2 come back later\n'
                        '.drop.example discard:\n')
            srv.main.update(FAST, transport_maps='texthash:' + table)
            srv.write_config()
            srv.start()
            send(srv, ['a@gone.example', 'b@later.example', 'c@x.drop.example'])
            self.assertTrue(srv.wait_for_log(
                r'to=<a@gone.example>, relay=none, .*dsn=5.1.1, status=bounced '
                r'\(this domain is gone\)'), srv.log())
            self.assertTrue(srv.wait_for_log(
                r'to=<b@later.example>, relay=none, .*dsn=4.3.2, status=deferred '
                r'\(come back later\)'), srv.log())
            self.assertTrue(srv.wait_for_log(
                r'to=<c@x.drop.example>, relay=none, .*dsn=2.0.0, status=sent \(discarded\)'),
                srv.log())

    def test_message_expires_after_its_lifetime(self):
        main = dict(FAST, maximal_queue_lifetime='2s')
        with EstafetaServer(main=main) as srv:
            send(srv, ['someone@remote.example'])
            self.assertTrue(srv.wait_for_log(
                r'to=<someone@remote.example>, relay=none, .*status=deferred '
                r'\(mail transport unavailable\)'), srv.log())
            self.assertTrue(srv.wait_for_log(
                r'to=<someone@remote.example>, .*dsn=4.3.0, status=expired '
                r'\(message expired: mail transport unavailable\)'), srv.log())
            self.assertTrue(harness.wait_until(
                lambda: not harness.sorted_names(os.path.join(srv.spool, 'deferred')) and
                not harness.sorted_names(os.path.join(srv.spool, 'active'))))


class RestartTest(unittest.TestCase):

    def test_kill_9_and_restart_never_repeats_a_finished_delivery(self):
        with EstafetaServer(main=FAST) as srv:
            blocker = block_mailbox(srv, 'carol')
            send(srv, ['bob@localhost', 'carol@localhost'])
            self.assertEqual(len(srv.wait_for_delivery('bob', 1)), 1)
            self.assertTrue(harness.wait_until(lambda: harness.sorted_names(os.path.join(srv.spool, 'status'))))
            srv.kill_all()
            os.unlink(blocker)
            srv.start()
            self.assertEqual(len(srv.wait_for_delivery('carol', 1)), 1, srv.log())
            self.assertTrue(harness.wait_until(
                lambda: not harness.sorted_names(os.path.join(srv.spool, 'deferred')) and
                not harness.sorted_names(os.path.join(srv.spool, 'active'))))
            self.assertEqual(len(srv.messages('bob')), 1, 'bob was delivered twice')


class ServicesTest(unittest.TestCase):

    def test_qmgr_and_local_are_exec_d_programs(self):
        with EstafetaServer() as srv:
            def commands():
                out = []
                for pid in srv.children():
                    try:
                        with open('/proc/%d/cmdline' % pid, 'rb') as f:
                            out.append(f.read().split(b'\0'))
                    except FileNotFoundError:
                        pass
                return out
            found = harness.wait_until(lambda: [c for c in commands() if b'qmgr' in c] and
                               [c for c in commands() if b'local' in c] and
                               [c for c in commands() if b'virtual' in c])
            self.assertTrue(found, commands())
            for agent in ('local', 'virtual'):
                self.assertTrue(harness.wait_until(
                    lambda: os.path.exists(os.path.join(srv.spool, 'private', agent))))

    def test_wake_ups_lost_to_a_full_socket_queue_are_made_up_for(self):
        # The queue manager is stopped while 30 messages come: its wake-up queue holds 11
        # datagrams (net.unix.max_dgram_qlen 10), the others cannot be sent. Once it runs
        # again every message is delivered, before the minute's periodic rescan of active/
        # (the 50 s bound below tells the two apart; it is not a speed check).
        import signal
        with EstafetaServer() as srv:
            send(srv, ['warm@localhost'])
            self.assertTrue(srv.wait_for_log(r'to=<warm@localhost>, .*status=sent'), srv.log())
            qmgr = [pid for pid in srv.children() if b'qmgr' in open('/proc/%d/cmdline' % pid, 'rb').read()]
            self.assertEqual(len(qmgr), 1)
            os.kill(qmgr[0], signal.SIGSTOP)
            try:
                with smtplib.SMTP(srv.host, srv.port, timeout=harness.TIMEOUT) as s:
                    for i in range(30):
                        body, _ = harness.simple_message(subject='burst %d' % i, to='burst@localhost')
                        s.sendmail('alice@example.org', ['burst@localhost'], body)
            finally:
                os.kill(qmgr[0], signal.SIGCONT)
            new = os.path.join(srv.mail, 'burst', 'Maildir', 'new')
            self.assertTrue(harness.wait_until(
                lambda: os.path.isdir(new) and len(os.listdir(new)) == 30, timeout=50), srv.log())

    def test_each_transport_goes_to_its_agent(self):
        # mydestination is local (the local agent), the harness's other local domains are
        # virtual mailbox domains (the virtual agent): one message, both agents.
        # dan is an alias whose command runs as default_privs: local delivery without a user.
        main = dict(FAST, mydestination='localhost', local_recipient_maps='',
                    alias_maps='inline:{ {dan=|cat > /dev/null} }')
        main.update({k: v for k, v in harness.demo_virtual_settings('MAIL').items()
                     if k not in ('mydestination', 'virtual_mailbox_base')})
        main['virtual_mailbox_domains'] = '$myhostname'
        with EstafetaServer(main=main, start=False) as srv:
            # Not the spool directory: the local agent writes there as mail_owner.
            vmail = os.path.join(srv.dir, 'vmail')
            srv.main['virtual_mailbox_base'] = vmail
            srv.write_config()
            srv.start()
            send(srv, ['dan@localhost', 'eve@' + harness.HOSTNAME, 'far@remote.example'])
            self.assertTrue(srv.wait_for_log(r'local\[\d+\]: \w+: to=<dan@localhost>, '
                                             r'relay=local, .*status=sent'), srv.log())
            self.assertTrue(srv.wait_for_log(r'virtual\[\d+\]: \w+: to=<eve@%s>, relay=virtual, '
                                             r'.*status=sent' % re.escape(harness.HOSTNAME)),
                            srv.log())
            self.assertTrue(srv.wait_for_log(r'to=<far@remote\.example>, relay=none, .*'
                                             r'status=deferred \(mail transport unavailable\)'),
                            srv.log())
            new = os.path.join(vmail, 'eve', 'Maildir', 'new')
            self.assertTrue(harness.wait_until(lambda: os.path.isdir(new) and os.listdir(new)))


if __name__ == '__main__':
    unittest.main()


class NoticeTest(unittest.TestCase):
    EXPIRE = dict(FAST, maximal_queue_lifetime='2s', bounce_queue_lifetime='2s')

    def send_from(self, srv, sender, rcpt, rcpt_options=()):
        body, _ = harness.simple_message(subject='notice test', to=rcpt, sender=sender or 'x@y')
        with smtplib.SMTP(srv.host, srv.port, timeout=harness.TIMEOUT) as s:
            s.ehlo('client.example')
            s.sendmail(sender, [rcpt], body, rcpt_options=list(rcpt_options))

    def test_expired_recipient_bounces_to_the_sender_with_rfc3464_fields(self):
        with EstafetaServer(main=self.EXPIRE) as srv:
            self.send_from(srv, 'alice@localhost', 'someone@remote.example',
                           ['ORCPT=rfc822;someone@remote.example'])
            notices = srv.wait_for_delivery('alice', 1)
            self.assertEqual(len(notices), 1, srv.log())
            n = notices[0].decode()
            self.assertIn('Return-Path: <>', n)
            self.assertIn('From: MAILER-DAEMON@%s' % harness.HOSTNAME, n)
            self.assertIn('Content-Type: multipart/report; report-type=delivery-status;', n)
            self.assertIn('Reporting-MTA: dns; %s' % harness.HOSTNAME, n)
            self.assertIn('Final-Recipient: rfc822; someone@remote.example', n)
            self.assertIn('Original-Recipient: rfc822; someone@remote.example', n)
            self.assertIn('Action: failed', n)
            self.assertIn('Status: 4.3.0', n)
            self.assertIn('Arrival-Date: ', n)
            self.assertIn('Subject: notice test', n)  # the original is returned
            self.assertTrue(srv.wait_for_log(r'sender non-delivery notification: [0-9A-F]{18}'))

    def test_notify_never_sends_no_notice(self):
        with EstafetaServer(main=self.EXPIRE) as srv:
            self.send_from(srv, 'alice@localhost', 'someone@remote.example', ['NOTIFY=NEVER'])
            self.assertTrue(srv.wait_for_log(r'status=expired'), srv.log())
            self.assertTrue(harness.wait_until(
                lambda: not harness.sorted_names(os.path.join(srv.spool, 'deferred'))))
            self.assertEqual(srv.messages('alice'), [])
            self.assertNotIn('notification:', srv.log())

    def test_a_failed_notice_goes_to_the_postmaster_and_never_loops(self):
        # A double bounce goes to 2bounce_notice_recipient when notify_classes lists 2bounce
        # (Estafeta's default) or bounce; test_bounce_service checks that Postfix's default
        # value drops it.
        with EstafetaServer(main=self.EXPIRE) as srv:
            self.send_from(srv, '', 'someone@remote.example')
            reports = srv.wait_for_delivery('postmaster', 1)
            self.assertEqual(len(reports), 1, srv.log())
            self.assertIn(b'Return-Path: <double-bounce@%s>' % harness.HOSTNAME.encode(),
                          reports[0])
            self.assertTrue(srv.wait_for_log(r'postmaster non-delivery notification'))
            self.assertTrue(harness.wait_until(
                lambda: not harness.sorted_names(os.path.join(srv.spool, 'deferred')) and
                not harness.sorted_names(os.path.join(srv.spool, 'active'))))

    def test_notify_success_sends_a_delivery_report(self):
        with EstafetaServer() as srv:
            self.send_from(srv, 'alice@localhost', 'bob@localhost', ['NOTIFY=SUCCESS'])
            self.assertEqual(len(srv.wait_for_delivery('bob', 1)), 1)
            reports = srv.wait_for_delivery('alice', 1)
            self.assertEqual(len(reports), 1, srv.log())
            self.assertIn(b'Action: delivered', reports[0])
