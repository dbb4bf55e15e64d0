# A private Postfix 3.7 instance (Debian's package) on loopback, for differential tests: its
# own config, queue, data and log directories under a temporary directory, listening on
# 127.0.0.1 and a free port, never touching the system's mail configuration. What it takes in a
# container is in ../shared/peers/POSTFIX-PEER.md (chroot off, set-permissions, start under
# script(1) to see errors, a log file instead of syslog, no DNS). Needs root.
import os
import re
import shutil
import subprocess
import tempfile
import time

import harness
from harness import free_port
from tools import require


def make_peer_certificate(directory, name):
    """A self-signed certificate for `name` that is its own CA, readable by the peer's
    smtpd; returns (cert_path, key_path)."""
    cert = os.path.join(directory, 'peer-cert.pem')
    key = os.path.join(directory, 'peer-key.pem')
    subprocess.run([require('openssl'), 'req', '-x509', '-newkey', 'rsa:2048', '-nodes',
                    '-subj', '/CN=%s' % name, '-days', '1',
                    '-addext', 'subjectAltName=DNS:%s' % name,
                    '-addext', 'basicConstraints=critical,CA:TRUE',
                    '-keyout', key, '-out', cert],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=harness.TIMEOUT)
    os.chmod(cert, 0o644)
    os.chmod(key, 0o644)
    return cert, key


class PostfixPeer:
    """with PostfixPeer({'mydestination': 'localhost'}) as pf: pf.port ... Settings are
    applied with `postconf -e` after the ones the peer needs; "{dir}" in a value is the
    peer's directory, where `files` (name -> text) are written first (tables)."""

    def __init__(self, settings=None, files=None):
        self.settings = dict(settings or {})
        self.files = dict(files or {})
        self.dir = None
        self.port = None
        self._started = False

    @property
    def conf(self):
        return os.path.join(self.dir, 'etc')

    @property
    def spool(self):
        return os.path.join(self.dir, 'spool')

    def file(self, name, text):
        """Writes `text` to a file under the peer's directory; returns its path."""
        path = os.path.join(self.dir, name)
        os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        with open(path, 'w') as f:
            f.write(text)
        os.chmod(path, 0o644)
        return path

    def log(self):
        """The peer's maillog_file so far."""
        try:
            with open(os.path.join(self.dir, 'maillog'), errors='replace') as f:
                return f.read()
        except FileNotFoundError:
            return ''

    def wait_for_log(self, pattern, start=0, timeout=harness.TIMEOUT):
        """Polls the peer's log from offset `start` (a len(log()) taken before) for a regex
        (multiline); returns the match or None."""
        return harness.wait_until(lambda: re.search(pattern, self.log()[start:], re.M), timeout)

    def __enter__(self):
        postconf = require('postconf')
        require('postfix')
        self.dir = tempfile.mkdtemp(prefix='estafeta-postfix-')
        try:
            for d in (self.conf, self.spool, os.path.join(self.dir, 'data')):
                os.makedirs(d)
            for d in (self.dir, self.conf):
                os.chmod(d, 0o755)
            shutil.copy('/etc/postfix/master.cf', os.path.join(self.conf, 'master.cf'))
            open(os.path.join(self.conf, 'main.cf'), 'w').close()
            self.port = free_port()
            base = {
                'compatibility_level': '3.6',
                'queue_directory': self.spool,
                'data_directory': os.path.join(self.dir, 'data'),
                'meta_directory': '/etc/postfix',
                'mail_owner': 'postfix', 'setgid_group': 'postdrop',
                'inet_interfaces': '127.0.0.1', 'inet_protocols': 'ipv4',
                'smtp_dns_support_level': 'disabled', 'smtpd_peername_lookup': 'no',
                'maillog_file': os.path.join(self.dir, 'maillog'),
                'maillog_file_prefixes': self.dir,
                'alias_maps': '', 'alias_database': '', 'biff': 'no',
            }
            for name, text in self.files.items():
                self.file(name, text)
            base.update({k: v.replace('{dir}', self.dir) for k, v in self.settings.items()})
            subprocess.run([postconf, '-c', self.conf, '-e']
                           + ['%s = %s' % kv for kv in base.items()], check=True)
            subprocess.run([postconf, '-c', self.conf, '-F', '*/*/chroot = n'], check=True)
            subprocess.run([postconf, '-c', self.conf, '-MX', 'smtp/inet'], check=True)
            subprocess.run([postconf, '-c', self.conf, '-Me',
                            '127.0.0.1:%d/inet = 127.0.0.1:%d inet n - n - - smtpd'
                            % (self.port, self.port)], check=True)
            subprocess.run(['postfix', '-c', self.conf, 'set-permissions'],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            started = subprocess.run(['script', '-qec', 'postfix -c %s start' % self.conf,
                                      '/dev/null'], capture_output=True, text=True)
            if started.returncode != 0:
                raise AssertionError('postfix did not start: %s' % started.stdout)
            self._started = True
        except BaseException:
            self._cleanup()
            raise
        return self

    def _master_pid(self):
        try:
            with open(os.path.join(self.spool, 'pid', 'master.pid')) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def _cleanup(self):
        if self._started:
            pid = self._master_pid()
            subprocess.run(['postfix', '-c', self.conf, 'stop'],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.time() + 30
            while pid and time.time() < deadline and os.path.exists('/proc/%d' % pid):
                time.sleep(0.1)
            self._started = False
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __exit__(self, *exc):
        self._cleanup()
