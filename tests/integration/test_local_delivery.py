# Local delivery as the recipient (issue 17, docs/local-delivery.md) against the real daemon,
# with real users made for the test (useradd, temporary homes; removed at the end): an mbox in
# mail_spool_directory owned by the user (0600) and read back with bsd-mailx, a Maildir in the
# home (home_mailbox = Maildir/), alias `|command` and `/file` targets running as
# default_privs, a .forward to another local user, a Delivered-To loop bounced, an unknown
# user refused at RCPT without any mailbox made, procmail as mailbox_command, root's mail
# without an alias, a /dev/null alias, luser_relay as an address, mail_owner as a recipient
# getting default_privs, and a crash test (every process killed with SIGKILL while mbox and
# Maildir deliveries are in progress, then restarted: each message is there exactly once and
# whole). Needs root
# (to create users and for the spawner to become them); skipped otherwise.
import grp
import hashlib
import os
import pwd
import random
import re
import shutil
import smtplib
import string
import subprocess
import tempfile
import threading
import time
import unittest

import harness
import tools
from harness import EstafetaServer


def read_text(path):
    try:
        with open(path, encoding='latin-1') as f:
            return f.read()
    except OSError as e:
        return str(e)


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=harness.TIMEOUT, **kw)


@unittest.skipUnless(harness.is_root(),
                     'local delivery as the recipient needs root (to create users and switch '
                     'to them); run the integration tests as root')
class LocalDeliveryTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        for tool in ('useradd', 'userdel', 'procmail', 'mail'):
            tools.require(tool)
        cls.tmp = tempfile.mkdtemp(prefix='estafeta-local-')
        os.chmod(cls.tmp, 0o755)
        suffix = ''.join(random.choice(string.ascii_lowercase) for _ in range(5))
        cls.users = ['estl%s%d' % (suffix, i) for i in (1, 2)]
        for name in cls.users:
            home = os.path.join(cls.tmp, 'home', name)
            os.makedirs(os.path.dirname(home), mode=0o755, exist_ok=True)
            made = run([tools.require('useradd'), '--create-home', '--home-dir', home,
                        '--shell', '/bin/sh', '--user-group', name])
            if made.returncode != 0:
                cls.tearDownClass()
                raise AssertionError('useradd %s: %s' % (name, made.stderr))
        cls.pw = [pwd.getpwnam(n) for n in cls.users]
        cls.nobody = pwd.getpwnam('nobody')
        # Files that alias targets write, as default_privs (nobody).
        cls.out = os.path.join(cls.tmp, 'out')
        os.mkdir(cls.out)
        os.chown(cls.out, cls.nobody.pw_uid, cls.nobody.pw_gid)
        cls.aliases = os.path.join(cls.tmp, 'aliases')
        with open(cls.aliases, 'w') as f:
            f.write('postmaster: root\n'
                    'cmdalias: "|id -u > %s/cmd.uid"\n'
                    'filealias: %s/file.mbox\n'
                    'team: %s, %s\n'
                    'devnull: /dev/null\n' % (cls.out, cls.out, cls.users[0], cls.users[1]))
        built = run([harness.estafeta_bin(), 'alias', 'hash:' + cls.aliases])
        if built.returncode != 0:
            cls.tearDownClass()
            raise AssertionError('estafeta alias: %s' % built.stderr)

    @classmethod
    def tearDownClass(cls):
        for name in getattr(cls, 'users', []):
            run([tools.require('userdel'), '--remove', name])
            try:
                grp.getgrnam(name)
                run([tools.require('groupdel'), name])
            except KeyError:
                pass
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # -- helpers
    def server(self, **extra):
        spool = tempfile.mkdtemp(prefix='spool-', dir=self.tmp)
        # As Debian's /var/mail: root:mail 2775, users cannot create files in it themselves.
        try:
            os.chown(spool, 0, grp.getgrnam('mail').gr_gid)
            os.chmod(spool, 0o2775)
        except KeyError:
            os.chmod(spool, 0o1777)
        main = {
            'local_recipient_maps': 'unix:passwd.byname $alias_maps',
            'alias_maps': 'hash:' + self.aliases,
            'mail_spool_directory': spool,
            'recipient_delimiter': '+',
        }
        main.update(extra)
        srv = EstafetaServer(main=main)
        srv.spool_dir = spool
        return srv

    def send(self, srv, rcpt, subject='local test', extra_headers=''):
        msg = ('From: tester@example.net\r\nTo: %s\r\nSubject: %s\r\n%s\r\nhello %s\r\n'
               % (rcpt, subject, extra_headers, rcpt))
        with smtplib.SMTP(srv.host, srv.port, timeout=harness.TIMEOUT) as s:
            s.sendmail('tester@example.net', [rcpt], msg)

    def wait_file(self, path, needle=None):
        def ready():
            try:
                with open(path, 'rb') as f:
                    data = f.read()
            except OSError:
                return None
            return data if needle is None or needle.encode() in data else None
        self.assertTrue(harness.wait_until(lambda: ready() is not None),
                        'nothing delivered to %s' % path)
        return ready()

    # -- the crash test
    CRASH_LINES = 40000  # about 3 MB each: appends take long enough to be cut in the middle

    def crash_message(self, rcpt, seq):
        lines = ''.join('line %06d of message %d: %s\r\n' % (i, seq, 'x' * 40)
                        for i in range(self.CRASH_LINES))
        digest = hashlib.sha256(lines.encode()).hexdigest()
        return ('From: tester@example.net\r\nTo: %s\r\nSubject: crash %d\r\n'
                'X-Crash-Seq: %d\r\n\r\n%sEND %s\r\n' % (rcpt, seq, seq, lines, digest))

    def check_whole(self, text, seqs):
        """`text`: one message as delivered (LF line ends). Appends its X-Crash-Seq to
        `seqs` after checking its body is complete."""
        head, _, body = text.partition('\n\n')
        seq = [l.split(': ', 1)[1] for l in head.split('\n') if l.startswith('X-Crash-Seq: ')]
        self.assertEqual(len(seq), 1, head[:300])
        body_lines, _, end = body.rstrip('\n').rpartition('\n')
        self.assertTrue(end.startswith('END '), 'message %s is cut: ends %r' % (seq, end[-60:]))
        digest = hashlib.sha256((body_lines + '\n').replace('\n', '\r\n').encode()).hexdigest()
        self.assertEqual(end, 'END ' + digest, 'message %s is damaged' % seq)
        seqs.append(int(seq[0]))

    def crash_and_recover(self, srv, rcpt, writing, seqs_found):
        """Sends messages while SIGKILLing every process the moment `writing()` says a
        delivery is writing, twice (restarting each time); waits until every message that
        was acknowledged is found (`seqs_found()`: the X-Crash-Seq values in the mailbox).
        Returns (acknowledged, attempted) sets of sequence numbers."""
        acked, attempted = set(), set()
        counter = iter(range(1000))
        for _ in range(2):
            stop = threading.Event()

            def sender():
                while not stop.is_set():
                    try:
                        with smtplib.SMTP(srv.host, srv.port, timeout=harness.TIMEOUT) as s:
                            while not stop.is_set():
                                seq = next(counter)
                                attempted.add(seq)
                                s.sendmail('tester@example.net', [rcpt],
                                           self.crash_message(rcpt, seq))
                                acked.add(seq)
                    except (smtplib.SMTPException, OSError):
                        time.sleep(0.1)  # killed under it, or refused: connect again

            thread = threading.Thread(target=sender)
            thread.start()
            try:
                deadline = time.monotonic() + 60
                seen = False
                while not seen and time.monotonic() < deadline:
                    seen = bool(acked) and writing()
                    if not seen:
                        time.sleep(0.001)
                if seen:
                    srv.kill_all()  # at once: the delivery seen writing may still be
            finally:
                stop.set()
                thread.join()
            self.assertTrue(seen, 'no delivery seen writing; acknowledged %s; log:\n%s'
                            % (sorted(acked), srv.log()[-3000:]))
            srv.start()
        self.assertTrue(harness.wait_until(lambda: acked <= set(seqs_found()), timeout=120),
                        'acknowledged %s, delivered %s; log:\n%s'
                        % (sorted(acked), seqs_found(), srv.log()[-6000:]))
        time.sleep(1)  # a duplicate would arrive now
        return acked, attempted

    @staticmethod
    def crash_seqs(data):
        """The X-Crash-Seq of every message in `data` (an mbox, or one message) that is
        complete, its END line last (a message cut by the kill counts only once the next
        delivery has cut it back and it came again)."""
        seqs = []
        for text in data.split('\n\nFrom '):
            found = re.search(r'\nX-Crash-Seq: (\d+)\n', text)
            end = text.rstrip('\n').rpartition('\n')[2]
            if found and re.fullmatch(r'END [0-9a-f]{64}', end):
                seqs.append(int(found.group(1)))
        return seqs

    def test_kill_9_during_mbox_deliveries_leaves_each_message_once_and_whole(self):
        user = self.pw[0]
        rcpt = '%s@localhost' % user.pw_name
        with self.server() as srv:
            mbox = os.path.join(srv.spool_dir, user.pw_name)

            def read():
                try:
                    with open(mbox, encoding='latin-1') as f:
                        return f.read()
                except OSError:
                    return ''

            def appending():  # the dot-lock's journal names an offset while a delivery appends
                try:
                    with open(mbox + '.lock') as f:
                        return f.read().split()[4:5] not in ([], ['-'])
                except OSError:
                    return False
            acked, attempted = self.crash_and_recover(srv, rcpt, appending,
                                                      lambda: self.crash_seqs(read()))
            data = read()
            self.assertTrue(data.startswith('From '))
            seqs = []
            for text in data[len('From '):].split('\n\nFrom '):
                self.check_whole(text.split('\n', 1)[1], seqs)
            self.assertEqual(len(seqs), len(set(seqs)), 'delivered twice: %s' % sorted(seqs))
            self.assertTrue(acked <= set(seqs) <= attempted, (acked, seqs, attempted))
            self.assertFalse(os.path.exists(mbox + '.lock'),
                             'lock left: %s' % (read_text(mbox + '.lock'),))

    def test_kill_9_during_maildir_deliveries_leaves_each_message_once_and_whole(self):
        user = self.pw[1]
        rcpt = '%s@localhost' % user.pw_name
        maildir = os.path.join(user.pw_dir, 'Maildir')
        shutil.rmtree(maildir, ignore_errors=True)
        with self.server(home_mailbox='Maildir/') as srv:
            def messages():
                try:
                    names = os.listdir(os.path.join(maildir, 'new'))
                except OSError:
                    return []
                out = []
                for name in names:
                    with open(os.path.join(maildir, 'new', name), encoding='latin-1') as f:
                        out.append(f.read())
                return out

            def writing():  # a Maildir delivery writes in tmp/
                try:
                    return len(os.listdir(os.path.join(maildir, 'tmp'))) > 0
                except OSError:
                    return False
            try:
                acked, attempted = self.crash_and_recover(
                    srv, rcpt, writing,
                    lambda: [s for m in messages() for s in self.crash_seqs(m)])
                seqs = []
                for text in messages():
                    self.check_whole(text, seqs)
                self.assertEqual(len(seqs), len(set(seqs)), 'delivered twice: %s' % sorted(seqs))
                self.assertTrue(acked <= set(seqs) <= attempted, (acked, seqs, attempted))
            finally:
                shutil.rmtree(maildir, ignore_errors=True)

    # -- tests
    def test_mbox_in_spool_owned_by_the_user_and_read_by_mailx(self):
        user = self.pw[0]
        with self.server() as srv:
            self.send(srv, '%s@localhost' % user.pw_name, subject='spool mbox')
            mbox = os.path.join(srv.spool_dir, user.pw_name)
            data = self.wait_file(mbox, 'hello')
            st = os.stat(mbox)
            self.assertEqual((st.st_uid, st.st_mode & 0o7777), (user.pw_uid, 0o600))
            self.assertTrue(data.startswith(b'From tester@example.net '), data[:80])
            self.assertIn(b'Delivered-To: %s@localhost\n' % user.pw_name.encode(), data)
            self.assertIsNotNone(srv.wait_for_log(
                r'to=<%s@localhost>, relay=local, .*status=sent \(delivered to mailbox\)'
                % user.pw_name))
            # bsd-mailx lists the mbox's headers ("h"), then quits without changing it.
            listing = run([tools.require('mail'), '-N', '-f', mbox], input='h\nx\n',
                          env={'HOME': self.tmp, 'PATH': '/usr/bin:/bin'})
            self.assertEqual(listing.returncode, 0, listing.stderr)
            self.assertIn('spool mbox', listing.stdout + listing.stderr)

    def test_maildir_in_home(self):
        user = self.pw[1]
        with self.server(home_mailbox='Maildir/') as srv:
            self.send(srv, '%s+ext@localhost' % user.pw_name)
            new = os.path.join(user.pw_dir, 'Maildir', 'new')
            self.assertTrue(harness.wait_until(
                lambda: os.path.isdir(new) and len(os.listdir(new)) == 1))
            name = os.listdir(new)[0]
            st = os.stat(os.path.join(new, name))
            self.assertEqual((st.st_uid, st.st_gid, st.st_mode & 0o7777),
                             (user.pw_uid, user.pw_gid, 0o600))
            for sub in ('', 'new', 'cur', 'tmp'):
                st = os.stat(os.path.join(user.pw_dir, 'Maildir', sub))
                self.assertEqual((st.st_uid, st.st_mode & 0o7777), (user.pw_uid, 0o700), sub)

    def test_alias_command_and_file_run_as_default_privs(self):
        with self.server() as srv:
            self.send(srv, 'cmdalias@localhost')
            self.send(srv, 'filealias@localhost')
            # The shell creates the file before id writes to it: wait for the whole line.
            uid = self.wait_file(os.path.join(self.out, 'cmd.uid'), '\n')
            self.assertEqual(uid.strip(), str(self.nobody.pw_uid).encode())
            path = os.path.join(self.out, 'file.mbox')
            self.wait_file(path, 'hello filealias')
            self.assertEqual(os.stat(path).st_uid, self.nobody.pw_uid)
            self.assertIsNotNone(srv.wait_for_log(
                r'to=<cmdalias@localhost>, relay=local, .*status=sent '
                r'\(delivered to command: id -u'))
            self.assertIsNotNone(srv.wait_for_log(
                r'to=<filealias@localhost>, relay=local, .*status=sent '
                r'\(delivered to file: %s\)' % path))

    def test_alias_with_two_users(self):
        with self.server() as srv:
            self.send(srv, 'team@localhost', subject='for the team')
            for user in self.pw:
                self.wait_file(os.path.join(srv.spool_dir, user.pw_name), 'for the team')
            self.assertIsNotNone(srv.wait_for_log(
                r'to=<%s@localhost>, orig_to=<team@localhost>, relay=local' % self.users[1]))

    def test_notify_success_for_an_alias_reports_expanded(self):
        first = self.pw[0]
        sender = '%s@localhost' % first.pw_name
        with self.server() as srv:
            msg = 'From: %s\r\nSubject: dsn expanded\r\n\r\nhello team\r\n' % sender
            with smtplib.SMTP(srv.host, srv.port, timeout=harness.TIMEOUT) as s:
                s.ehlo()
                s.sendmail(sender, ['team@localhost'], msg, rcpt_options=['NOTIFY=SUCCESS'])
            # The sender is one of the team: its mbox gets the message and the report.
            data = self.wait_file(os.path.join(srv.spool_dir, first.pw_name),
                                  'Action: expanded')
            self.assertIn(b'Final-Recipient: rfc822; team@localhost', data)
            self.assertNotIn(b'Action: delivered', data)

    def test_forward_file_to_another_local_user(self):
        first, second = self.pw
        forward = os.path.join(first.pw_dir, '.forward')
        with open(forward, 'w') as f:
            f.write('%s\n' % second.pw_name)
        os.chown(forward, first.pw_uid, first.pw_gid)
        try:
            with self.server() as srv:
                self.send(srv, '%s@localhost' % first.pw_name, subject='forwarded on')
                self.wait_file(os.path.join(srv.spool_dir, second.pw_name), 'forwarded on')
                self.assertFalse(os.path.exists(os.path.join(srv.spool_dir, first.pw_name)))
                self.assertIsNotNone(srv.wait_for_log(
                    r'to=<%s@localhost>, orig_to=<%s@localhost>, relay=local, .*status=sent'
                    % (second.pw_name, first.pw_name)))
        finally:
            os.unlink(forward)

    def test_delivered_to_loop_bounces(self):
        user = self.pw[0]
        with self.server() as srv:
            self.send(srv, '%s@localhost' % user.pw_name,
                      extra_headers='Delivered-To: %s@localhost\r\n' % user.pw_name)
            self.assertIsNotNone(srv.wait_for_log(
                r'to=<%s@localhost>, relay=local, .*dsn=5.4.6, status=bounced '
                r'\(mail forwarding loop for %s@localhost\)' % (user.pw_name, user.pw_name)))
            self.assertFalse(os.path.exists(os.path.join(srv.spool_dir, user.pw_name)))

    def test_unknown_user_refused_at_rcpt(self):
        with self.server() as srv:
            with smtplib.SMTP(srv.host, srv.port, timeout=harness.TIMEOUT) as s:
                s.ehlo('client.example')
                s.mail('tester@example.net')
                code, _ = s.rcpt('nosuchuser-xyz@localhost')
                self.assertEqual(code, 550)
            self.assertEqual(os.listdir(srv.spool_dir), [])

    def test_procmail_as_mailbox_command(self):
        user = self.pw[1]
        rc = os.path.join(user.pw_dir, '.procmailrc')
        with open(rc, 'w') as f:
            f.write('DEFAULT=$HOME/procmail.mbox\n')
        os.chown(rc, user.pw_uid, user.pw_gid)
        os.chmod(rc, 0o644)
        target = os.path.join(user.pw_dir, 'procmail.mbox')
        try:
            with self.server(mailbox_command='%s -a "$EXTENSION"' % tools.require('procmail')) \
                    as srv:
                self.send(srv, '%s+pm@localhost' % user.pw_name, subject='via procmail')
                data = self.wait_file(target, 'via procmail')
                self.assertTrue(data.startswith(b'From '), data[:80])
                self.assertEqual(os.stat(target).st_uid, user.pw_uid)
                self.assertIsNotNone(srv.wait_for_log(
                    r'to=<%s\+pm@localhost>, relay=local, .*status=sent '
                    r'\(delivered to command: ' % user.pw_name))
        finally:
            os.unlink(rc)
            if os.path.exists(target):
                os.unlink(target)

    def test_root_without_an_alias_gets_its_spool_mailbox(self):
        # /root is root-only: default_privs cannot read /root/.forward, which is then taken
        # as absent (it was a deferral for ever), and root's mbox is written as nobody.
        if os.path.exists('/root/.forward'):
            self.skipTest('this machine has a /root/.forward')
        with self.server() as srv:
            self.send(srv, 'root@localhost', subject='for root')
            mbox = os.path.join(srv.spool_dir, 'root')
            self.wait_file(mbox, 'for root')
            self.assertEqual(os.stat(mbox).st_uid, self.nobody.pw_uid)
            self.assertIsNotNone(srv.wait_for_log(
                r'to=<root@localhost>, relay=local, .*status=sent \(delivered to mailbox\)'))

    def test_dev_null_alias_discards(self):
        with self.server() as srv:
            self.send(srv, 'devnull@localhost')
            self.assertIsNotNone(srv.wait_for_log(
                r'to=<devnull@localhost>, relay=local, .*dsn=2.0.0, status=sent '
                r'\(delivered to file: /dev/null\)'))

    def test_luser_relay_is_an_address(self):
        relay_user = self.pw[1]
        with self.server(local_recipient_maps='', luser_relay=relay_user.pw_name) as srv:
            self.send(srv, 'nosuchuser-abc@localhost', subject='for the relay')
            self.wait_file(os.path.join(srv.spool_dir, relay_user.pw_name), 'for the relay')
            self.assertIsNotNone(srv.wait_for_log(
                r'to=<%s@localhost>, orig_to=<nosuchuser-abc@localhost>, relay=local, '
                r'.*status=sent \(delivered to mailbox\)' % relay_user.pw_name))
        # Not an alias target: `error:4.7.1 held` would defer; as an address it is an
        # unknown user again, a loop that bounces.
        with self.server(local_recipient_maps='', luser_relay='error:4.7.1 held') as srv:
            self.send(srv, 'nosuchuser-def@localhost')
            self.assertIsNotNone(srv.wait_for_log(
                r'to=<.*>, orig_to=<nosuchuser-def@localhost>, relay=local, .*status=bounced'))
            self.assertIsNone(srv.wait_for_log(r'status=deferred \(held\)', timeout=0.5))

    def test_mail_owner_as_a_recipient_gets_default_privs(self):
        owner = harness.default_mail_owner()
        if not owner:
            self.skipTest('no mail_owner user on this machine')
        with self.server() as srv:
            self.send(srv, '%s@localhost' % owner, subject='for mail_owner')
            mbox = os.path.join(srv.spool_dir, owner)
            self.wait_file(mbox, 'for mail_owner')
            # Never written as mail_owner (the daemons' user): as default_privs, like root.
            self.assertEqual(os.stat(mbox).st_uid, self.nobody.pw_uid)


if __name__ == '__main__':
    unittest.main()
