# Local submission against the real daemon (docs/local-submission.md): `sendmail` as root and
# as an ordinary user (nobody), bsd-mailx's `mail -s` and a crontab-style MAILTO pipe, every
# submission option (-t with Bcc, -i/-oi and the "." line, -f/-r with local_login_sender_maps,
# -F, -N/-R/-V read back from the success notice, -B), the headers added, bare LF input, and
# the maildrop's safety: an ordinary user can neither list it nor read another's file, a
# forged or malformed drop file is moved aside with a log line while pickup keeps serving,
# and mail submitted while the daemon is down is delivered once it starts.
#
# Estafeta's sendmail runs from the test's directory (a link to the binary named sendmail);
# bsd-mailx is pointed at it by its `sendmail` variable, so the machine's own MTA is never
# touched. The user-switching tests need root (CI runs as root); they are skipped otherwise.
import email
import os
import pwd
import re
import shutil
import socket
import subprocess
import time
import unittest

import harness
import tools
from harness import EstafetaServer

# An ordinary user: neither root nor the tests' mail_owner (which may be nobody, see harness).
USER = next(u for u in ('nobody', 'daemon', 'bin') if u != harness.default_mail_owner())
UID = pwd.getpwnam(USER).pw_uid
ORIGIN = harness.HOSTNAME  # myorigin's default is $myhostname


def sendmail_path():
    return os.path.join(os.path.dirname(harness.estafeta_bin()), 'sendmail')


def user_sendmail(srv):
    """Estafeta's binary as <test dir>/bin/sendmail (argv[0] makes it sendmail), where any user
    can run it even when the checkout is not searchable by them (a clone under /root)."""
    path = os.path.join(srv.dir, 'bin', 'sendmail')
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        try:
            os.link(harness.estafeta_bin(), path)
        except OSError:
            shutil.copy(harness.estafeta_bin(), path)
        os.chmod(path, 0o755)
    return path


def run_as(srv, user, argv, stdin=b''):
    """Runs argv (argv[0] 'sendmail' means Estafeta's) as `user` (None: as we are). bsd-mailx
    finds that sendmail through its `sendmail` variable (set in a MAILRC file), so the
    machine's own /usr/sbin/sendmail is never touched."""
    env = dict(os.environ, ESTAFETA_CONFIG_DIR=srv.dir)
    sendmail = user_sendmail(srv)
    if argv[0] == 'sendmail':
        argv = [sendmail] + argv[1:]
    mailrc = os.path.join(srv.dir, 'mailrc')
    with open(mailrc, 'w') as f:
        f.write('set sendmail=%s\n' % sendmail)
    os.chmod(mailrc, 0o644)
    env['MAILRC'] = mailrc
    if user:
        argv = [tools.require('runuser'), '-u', user, '--'] + argv
    return subprocess.run(argv, input=stdin, capture_output=True, env=env,
                          timeout=harness.TIMEOUT)


def parsed(raw):
    return email.message_from_bytes(raw)


def needs_root(test):
    return unittest.skipUnless(harness.is_root(), 'switches users: needs root')(test)


class SubmissionTest(unittest.TestCase):

    def test_sendmail_as_root_dot_line_and_added_headers(self):
        with EstafetaServer() as srv:
            ran = run_as(srv, None, ['sendmail', 'bob'],
                         b'Subject: first\n\nline one\n.\nafter the dot: not sent\n')
            self.assertEqual(ran.returncode, 0, ran)
            # -bm (the default mode), -oi: the "." line is content; bare LF input becomes CRLF.
            ran = run_as(srv, None, ['sendmail', '-bm', '-oi', 'bob'],
                         b'Subject: second\n\na\n.\nb\n')
            self.assertEqual(ran.returncode, 0, ran)
            msgs = srv.wait_for_delivery('bob', 2)
            self.assertEqual(len(msgs), 2, srv.log())
            by_subject = {parsed(m)['Subject']: m for m in msgs}
            first = by_subject['first']
            self.assertIn(b'\r\n\r\nline one\r\n', first.replace(b'\n', b'\r\n')
                          if b'\r\n' not in first else first)
            self.assertNotIn(b'after the dot', first)
            self.assertIn(b'\na\n.\nb', by_subject['second'].replace(b'\r\n', b'\n'))
            message = parsed(first)
            self.assertEqual(message['From'], 'root <root@%s>' % ORIGIN)
            self.assertTrue(message['Date'])
            self.assertRegex(message['Message-Id'], r'^<\d{14}\.[0-9A-F]{18}@%s>$'
                             % re.escape(harness.HOSTNAME))
            self.assertRegex(message['Received'], r'^by %s \(Estafeta, from userid 0\)'
                             % re.escape(harness.HOSTNAME))
            self.assertEqual(message['Return-Path'], '<root@%s>' % ORIGIN)
            self.assertRegex(srv.log(), r'estafeta/pickup\[\d+\]: [0-9A-F]{18}: uid=0 '
                             r'from=<root@%s>' % re.escape(ORIGIN))

    @needs_root
    def test_ordinary_user_extract_recipients_removes_bcc(self):
        with EstafetaServer() as srv:
            ran = run_as(srv, USER, ['sendmail', '-t', '-i', '-F', 'Night Watch'],
                         b'To: Alice <alice>\nCc: carol@localhost\nBcc: dave,\n erin@localhost\n'
                         b'Subject: extract\n\nbody\n')
            self.assertEqual(ran.returncode, 0, ran)
            for who in ('alice', 'carol', 'dave', 'erin'):
                msgs = srv.wait_for_delivery(who, 1)
                self.assertEqual(len(msgs), 1, (who, srv.log()))
                m = parsed(msgs[0])
                self.assertIsNone(m['Bcc'], who)
                self.assertNotIn(b'erin@localhost\r\n', msgs[0].split(b'\r\n\r\n')[0]
                                 if who != 'erin' else b'')
                self.assertEqual(m['From'], 'Night Watch <%s@%s>' % (USER, ORIGIN))
                self.assertEqual(m['Return-Path'], '<%s@%s>' % (USER, ORIGIN))
                self.assertRegex(m['Received'], r'from userid %d\)' % UID)

    @needs_root
    def test_bsd_mailx_as_ordinary_user(self):
        tools.require('mail')
        with EstafetaServer() as srv:
            ran = run_as(srv, USER, [tools.require('mail'), '-s', 'report from mailx', 'bob'],
                         b'disk usage is fine\n')
            self.assertEqual(ran.returncode, 0, ran)
            msgs = srv.wait_for_delivery('bob', 1)
            self.assertEqual(len(msgs), 1, srv.log())
            m = parsed(msgs[0])
            self.assertEqual(m['Subject'], 'report from mailx')
            self.assertEqual(m['To'], 'bob')
            self.assertIn('%s@%s' % (USER, ORIGIN), m['From'])
            self.assertIn(b'disk usage is fine', msgs[0])

    @needs_root
    def test_crontab_mailto_pipe(self):
        # What Debian's cron runs for a job with MAILTO=alice.
        output = (b'From: root (Cron Daemon)\nTo: alice\nSubject: Cron <nobody@host> df -h\n'
                  b'MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n'
                  b'Content-Transfer-Encoding: 8bit\nX-Cron-Env: <MAILTO=alice>\n\n'
                  b'Filesystem Size Used\n/dev/sda1 10G 4G \xc3\xa9\n')
        with EstafetaServer() as srv:
            ran = run_as(srv, USER, ['sendmail', '-FCronDaemon', '-i', '-B8BITMIME', '-oem',
                                     'alice'], output)
            self.assertEqual(ran.returncode, 0, ran)
            msgs = srv.wait_for_delivery('alice', 1)
            self.assertEqual(len(msgs), 1, srv.log())
            m = parsed(msgs[0])
            self.assertEqual(m['From'], 'root (Cron Daemon)')  # kept as written
            self.assertEqual(m['X-Cron-Env'], '<MAILTO=alice>')
            self.assertIn('\xe9'.encode('utf-8'), msgs[0])
            self.assertEqual(m['Return-Path'], '<%s@%s>' % (USER, ORIGIN))

    def test_dsn_options_reach_the_success_notice(self):
        with EstafetaServer() as srv:
            ran = run_as(srv, None, ['sendmail', '-f', 'postmaster', '-N', 'success', '-R',
                                     'hdrs', '-V', 'env-42', 'bob'],
                         b'Subject: with dsn\n\nsecret body\n')
            self.assertEqual(ran.returncode, 0, ran)
            self.assertEqual(len(srv.wait_for_delivery('bob', 1)), 1, srv.log())
            notices = srv.wait_for_delivery('postmaster', 1)
            self.assertEqual(len(notices), 1, srv.log())
            notice = notices[0]
            self.assertIn(b'Original-Envelope-Id: env-42', notice)
            self.assertIn(b'Action: delivered', notice)
            self.assertIn(b'Subject: with dsn', notice)      # RET=HDRS: the headers
            self.assertNotIn(b'secret body', notice)          # and not the body

    def test_usage_and_message_errors(self):
        with EstafetaServer(main={'message_size_limit': '2000'}) as srv:
            cases = [
                (['sendmail'], b'Subject: x\n\n', 64, 'no recipients specified'),
                (['sendmail', '-t'], b'Subject: x\n\n', 64, 'no recipient addresses found'),
                (['sendmail', '-N', 'sometimes', 'bob'], b'x\n', 64, '-N sometimes'),
                (['sendmail', '-X', '/tmp/log', 'bob'], b'x\n', 64, 'illegal option -X'),
                (['sendmail', 'bob'], b'x' * 3000 + b'\n', 65, 'message_size_limit'),
            ]
            for argv, stdin, code, text in cases:
                ran = run_as(srv, None, argv, stdin)
                self.assertEqual(ran.returncode, code, (argv, ran))
                self.assertIn(text, ran.stderr.decode(), argv)
            self.assertEqual(os.listdir(os.path.join(srv.spool, 'maildrop')), [])


class SmtpOnStdinTest(unittest.TestCase):

    @needs_root
    def test_sendmail_bs_as_ordinary_user_goes_through_maildrop(self):
        with EstafetaServer() as srv:
            env = dict(os.environ, ESTAFETA_CONFIG_DIR=srv.dir)
            argv = [tools.require('runuser'), '-u', USER, '--', user_sendmail(srv), '-bs']
            conv = harness.PipeConversation(argv, env=env)
            self.assertEqual(conv.banner.code, 220, conv.banner)
            self.assertEqual(conv.cmd('EHLO workstation').code, 250)
            self.assertEqual(conv.cmd('MAIL FROM:<%s@%s>' % (USER, ORIGIN)).code, 250)
            self.assertEqual(conv.cmd('RCPT TO:<bob@localhost> NOTIFY=NEVER').code, 250)
            self.assertEqual(conv.cmd('DATA').code, 354)
            conv.send(b'Subject: over -bs\r\n\r\nhello\r\n.\r\n')
            reply = conv.read_reply()
            self.assertEqual(reply.code, 250, reply)
            self.assertIn('maildrop/', reply.last)
            self.assertEqual(conv.cmd('QUIT').code, 221)
            code, err = conv.finish()
            self.assertEqual(code, 0, err)
            msgs = srv.wait_for_delivery('bob', 1)
            self.assertEqual(len(msgs), 1, srv.log())
            m = parsed(msgs[0])
            self.assertEqual(m['Subject'], 'over -bs')
            self.assertRegex(m['Received'], r'from userid %d\)' % UID)
            self.assertEqual(m['Return-Path'], '<%s@%s>' % (USER, ORIGIN))


class QueueRunTest(unittest.TestCase):

    def deferred(self, srv, recipient):
        """Queues a message for a remote domain (deferred: no remote delivery yet)."""
        ran = run_as(srv, None, ['sendmail', recipient], b'Subject: for %s\n\nx\n'
                     % recipient.encode())
        self.assertEqual(ran.returncode, 0, ran)
        found = srv.wait_for_log(r'([0-9A-F]{18}): to=<%s>.*status=deferred' % re.escape(recipient))
        self.assertTrue(found, srv.log())
        queue_id = found.group(1)
        # Wait until qmgr has moved it to deferred/ (logged before the move).
        deadline = time.monotonic() + harness.TIMEOUT
        while not os.path.exists(os.path.join(srv.spool, 'deferred', queue_id)):
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.1)
        return queue_id

    def attempts(self, srv, queue_id):
        return len(re.findall(r'%s: to=<[^>]*>.*status=deferred' % queue_id, srv.log()))

    def test_qR_site_and_qI_id_run_only_what_they_name(self):
        with EstafetaServer() as srv:
            one = self.deferred(srv, 'bob@one.example')
            two = self.deferred(srv, 'carol@two.example')
            ran = run_as(srv, None, ['sendmail', '-qR', 'one.example'])
            self.assertEqual(ran.returncode, 0, ran)
            self.assertTrue(srv.wait_for_log(r'(?s)%s: to=<bob@one\.example>.*status=deferred'
                                             r'.*%s: to=<bob@one\.example>.*status=deferred'
                                             % (one, one)), srv.log())
            self.assertEqual(self.attempts(srv, two), 1)
            ran = run_as(srv, None, ['sendmail', '-qI' + two[:14]])  # a substring (not the pid part)
            self.assertEqual(ran.returncode, 0, ran)
            deadline = time.monotonic() + harness.TIMEOUT
            while self.attempts(srv, two) < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertEqual(self.attempts(srv, two), 2, srv.log())
            self.assertEqual(self.attempts(srv, one), 2, srv.log())

    def test_q15m_is_queue_only_and_bd_q15m_listens(self):
        with EstafetaServer(start=False) as srv:
            env = dict(os.environ, ESTAFETA_CONFIG_DIR=srv.dir)
            try:
                ran = subprocess.run([sendmail_path(), '-q15m'], capture_output=True, env=env,
                                     timeout=harness.TIMEOUT)
                self.assertEqual(ran.returncode, 0, ran)
                status = self.status(srv)
                self.assertNotIn('smtpd', status)
                self.assertIn('pickup', status)
                self.assertIn('qmgr', status)
                with self.assertRaises(OSError):
                    socket.create_connection(('127.0.0.1', srv.port), timeout=2).close()
                # Queue runs every 15 minutes: every service got the interval.
                self.assertIn('-o\0queue_run_delay=900s\0', self.cmdline(srv, 'qmgr'))
                self.assertIn('-o\0maximal_backoff_time=900s\0', self.cmdline(srv, 'qmgr'))
                # Local submission still works in queue-only mode.
                ran = run_as(srv, None, ['sendmail', 'bob'], b'Subject: queue-only\n\nx\n')
                self.assertEqual(ran.returncode, 0, ran)
                self.assertEqual(len(srv.wait_for_delivery('bob', 1)), 1)
                self.stop(srv, env)
                ran = subprocess.run([sendmail_path(), '-bd', '-q1h'], capture_output=True,
                                     env=env, timeout=harness.TIMEOUT)
                self.assertEqual(ran.returncode, 0, ran)
                self.assertIn('smtpd', self.status(srv))
                socket.create_connection(('127.0.0.1', srv.port), timeout=5).close()
                self.assertIn('-o\0queue_run_delay=3600s\0', self.cmdline(srv, 'qmgr'))
            finally:
                self.stop(srv, env)

    @staticmethod
    def status(srv):
        ran = subprocess.run([harness.estafeta_bin(), '-c', srv.dir, 'status'],
                             capture_output=True, timeout=harness.TIMEOUT)
        return ran.stdout.decode()

    @staticmethod
    def cmdline(srv, service):
        for line in QueueRunTest.status(srv).splitlines():
            words = line.split()
            if words and words[0] == service and 'pid' in words:
                pid = int(words[words.index('pid') + 1])
                with open('/proc/%d/cmdline' % pid, 'rb') as f:
                    return f.read().decode()
        return ''

    @staticmethod
    def stop(srv, env):
        pid_file = os.path.join(srv.spool, 'pid', 'master.pid')
        pid = None
        try:
            with open(pid_file) as f:
                pid = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return
        subprocess.run([harness.estafeta_bin(), '-c', srv.dir, 'stop'], capture_output=True,
                       env=env, timeout=harness.TIMEOUT)
        harness.wait_gone([pid] + harness.descendants(pid), harness.TIMEOUT)


class MaildropSafetyTest(unittest.TestCase):

    @needs_root
    def test_sender_policy_is_checked_by_sendmail_and_enforced_by_pickup(self):
        policy = 'inline:{ { %s = %s@%s, <> } }' % (USER, USER, ORIGIN)
        with EstafetaServer(main={'local_login_sender_maps': policy}) as srv:
            ran = run_as(srv, USER, ['sendmail', '-f', 'ceo@bank.example', 'bob'], b'x\n')
            self.assertEqual(ran.returncode, 77, ran)
            self.assertIn('not allowed to use sender <ceo@bank.example>', ran.stderr.decode())
            ran = run_as(srv, USER, ['sendmail', '-r', USER, 'bob'], b'Subject: own\n\nx\n')
            self.assertEqual(ran.returncode, 0, ran)
            self.assertEqual(len(srv.wait_for_delivery('bob', 1)), 1, srv.log())
            # A drop file written without sendmail's check: pickup refuses it itself.
            forged = self.drop_file(sender='ceo@bank.example', recipients=['bob'])
            name = self.write_as_user(srv, forged)
            self.assertTrue(srv.wait_for_log(
                r'warning: maildrop/%s: uid=%d \(%s\): not allowed to use sender '
                r'<ceo@bank\.example> \(local_login_sender_maps\): moved to corrupt/' %
                (name, UID, USER)), srv.log())
            time.sleep(0.5)
            self.assertEqual(len(srv.messages('bob')), 1)

    @needs_root
    def test_malformed_drop_files_are_moved_aside_and_pickup_keeps_serving(self):
        with EstafetaServer() as srv:
            pickup_pid = self.pickup_pid(srv)
            bad = [b'', b'garbage\n', self.drop_file(recipients=['bob'])[:-3],
                   self.drop_file(recipients=[])]
            names = [self.write_as_user(srv, data) for data in bad]
            for name in names:
                self.assertTrue(srv.wait_for_log(r'warning: maildrop/%s: .*moved to corrupt/'
                                                 % name), srv.log())
            self.assertEqual(self.pickup_pid(srv), pickup_pid)  # never crashed
            self.assertEqual(os.listdir(os.path.join(srv.spool, 'maildrop')), [])
            ran = run_as(srv, USER, ['sendmail', 'bob'], b'Subject: still works\n\nx\n')
            self.assertEqual(ran.returncode, 0, ran)
            self.assertEqual(len(srv.wait_for_delivery('bob', 1)), 1, srv.log())

    @needs_root
    def test_users_cannot_list_or_read_the_maildrop_and_mail_waits_for_the_daemon(self):
        with EstafetaServer() as srv:
            maildrop = os.path.join(srv.spool, 'maildrop')
            self.assertEqual(os.stat(maildrop).st_mode & 0o7777, 0o3733)
            srv.stop()
            ran = run_as(srv, None, ['sendmail', 'bob'], b'Subject: while down\n\nsecret\n')
            self.assertEqual(ran.returncode, 0, ran)
            [name] = os.listdir(maildrop)
            path = os.path.join(maildrop, name)
            self.assertEqual(os.stat(path).st_mode & 0o777, 0o640)
            for argv in (['ls', maildrop], ['cat', path], ['rm', '-f', path],
                         ['mv', path, path + 'x']):
                ran = run_as(srv, USER, argv)
                self.assertNotEqual(ran.returncode, 0, argv)
            self.assertEqual(os.listdir(maildrop), [name])
            srv.start()
            msgs = srv.wait_for_delivery('bob', 1)
            self.assertEqual(len(msgs), 1, srv.log())
            self.assertIn(b'secret', msgs[0])

    # -- helpers
    @staticmethod
    def drop_file(sender=None, recipients=(), content=b'Subject: x\n\nbody\n'):
        """A drop file in the maildrop format (src/submit/drop_file.h)."""
        def record(kind, payload):
            n, length = len(payload), b''
            while True:  # canonical unsigned LEB128
                byte = n & 0x7f
                n >>= 7
                length += bytes([byte | (0x80 if n else 0)])
                if not n:
                    break
            return kind + length + payload
        out = record(b'V', b'1')
        if sender is not None:
            out += record(b'S', sender.encode())
        for r in recipients:
            out += record(b'R', r.encode())
        out += record(b'C', content) + record(b'Z', str(len(content)).encode())
        return out

    @staticmethod
    def write_as_user(srv, data):
        """Writes a ready drop file as USER without sendmail; returns its name."""
        name = '%014X%016X' % (int(time.time() * 1e6), int.from_bytes(os.urandom(8), 'big'))
        path = os.path.join(srv.spool, 'maildrop', name)
        script = 'umask 077; cat > "$0" && chmod 640 "$0"'
        ran = run_as(srv, USER, ['/bin/sh', '-c', script, path], data)
        assert ran.returncode == 0, ran
        # Wake pickup as sendmail does (else it looks every 60 s); the server's start waits for
        # smtpd's banner only, so pickup may still be binding its socket.
        wakeup = os.path.join(srv.spool, 'public', 'pickup')
        deadline = time.monotonic() + harness.TIMEOUT
        while True:
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
                    s.sendto(b'W', wakeup)
                return name
            except (FileNotFoundError, ConnectionRefusedError):
                assert time.monotonic() < deadline, 'pickup never bound %s' % wakeup
                time.sleep(0.1)

    @staticmethod
    def pickup_pid(srv):
        deadline = time.monotonic() + harness.TIMEOUT
        while time.monotonic() < deadline:
            pid = MaildropSafetyTest.find_pickup(srv)
            if pid is not None:
                return pid
            time.sleep(0.1)
        return None

    @staticmethod
    def find_pickup(srv):
        for pid in harness.descendants(srv.proc.pid):
            try:
                with open('/proc/%d/cmdline' % pid, 'rb') as f:
                    if b'\0pickup\0' in f.read():
                        return pid
            except OSError:
                pass
        return None


if __name__ == '__main__':
    unittest.main()
