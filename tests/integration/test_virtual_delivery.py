# The virtual delivery agent through the daemon (docs/virtual-delivery.md): virtual mailbox
# domains with texthash and lmdb virtual_mailbox_maps, Maildir and mbox mailboxes under
# virtual_mailbox_base written as the uid/gid of static or table virtual_uid_maps and
# virtual_gid_maps (checked with stat), unknown addresses refused at RCPT with nothing
# created, a uid below virtual_minimum_uid deferred as a configuration error, X-Original-To:
# naming the address the client gave (before virtual aliasing), and a crash test of the
# Maildir batch path (concurrent clients, messages to several Maildirs of one owner, every
# process SIGKILLed while copies are in tmp/, twice: then every acknowledged copy is in its
# Maildir exactly once and whole, and tmp/ is empty).
import hashlib
import os
import pwd
import re
import smtplib
import stat
import subprocess
import threading
import time
import unittest

import harness
from harness import EstafetaServer
from test_recipient_validation import rcpt

TEST_USER = 'estafeta-vtest'


def send(srv, recipients, subject='virtual'):
    with smtplib.SMTP(srv.host, srv.port, timeout=harness.TIMEOUT) as s:
        s.ehlo('client.example')
        body, _ = harness.simple_message(subject=subject)
        s.sendmail('sender@example.org', recipients, body)


def ensure_test_user():
    """uid, gid of a throw-away account (created with useradd when missing)."""
    try:
        pw = pwd.getpwnam(TEST_USER)
    except KeyError:
        subprocess.run(['useradd', '--system', '--user-group', '--no-create-home',
                        '--shell', '/usr/sbin/nologin', TEST_USER], check=True,
                       capture_output=True, timeout=harness.TIMEOUT)
        pw = pwd.getpwnam(TEST_USER)
    return pw.pw_uid, pw.pw_gid


class VirtualDeliveryTest(unittest.TestCase):
    def server(self, table_text, uid_maps, gid_maps, extra=None, table_type='texthash'):
        srv = EstafetaServer(start=False)
        srv.__enter__()
        self.addCleanup(srv.__exit__, None, None, None)
        base = os.path.join(srv.dir, 'vmail')
        os.mkdir(base)
        os.chmod(base, 0o777)  # the test owners create their mailboxes here
        table = os.path.join(srv.dir, 'vmailbox')
        with open(table, 'w') as f:
            f.write(table_text)
        if table_type == 'lmdb':
            subprocess.run([harness.estafeta_bin(), 'map', 'lmdb:' + table], check=True,
                           timeout=harness.TIMEOUT)
        srv.main.update({
            'virtual_mailbox_domains': 'hosted.example',
            'virtual_mailbox_base': base,
            'virtual_mailbox_maps': '%s:%s' % (table_type, table),
            'virtual_uid_maps': uid_maps,
            'virtual_gid_maps': gid_maps,
        })
        srv.main.update(extra or {})
        srv.write_config()
        srv.start()
        return srv, base

    def owner(self):
        if harness.is_root():
            return ensure_test_user()
        return os.geteuid(), os.getegid()

    def check_owned(self, path, uid, gid, mode):
        st = os.stat(path)
        self.assertEqual((st.st_uid, st.st_gid), (uid, gid), path)
        self.assertEqual(stat.S_IMODE(st.st_mode), mode, path)

    def run_maildir_and_mbox(self, table_type):
        uid, gid = self.owner()
        srv, base = self.server('ann@hosted.example hosted.example/ann/\n'
                                'bob@hosted.example bob.mbox\n',
                                'static:%d' % uid, 'static:%d' % gid, table_type=table_type)
        send(srv, ['Ann@hosted.example', 'bob@hosted.example'])
        new = os.path.join(base, 'hosted.example', 'ann', 'new')
        self.assertTrue(harness.wait_until(lambda: os.path.isdir(new) and os.listdir(new)))
        names = os.listdir(new)
        self.assertEqual(len(names), 1)
        self.check_owned(os.path.join(new, names[0]), uid, gid, 0o600)
        self.check_owned(os.path.join(base, 'hosted.example', 'ann'), uid, gid, 0o700)
        with open(os.path.join(new, names[0]), 'rb') as f:
            copy = f.read()
        self.assertIn(b'Delivered-To: Ann@hosted.example\n', copy)  # as queued
        self.assertIn(b'\nX-Original-To: Ann@hosted.example\nDelivered-To:', copy)
        mbox = os.path.join(base, 'bob.mbox')  # an mbox's directory must exist
        self.assertTrue(srv.wait_for_log(r'to=<bob@hosted\.example>, relay=virtual, .*dsn=2\.0\.0, '
                                         r'status=sent \(delivered to mailbox\)'), srv.log())
        self.check_owned(mbox, uid, gid, 0o600)
        with open(mbox, 'rb') as f:
            self.assertTrue(f.read().startswith(b'From sender@example.org '))
        self.assertTrue(srv.wait_for_log(r'to=<Ann@hosted\.example>, relay=virtual, .*'
                                         r'dsn=2\.0\.0, status=sent \(delivered to maildir\)'),
                        srv.log())

    def test_texthash_maildir_and_mbox_static_owner(self):
        self.run_maildir_and_mbox('texthash')

    def test_lmdb_maildir_and_mbox_static_owner(self):
        self.run_maildir_and_mbox('lmdb')

    def test_table_uid_and_gid_maps(self):
        if not harness.is_root():
            self.skipTest('needs root: mailboxes of two owners (useradd)')
        uid, gid = ensure_test_user()
        srv, _ = self.server('ann@hosted.example a/\ncid@hosted.example c/\n',
                             'inline:{ann@hosted.example=%d, @hosted.example=65534}' % uid,
                             'inline:{ann@hosted.example=%d, @hosted.example=65534}' % gid)
        send(srv, ['ann@hosted.example', 'cid@hosted.example'])
        self.assertTrue(srv.wait_for_log(r'to=<cid@hosted\.example>, relay=virtual, .*'
                                         r'status=sent'))
        self.assertTrue(srv.wait_for_log(r'to=<ann@hosted\.example>, relay=virtual, .*'
                                         r'status=sent'))
        base = srv.main['virtual_mailbox_base']
        self.check_owned(os.path.join(base, 'a'), uid, gid, 0o700)
        self.check_owned(os.path.join(base, 'c'), 65534, 65534, 0o700)

    def test_x_original_to_is_the_address_before_aliasing(self):
        uid, gid = self.owner()
        srv, base = self.server('ann@hosted.example ann/\n', 'static:%d' % uid,
                                'static:%d' % gid,
                                extra={'virtual_alias_maps': 'inline:{info@hosted.example='
                                                             'ann@hosted.example}'})
        send(srv, ['info@hosted.example'])
        new = os.path.join(base, 'ann', 'new')
        self.assertTrue(harness.wait_until(lambda: os.path.isdir(new) and os.listdir(new)),
                        srv.log())
        with open(os.path.join(new, os.listdir(new)[0]), 'rb') as f:
            copy = f.read()
        self.assertTrue(copy.startswith(b'Return-Path: <sender@example.org>\n'
                                        b'X-Original-To: info@hosted.example\n'
                                        b'Delivered-To: ann@hosted.example\n'), copy[:200])

    def test_a_large_message_to_several_maildirs_of_one_owner_lands_whole_in_each(self):
        # 7 MB to three Maildirs of one owner: more than one batch part may hold
        # (kMaildirBatchMessageBytes), so the copies leave in several parts; each lands whole.
        uid, gid = self.owner()
        srv, base = self.server('a@hosted.example a/\nb@hosted.example b/\nc@hosted.example c/\n',
                                'static:%d' % uid, 'static:%d' % gid,
                                extra={'message_size_limit': '20000000'})
        line = b'0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuv\r\n'
        body = line * (7 * 1024 * 1024 // len(line))
        message = (b'From: sender@example.org\r\nTo: a@hosted.example\r\n'
                   b'Subject: large\r\n\r\n' + body)
        with smtplib.SMTP(srv.host, srv.port, timeout=harness.TIMEOUT) as s:
            s.ehlo('client.example')
            s.sendmail('sender@example.org',
                       ['a@hosted.example', 'b@hosted.example', 'c@hosted.example'], message)
        for box in ('a', 'b', 'c'):
            new = os.path.join(base, box, 'new')
            self.assertTrue(harness.wait_until(lambda: os.path.isdir(new) and os.listdir(new)),
                            srv.log())
            names = os.listdir(new)
            self.assertEqual(len(names), 1, names)
            with open(os.path.join(new, names[0]), 'rb') as f:
                copy = f.read()
            self.assertTrue(copy.endswith(body.replace(b'\r\n', b'\n')), box)
            self.assertIn(b'Delivered-To: %s@hosted.example\n' % box.encode(), copy)

    def test_unknown_address_is_refused_and_nothing_created(self):
        uid, gid = self.owner()
        srv, base = self.server('ann@hosted.example ann/\n', 'static:%d' % uid,
                                'static:%d' % gid)
        self.assertEqual(rcpt(srv, 'ann@hosted.example')[0], 250)
        code, text = rcpt(srv, 'nobody@hosted.example')
        self.assertEqual((code, text),
                         (550, '5.1.1 <nobody@hosted.example>: Recipient address rejected: '
                               'User unknown in virtual mailbox table'))
        self.assertEqual(os.listdir(base), [])

    def test_uid_below_minimum_is_deferred(self):
        srv, base = self.server('ann@hosted.example ann/\n', 'static:99', 'static:99')
        send(srv, ['ann@hosted.example'])
        self.assertTrue(srv.wait_for_log(
            r'warning: recipient ann@hosted\.example: bad uid 99 in virtual_uid_maps '
            r'\(below virtual_minimum_uid 100\)'))
        self.assertTrue(srv.wait_for_log(
            r'to=<ann@hosted\.example>, relay=virtual, .*dsn=4\.3\.5, status=deferred '
            r'\(mail system configuration error\)'))
        self.assertEqual(os.listdir(base), [])

    def test_a_backlog_for_one_domain_is_delivered_once_each_through_early_releases(self):
        # A window of 1 and 30 messages sent at once: a full window waits behind most
        # requests, so the queue manager asks for early replies (release_wanted) and starts
        # the next delivery once the copies are in new/, before their syncs and results.
        # Every message lands once, the queue empties, and no reply is out of place.
        uid, gid = self.owner()
        srv, base = self.server('ann@hosted.example ann/\n', 'static:%d' % uid,
                                'static:%d' % gid,
                                extra={'virtual_destination_concurrency_limit': '1'})
        with smtplib.SMTP(srv.host, srv.port, timeout=harness.TIMEOUT) as s:
            s.ehlo('client.example')
            for i in range(30):
                body, _ = harness.simple_message(subject='backlog %d' % i)
                s.sendmail('sender@example.org', ['ann@hosted.example'], body)
        new = os.path.join(base, 'ann', 'new')
        self.assertTrue(harness.wait_until(lambda: os.path.isdir(new) and
                                           len(os.listdir(new)) >= 30), srv.log()[-3000:])
        subjects = []
        for name in os.listdir(new):
            with open(os.path.join(new, name), 'rb') as f:
                subjects += re.findall(rb'^Subject: (backlog \d+)$', f.read(), re.M)
        self.assertEqual(sorted(subjects), sorted(b'backlog %d' % i for i in range(30)))
        active = os.path.join(srv.spool, 'active')
        self.assertTrue(harness.wait_until(lambda: not harness.sorted_names(active)),
                        harness.sorted_names(active))
        self.assertEqual(srv.log().count('status=sent (delivered to maildir)'), 30)
        self.assertNotIn('agent reply', srv.log())
        self.assertNotIn('release of unknown', srv.log())

    def test_first_run_demo_settings(self):
        # The harness writes the embedded main.cf's settings: any local part at the local
        # domains gets a Maildir owned by the demo owner; unqualified postmaster too.
        with EstafetaServer() as srv:
            send(srv, ['Carol@localhost', 'postmaster'])
            self.assertEqual(len(srv.wait_for_delivery('carol', 1)), 1)
            self.assertEqual(len(srv.wait_for_delivery('postmaster', 1)), 1)
            uid, gid = harness.demo_owner()
            self.check_owned(srv.maildir('carol'), uid, gid, 0o700)
            # A local part that is no safe directory name is no mailbox.
            code, text = rcpt(srv, 'a/b@localhost')
            self.assertEqual((code, text), (550, '5.1.1 <a/b@localhost>: Recipient address '
                                                 'rejected: User unknown in virtual mailbox '
                                                 'table'))
            self.assertFalse(os.path.exists(os.path.join(srv.mail, 'a')))


class VirtualMaildirCrashTest(unittest.TestCase):
    """The virtual agent's Maildir batches (delivery/maildir_batcher.h, the worker's write
    then publish of a batch) under SIGKILL. The harness's default settings make every local
    part at localhost a virtual Maildir of one owner, so the copies of concurrent requests
    for the three mailboxes share one Maildir worker and leave in batches."""

    MAILBOXES = ('vca', 'vcb', 'vcc')
    CLIENTS = 16
    LINES = 8000  # about 400 kB

    def message(self, seq):
        """(recipients, message text, SHA-256 of its body as sent) for message `seq`: to
        two or three of MAILBOXES, so that batches mix requests and Maildirs."""
        rcpts = [m for k, m in enumerate(self.MAILBOXES) if seq % 4 != k]
        # Every third one large (its copies stay in tmp/ long enough to be seen there), the
        # others small (they arrive fast enough to keep more requests out than batches).
        lines = self.LINES if seq % 3 == 0 else 50
        body = ''.join('line %05d of message %d: %s\r\n' % (i, seq, 'y' * 30)
                       for i in range(lines))
        body += 'END %s\r\n' % hashlib.sha256(body.encode()).hexdigest()
        text = ('From: tester@example.net\r\nTo: %s\r\nSubject: vcrash %d\r\n'
                'X-Crash-Seq: %d\r\n\r\n%s'
                % (', '.join('%s@localhost' % r for r in rcpts), seq, seq, body))
        return rcpts, text, hashlib.sha256(body.encode()).hexdigest()

    @staticmethod
    def dir_names(path):
        try:
            return os.listdir(path)
        except OSError:
            return []

    def copies(self, srv, mailbox):
        """[(seq, SHA-256 of the body with CRLF line ends, head)] of every file in new/."""
        out = []
        for raw in srv.messages(mailbox):
            head, _, body = raw.partition(b'\n\n')
            found = re.search(rb'^X-Crash-Seq: (\d+)$', head, re.M)
            seq = int(found.group(1)) if found else -1
            digest = hashlib.sha256(body.replace(b'\n', b'\r\n')).hexdigest()
            out.append((seq, digest, head))
        return out

    def test_kill_9_while_batched_copies_are_in_tmp_leaves_each_copy_once_and_whole(self):
        # The whole concurrency window from the start: more requests at once than a worker
        # takes batches (kMaildirBatchesInFlight), so that batches of several requests form.
        main = dict(harness.FAST_RETRIES, initial_destination_concurrency='20')
        with EstafetaServer(main=main) as srv:
            tmps = [os.path.join(srv.maildir(m), 'tmp') for m in self.MAILBOXES]
            acked, attempted, sent = set(), set(), {}
            lock = threading.Lock()
            counter = iter(range(100000))

            def client(stop):
                conn = None
                while not stop.is_set():
                    try:
                        if conn is None:
                            conn = smtplib.SMTP(srv.host, srv.port, timeout=harness.TIMEOUT)
                        with lock:
                            seq = next(counter)
                        rcpts, text, digest = self.message(seq)
                        with lock:
                            attempted.add(seq)
                            sent[seq] = (rcpts, digest)
                        conn.sendmail('tester@example.net',
                                      ['%s@localhost' % r for r in rcpts], text)
                        with lock:
                            acked.add(seq)
                    except (smtplib.SMTPException, OSError):
                        conn = None  # killed under it, or refused: connect again
                        time.sleep(0.05)
                if conn is not None:
                    try:
                        conn.close()
                    except OSError:
                        pass

            kills_in_tmp = 0
            for _ in range(2):
                stop = threading.Event()
                threads = [threading.Thread(target=client, args=(stop,))
                           for _ in range(self.CLIENTS)]
                for t in threads:
                    t.start()
                try:
                    deadline = time.monotonic() + 60
                    seen = False
                    while not seen and time.monotonic() < deadline:
                        # Copies of acknowledged messages being written or published.
                        seen = bool(acked) and any(self.dir_names(t) for t in tmps)
                        if not seen:
                            time.sleep(0.001)
                    if seen:
                        srv.kill_all()  # at once: the copies seen in tmp/ may still be
                finally:
                    stop.set()
                    for t in threads:
                        t.join(harness.TIMEOUT)
                self.assertFalse(any(t.is_alive() for t in threads), 'client thread hung')
                self.assertTrue(seen, 'no copy seen in tmp/; acknowledged %d; log:\n%s'
                                % (len(acked), srv.log()[-3000:]))
                kills_in_tmp += 1
                srv.start()
            self.assertEqual(kills_in_tmp, 2)

            def missing():
                found = {m: {seq for seq, _, _ in self.copies(srv, m)} for m in self.MAILBOXES}
                return [(seq, m) for seq in acked for m in sent[seq][0] if seq not in found[m]]

            self.assertTrue(harness.wait_until(lambda: not missing(), timeout=240),
                            'acknowledged copies missing: %s; log:\n%s'
                            % (sorted(missing())[:20], srv.log()[-6000:]))

            def queued():  # (incoming/ keeps smtpd's pre-created empty files: not mail)
                return {q: harness.sorted_names(os.path.join(srv.spool, q))
                        for q in ('active', 'deferred')
                        if harness.sorted_names(os.path.join(srv.spool, q))}

            # Messages sent but never acknowledged may still be queued: let them finish.
            self.assertTrue(harness.wait_until(lambda: not queued(), timeout=240),
                            'the queue does not empty: %r; log:\n%s'
                            % (queued(), srv.log()[-3000:]))
            time.sleep(1)  # a duplicate would arrive now
            for m, tmp in zip(self.MAILBOXES, tmps):
                # Each copy left in tmp/ by a kill is rewritten and renamed (or removed as
                # already delivered) by the retry of its delivery, which the empty queue
                # says has happened.
                self.assertEqual(self.dir_names(tmp), [], 'left in %s' % tmp)
                seqs = []
                for seq, digest, head in self.copies(srv, m):
                    self.assertIn(seq, sent, 'unknown message in %s: %r' % (m, head[:300]))
                    self.assertIn(m, sent[seq][0], 'message %d delivered to %s' % (seq, m))
                    self.assertIn(b'\nDelivered-To: %s@localhost\n' % m.encode(), head)
                    self.assertEqual(digest, sent[seq][1],
                                     'message %d in %s is cut or damaged' % (seq, m))
                    seqs.append(seq)
                self.assertEqual(len(seqs), len(set(seqs)),
                                 'delivered twice to %s: %s' % (m, sorted(seqs)))
                expected = {seq for seq in acked if m in sent[seq][0]}
                self.assertTrue(expected <= set(seqs) <= attempted,
                                (m, sorted(expected - set(seqs)), sorted(set(seqs) - attempted)))


if __name__ == '__main__':
    unittest.main()
