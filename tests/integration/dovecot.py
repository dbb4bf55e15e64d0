# A private Dovecot authentication server for integration tests: Debian's dovecot (package
# dovecot-core) with a minimal dovecot.conf in a temporary directory: no mail protocols and
# no network listener (`protocols =`), a passwd-file of test users with plain-text
# passwords, and the auth service's client socket (Dovecot's auth protocol, what Postfix's
# smtpd_sasl_type = dovecot talks to) at DIR/auth, mode 0666 so that Estafeta's mail_owner
# can connect. base_dir, state_dir and the log are in DIR too: the system's Dovecot (if any)
# is never touched.
#
#   with DovecotAuth(users={'alice': 'secret'}) as dovecot:
#       main['smtpd_sasl_path'] = dovecot.socket_path
#
# Runs `dovecot -F -c DIR/dovecot.conf` (as root it uses Debian's dovecot/dovenull users; as
# another user, that user), waits until the socket answers a handshake, and stops the master
# by its pid (SIGTERM, then SIGKILL for it and any child it left). Standard library only.
import os
import pwd
import grp
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import harness
from tools import require

TIMEOUT = 30.0


class DovecotAuth:
    def __init__(self, users=None, mechanisms='plain login', extra=''):
        self.users = dict(users or {'alice': 'secret'})
        self.mechanisms = mechanisms
        self.extra = extra
        self.dir = None
        self.proc = None
        self._log = None

    @property
    def socket_path(self):
        return os.path.join(self.dir, 'auth')

    @property
    def log_path(self):
        return os.path.join(self.dir, 'dovecot.log')

    def config_text(self):
        d = self.dir
        lines = [
            '# written by tests/integration/dovecot.py',
            'base_dir = %s/run' % d,
            'state_dir = %s/state' % d,
            'log_path = %s' % self.log_path,
            'protocols =',
            'listen = 127.0.0.1',
            'ssl = no',
            'disable_plaintext_auth = no',
            'auth_mechanisms = %s' % self.mechanisms,
            # Failed attempts are answered at once (the default waits 2 s).
            'auth_failure_delay = 0',
            'passdb {', '  driver = passwd-file', '  args = %s/passwd' % d, '}',
            'userdb {', '  driver = static',
            '  args = uid=65534 gid=65534 home=%s/home' % d, '}',
            'service auth {',
            '  unix_listener %s {' % self.socket_path, '    mode = 0666', '  }',
            '}',
        ]
        if os.geteuid() != 0:
            user = pwd.getpwuid(os.geteuid()).pw_name
            group = grp.getgrgid(os.getegid()).gr_name
            lines += ['default_internal_user = %s' % user, 'default_login_user = %s' % user,
                      'default_internal_group = %s' % group]
        return '\n'.join(lines) + '\n' + self.extra

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix='estafeta-itest-dovecot-')
        os.chmod(self.dir, 0o755)  # Dovecot's auth process and mail_owner reach the socket
        try:
            with open(os.path.join(self.dir, 'passwd'), 'w') as f:
                for user, password in self.users.items():
                    f.write('%s:{PLAIN}%s\n' % (user, password))
            os.chmod(os.path.join(self.dir, 'passwd'), 0o644)
            with open(os.path.join(self.dir, 'dovecot.conf'), 'w') as f:
                f.write(self.config_text())
            self.start()
        except BaseException:
            self.stop()
            shutil.rmtree(self.dir, ignore_errors=True)
            raise
        return self

    def __exit__(self, *exc):
        self.stop()
        if exc[0] is not None:
            print('--- dovecot log ---\n' + self.log())
        shutil.rmtree(self.dir, ignore_errors=True)

    def start(self):
        self._log = open(os.path.join(self.dir, 'dovecot.out'), 'ab')
        self.proc = subprocess.Popen(
            [require('dovecot'), '-F', '-c', os.path.join(self.dir, 'dovecot.conf')],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise AssertionError('dovecot exited with status %s: %s'
                                     % (self.proc.returncode, self.output()))
            if self.handshake() is not None:
                return
            if time.monotonic() > deadline:
                raise AssertionError('dovecot auth socket not ready: %s' % self.output())
            time.sleep(0.1)

    def handshake(self):
        """The server's handshake lines up to DONE, or None when the socket does not answer."""
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(5)
                s.connect(self.socket_path)
                s.sendall(b'VERSION\t1\t1\nCPID\t%d\n' % os.getpid())
                data = b''
                while b'DONE\n' not in data:
                    chunk = s.recv(4096)
                    if not chunk:
                        return None
                    data += chunk
                return data.decode()
        except OSError:
            return None

    def stop(self):
        if self.proc is None:
            return
        pid = self.proc.pid
        children = harness.descendants(pid)
        harness.stop_process(self.proc, TIMEOUT)
        for child in children:
            try:
                os.kill(child, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc = None
        if self._log:
            self._log.close()
            self._log = None

    def output(self):
        try:
            with open(os.path.join(self.dir, 'dovecot.out'), 'rb') as f:
                return f.read().decode('utf-8', 'replace') + self.log()
        except OSError:
            return self.log()

    def log(self):
        try:
            with open(self.log_path, 'rb') as f:
                return f.read().decode('utf-8', 'replace')
        except OSError:
            return ''
