# Debian's postgrey (a greylisting policy server for Postfix's check_policy_service) as a real
# peer for the policy client: started by the test on 127.0.0.1 and a free port, or on a UNIX
# socket path the test gives, with its database in a temporary --dbdir, empty whitelists (the
# system's /etc/postgrey lists are not read), no auto-whitelisting and a short --delay. It
# runs as the test's own user; a system postgrey service, if any, is never used.
#
#   with Postgrey(delay=2) as grey:
#       run `estafeta policy query grey.service` ...
#
# Stops postgrey by pid (harness.stop_process: SIGTERM, then SIGKILL) and removes its temp dir.
# Standard library only, besides the tests' own harness and tools.
import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time

import harness
from harness import free_port
from tools import require

TIMEOUT = 30.0  # an upper bound for start-up; never asserted as speed


class Postgrey:
    """postgrey greylisting for `delay` seconds. `unix_path`: listen on that UNIX socket
    instead of TCP. `service` is the check_policy_service name that reaches it."""

    def __init__(self, delay=2, unix_path=None):
        self.delay = delay
        self.unix_path = unix_path
        self.dir = None
        self.port = None
        self.process = None

    @property
    def service(self):
        if self.unix_path:
            return 'unix:' + self.unix_path
        return 'inet:127.0.0.1:%d' % self.port

    def _listening(self):
        try:
            if self.unix_path:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.settimeout(1.0)
                    s.connect(self.unix_path)
            else:
                with socket.create_connection(('127.0.0.1', self.port), timeout=1.0):
                    pass
            return True
        except OSError:
            return False

    def _args(self, postgrey):
        whitelist_clients = os.path.join(self.dir, 'whitelist_clients')
        whitelist_recipients = os.path.join(self.dir, 'whitelist_recipients')
        for path in (whitelist_clients, whitelist_recipients):
            open(path, 'w').close()
        listen = ('--unix=' + self.unix_path if self.unix_path
                  else '--inet=127.0.0.1:%d' % self.port)
        return [postgrey, listen, '--dbdir=' + os.path.join(self.dir, 'db'),
                '--delay=%d' % self.delay,
                '--user=' + pwd.getpwuid(os.geteuid()).pw_name,
                '--group=' + grp.getgrgid(os.getegid()).gr_name,
                '--whitelist-clients=' + whitelist_clients,
                '--whitelist-recipients=' + whitelist_recipients,
                '--auto-whitelist-clients=0', '--hostname=postgrey.test']

    def __enter__(self):
        postgrey = require('postgrey')
        self.dir = tempfile.mkdtemp(prefix='estafeta-postgrey-')
        os.mkdir(os.path.join(self.dir, 'db'))
        try:
            for _ in range(5):
                if not self.unix_path:
                    self.port = free_port()
                with open(os.path.join(self.dir, 'postgrey.log'), 'ab') as log:
                    self.process = subprocess.Popen(self._args(postgrey), stdout=log,
                                                    stderr=log, stdin=subprocess.DEVNULL)
                deadline = time.monotonic() + TIMEOUT
                while time.monotonic() < deadline and self.process.poll() is None:
                    if self._listening():
                        return self
                    time.sleep(0.1)
                if self.process.poll() is None:
                    raise RuntimeError('postgrey did not listen within %d s:\n%s'
                                       % (TIMEOUT, self.log()))
                self.process.wait()  # exited: most likely the port was taken meanwhile
                if self.unix_path:
                    break
            raise RuntimeError('postgrey did not start:\n%s' % self.log())
        except BaseException:
            self._stop()
            raise

    def log(self):
        """What postgrey wrote (one line per decision: "action=greylist, reason=new, ...")."""
        try:
            with open(os.path.join(self.dir, 'postgrey.log'), errors='replace') as f:
                return f.read()
        except OSError:
            return ''

    def stop(self):
        """Stops postgrey now (the temp dir stays until the `with` ends)."""
        if self.process is not None:
            harness.stop_process(self.process, TIMEOUT)

    def _stop(self):
        self.stop()
        self.process = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __exit__(self, *exc):
        self._stop()
        return False
