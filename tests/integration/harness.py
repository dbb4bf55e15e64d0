# Integration-test harness: runs the real estafeta daemon in a private temp dir on a free
# loopback port, and talks SMTP to it over raw sockets or pipes.
#
# Contract: EstafetaServer is a context manager; entering creates a 0755 temp dir with
# main.cf/master.cf, starts `$ESTAFETA_BIN -c DIR start-fg` (stdout+stderr to DIR/server.log)
# and waits (at most 30 s, never a performance assertion) for the banner of every listener.
# Leaving it stops only processes it started (SIGTERM, then SIGKILL), prints the server log
# if the block raised, and removes the dir. Uses Python's standard library only.
import os
import pwd
import random
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

import tools

TIMEOUT = 30.0  # generous upper bound for anything we wait for; never asserted as speed
HOSTNAME = 'mx.estafeta.test'


def estafeta_bin():
    path = os.environ.get('ESTAFETA_BIN')
    if not path:
        build = os.environ.get('ESTAFETA_BUILD_DIR', os.path.join(
            os.path.dirname(os.path.abspath(__file__)), '..', '..', 'build'))
        path = os.path.join(build, 'estafeta')
    return os.path.abspath(path)


def is_root():
    return os.geteuid() == 0


def demo_owner():
    """The uid and gid of the demo's virtual mailboxes: ours, or nobody/nogroup as root."""
    uid, gid = os.geteuid(), os.getegid()
    return (65534 if uid == 0 else uid), (65534 if gid == 0 else gid)


def demo_virtual_settings(base):
    """The settings of the embedded default main.cf (config::embedded_main_cf), with `base`
    as virtual_mailbox_base."""
    uid, gid = demo_owner()
    settings = {
        'mydestination': '',
        'virtual_mailbox_domains': '$myhostname, localhost.$mydomain, localhost',
        'virtual_mailbox_base': base,
        'virtual_mailbox_maps':
            r'pcre:{{/^([^.\/[:cntrl:] @][^\/[:cntrl:] @]{0,63})@[^@]+$$/ $${1}/Maildir/}}',
        'virtual_uid_maps': 'static:%d' % uid,
        'virtual_gid_maps': 'static:%d' % gid,
    }
    if uid < 100:
        settings['virtual_minimum_uid'] = str(uid)
    return settings


def default_mail_owner():
    """The mail_owner tests configure: Estafeta's default "estafeta" if that user exists."""
    name = os.environ.get('ESTAFETA_TEST_MAIL_OWNER')
    if name:
        return name
    try:
        pwd.getpwnam('estafeta')
        return 'estafeta'
    except KeyError:
        return 'nobody' if is_root() else None


def free_port(family=socket.AF_INET, host='127.0.0.1'):
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def have_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(('::1', 0))
        return True
    except OSError:
        return False


# ---------------------------------------------------------------- process helpers

def _ppid_of(pid):
    try:
        with open(f'/proc/{pid}/stat') as f:
            stat = f.read()
    except OSError:
        return None
    # The comm field may contain spaces and parentheses: split after the last ')'.
    fields = stat[stat.rfind(')') + 2:].split()
    return int(fields[1])


def descendants(pid):
    """All live descendants of pid, found via /proc/*/stat."""
    children = {}
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            ppid = _ppid_of(int(entry))
            if ppid is not None:
                children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def pid_alive(pid):
    try:
        with open(f'/proc/{pid}/stat') as f:
            state = f.read()
        return state[state.rfind(')') + 2] != 'Z'
    except OSError:
        return False


def proc_status(pid):
    fields = {}
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            key, _, value = line.partition(':')
            fields[key] = value.strip()
    return fields


def stop_process(proc, timeout=TIMEOUT):
    """Stops a process the test started (a subprocess.Popen), by its pid: SIGTERM, then
    SIGKILL if it has not exited within `timeout` seconds; waits for it and returns its exit
    status. A process that has already exited is only reaped. Its children are the caller's
    business (see kill_tree and descendants)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
    return proc.returncode


def kill_tree(pid, sig):
    for p in [pid] + descendants(pid):
        try:
            os.kill(p, sig)
        except ProcessLookupError:
            pass


def wait_gone(pids, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(pid_alive(p) for p in pids):
            return True
        time.sleep(0.05)
    return False


# ---------------------------------------------------------------- SMTP conversations

class Reply:
    def __init__(self, lines):
        self.lines = lines                  # text lines without CRLF
        self.code = int(lines[-1][:3])
        self.text = '\n'.join(l[4:] for l in lines)

    @property
    def last(self):
        return self.lines[-1]

    def __repr__(self):
        return 'Reply(%r)' % self.lines


class Conversation:
    """A raw SMTP client over any byte stream: send bytes, read replies to a final line."""

    def __init__(self):
        self._buf = b''

    # subclasses implement _recv() -> bytes (b'' on EOF) and _send(bytes)
    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self._send(data)

    def read_line(self):
        while b'\n' not in self._buf:
            chunk = self._recv()
            if not chunk:
                raise EOFError('connection closed; partial data %r' % self._buf)
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b'\n')
        return line.rstrip(b'\r').decode('utf-8', 'replace')

    def read_reply(self):
        lines = []
        while True:
            line = self.read_line()
            lines.append(line)
            if not re.match(r'^\d{3}[ -]', line):
                raise AssertionError('malformed reply line %r' % line)
            if line[3] == ' ':
                return Reply(lines)

    def read_replies(self, n):
        return [self.read_reply() for _ in range(n)]

    def cmd(self, line):
        self.send(line.encode() + b'\r\n' if isinstance(line, str) else line + b'\r\n')
        return self.read_reply()

    def at_eof(self):
        """True when the peer closed (reads b'' or reset) with nothing left unread."""
        if self._buf:
            return False
        try:
            return self._recv() == b''
        except (ConnectionResetError, BrokenPipeError):
            return True

    def pending(self):
        return self._buf


class SocketConversation(Conversation):
    def __init__(self, host, port, family=None, timeout=TIMEOUT, tls_context=None,
                 read_banner=True, source=None):
        """source: the local address to connect from (a loopback address such as
        127.0.0.2, to be a client outside mynetworks or one with its own PTR record)."""
        super().__init__()
        if family is None:
            family = socket.AF_INET6 if ':' in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            self.sock.settimeout(timeout)
            if source is not None:
                self.sock.bind((source, 0))
            self.sock.connect((host, port))
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if tls_context is not None:
                self.sock = tls_context.wrap_socket(self.sock, server_hostname='localhost')
            self.banner = self.read_reply() if read_banner else None
        except BaseException:
            self.sock.close()
            raise

    def _recv(self):
        return self.sock.recv(65536)

    def _send(self, data):
        self.sock.sendall(data)

    def starttls(self, context):
        """Wraps the socket after a 220 to STARTTLS; refuses if plaintext is buffered."""
        if self._buf:
            raise AssertionError('server sent data after the STARTTLS reply: %r' % self._buf)
        self.sock = context.wrap_socket(self.sock, server_hostname='localhost')

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class PipeConversation(Conversation):
    """An SMTP session with a subprocess on stdin/stdout (inetd mode)."""

    def __init__(self, argv, env=None):
        super().__init__()
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env)
        self.banner = self.read_reply()

    def _recv(self):
        return os.read(self.proc.stdout.fileno(), 65536)

    def _send(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def finish(self):
        """Closes stdin and waits (bounded); returns (exit status, stderr text)."""
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        self.proc.stdin = None  # communicate() must not flush the closed pipe
        try:
            _, err = self.proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return self.proc.returncode, err.decode('utf-8', 'replace')


# Fast retries for the tests: the backoff and the deferred scan in seconds.
FAST_RETRIES = {'minimal_backoff_time': '1s', 'maximal_backoff_time': '2s',
                'queue_run_delay': '1s'}


def wait_until(predicate, timeout=None):
    """Polls a condition every 0.1 s, for at most `timeout` seconds (TIMEOUT by default);
    returns its last value."""
    deadline = time.monotonic() + (TIMEOUT if timeout is None else timeout)
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def sorted_names(path):
    """The names in a directory, sorted; [] when it does not exist."""
    try:
        return sorted(os.listdir(path))
    except FileNotFoundError:
        return []


def client_tls_context(cafile=None):
    ctx = ssl.create_default_context(cafile=cafile) if cafile else ssl._create_unverified_context()
    if cafile:
        ctx.check_hostname = True
    return ctx


def make_certificate(directory):
    """Self-signed localhost certificate; returns (cert_path, key_path)."""
    cert = os.path.join(directory, 'cert.pem')
    key = os.path.join(directory, 'key.pem')
    subprocess.run([tools.require('openssl'), 'req', '-x509', '-newkey', 'rsa:2048', '-nodes',
                    '-subj', '/CN=localhost', '-days', '1',
                    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
                    '-keyout', key, '-out', cert],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=TIMEOUT)
    return cert, key


def simple_message(subject='test', body='Hello from the integration tests.', msgid=None,
                   sender='sender@example.org', to='rcpt@localhost'):
    msgid = msgid or '<%d.%d@itest.example>' % (time.time_ns(), random.getrandbits(32))
    return ('From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: %s\r\n\r\n%s\r\n'
            % (sender, to, subject, msgid, body)), msgid


# ---------------------------------------------------------------- the server

class EstafetaServer:
    """One private estafeta instance. Options:
       main: dict of extra main.cf settings (appended after the defaults);
       main_text: raw text appended to main.cf (for tests of line numbers);
       listeners: list of dicts {family: 'inet'|'inet6', tls: bool, options: {name: value},
                  maxproc: '-'|N}; the first is `port`, all are in `ports`;
       start: whether to start start-fg on enter."""

    def __init__(self, main=None, main_text='', listeners=None, start=True, wait_ready=True):
        self.main = dict(main or {})
        self.main_text = main_text
        self.listener_specs = listeners or [{}]
        self.auto_start = start
        self.wait_ready = wait_ready
        self.proc = None
        self.dir = None
        self._log_handle = None
        # More master.cf rows (e.g. the smtp agent's "smtp unix - - n - - smtp").
        self.master_extra = []

    # -- paths
    @property
    def spool(self):
        return os.path.join(self.dir, 'spool')

    @property
    def mail(self):
        return os.path.join(self.dir, 'mail')

    @property
    def log_path(self):
        return os.path.join(self.dir, 'server.log')

    def maildir(self, localpart):
        return os.path.join(self.mail, localpart, 'Maildir')

    # -- set-up
    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix='estafeta-itest-')
        os.chmod(self.dir, 0o755)
        try:
            self.listeners = []
            for spec in self.listener_specs:
                fam = spec.get('family', 'inet')
                host = '::1' if fam == 'inet6' else '127.0.0.1'
                port = free_port(socket.AF_INET6 if fam == 'inet6' else socket.AF_INET, host)
                self.listeners.append(dict(spec, host=host, port=port))
            self.port = self.listeners[0]['port']
            self.host = self.listeners[0]['host']
            self.ports = [l['port'] for l in self.listeners]
            self.write_config()
            if self.auto_start:
                self.start()
        except BaseException:
            self.dump_log()
            self._cleanup()
            raise
        return self

    def main_cf_text(self):
        settings = {
            'queue_directory': self.spool,
            'mail_spool_directory': self.mail,
            'myhostname': HOSTNAME,
            'mydomain': 'estafeta.test',
            # As the embedded default main.cf: any local part is a mailbox (tests use
            # made-up users); tests of recipient validation set their own tables.
            'local_recipient_maps': '',
            # No test asks the machine's nameserver: a test of client names sets
            # smtpd_peername_lookup = yes with resolver_nameservers at its own dnsmasq.
            'smtpd_peername_lookup': 'no',
        }
        if 'mydestination' not in self.main and 'local_recipient_maps' not in self.main:
            # As the embedded default main.cf: the local domains are virtual mailbox domains
            # whose every safe local part has <mail>/<localpart>/Maildir/. A test that sets
            # mydestination or local_recipient_maps gets local delivery (into the same place).
            settings.update(demo_virtual_settings(self.mail))
        owner = default_mail_owner()
        if owner and owner != 'estafeta':
            settings['mail_owner'] = owner
        settings.update(self.main)
        text = '# written by tests/integration/harness.py\n'
        text += ''.join('%s = %s\n' % (k, v) for k, v in settings.items())
        return text + self.main_text

    def master_cf_text(self):
        lines = ['# written by tests/integration/harness.py']
        for l in self.listeners:
            addr = '[::1]' if l['host'] == '::1' else l['host']
            opts = dict(l.get('options', {}))
            if l.get('tls'):
                opts['smtpd_tls_wrappermode'] = 'yes'
            line = '%s:%d inet n - n - %s smtpd' % (addr, l['port'], l.get('maxproc', '-'))
            line += ''.join(' -o %s=%s' % kv for kv in opts.items())
            lines.append(line)
        # As in Postfix's master.cf: local submission (sendmail) goes through pickup, and
        # users who cannot read the queue list it through showq.
        lines.append('pickup unix n - n 60 1 pickup')
        lines.append('showq unix n - n - - showq')
        lines.extend(self.master_extra)
        return '\n'.join(lines) + '\n'

    def write_config(self):
        # Each file replaced whole (written aside, then renamed): a service the running
        # server starts meanwhile must never read a half-written main.cf (an empty one means
        # Postfix's defaults, e.g. the relative queue_directory var/spool).
        for name, text in (('main.cf', self.main_cf_text()),
                           ('master.cf', self.master_cf_text())):
            path = os.path.join(self.dir, name)
            with open(path + '.new', 'w') as f:
                f.write(text)
            os.replace(path + '.new', path)

    def start(self):
        """Starts start-fg and waits for every listener's banner (at most 30 s)."""
        self._log_handle = open(self.log_path, 'ab')
        # Its own process group, so that kill_all reaches every process at once.
        self.proc = subprocess.Popen([estafeta_bin(), '-c', self.dir, 'start-fg'],
                                     stdout=self._log_handle, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        if self.wait_ready:
            for l in self.listeners:
                self.wait_banner(l)

    def wait_banner(self, listener):
        deadline = time.monotonic() + TIMEOUT
        last_error = None
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError('estafeta exited with status %s before its banner'
                                     % self.proc.returncode)
            try:
                ctx = client_tls_context() if listener.get('tls') else None
                with SocketConversation(listener['host'], listener['port'], timeout=5,
                                        tls_context=ctx) as c:
                    if c.banner.code == 220:
                        # Finish the session cleanly so it no longer counts against limits.
                        try:
                            c.cmd('QUIT')
                            c.at_eof()
                        except (OSError, EOFError):
                            pass
                        return
                    last_error = c.banner
            except (OSError, EOFError, ssl.SSLError) as e:
                last_error = e
            time.sleep(0.1)
        raise AssertionError('no banner on %s:%d within %ds: %r'
                             % (listener['host'], listener['port'], TIMEOUT, last_error))

    # -- running state
    def log(self):
        try:
            with open(self.log_path, 'rb') as f:
                return f.read().decode('utf-8', 'replace')
        except OSError:
            return ''

    def wait_for_log(self, pattern, timeout=TIMEOUT):
        """Polls the log for a regex (multiline); returns the match or None."""
        deadline = time.monotonic() + timeout
        while True:
            m = re.search(pattern, self.log(), re.M)
            if m or time.monotonic() > deadline:
                return m
            time.sleep(0.1)

    def messages(self, localpart):
        """Contents (bytes) of every file in the Maildir new/ of localpart, sorted by name."""
        new = os.path.join(self.maildir(localpart), 'new')
        try:
            names = sorted(os.listdir(new))
        except FileNotFoundError:
            return []
        out = []
        for n in names:
            with open(os.path.join(new, n), 'rb') as f:
                out.append(f.read())
        return out

    def wait_for_delivery(self, localpart, count=1, timeout=TIMEOUT):
        """Polls (at most 30 s) until localpart's new/ holds >= count messages; returns them."""
        deadline = time.monotonic() + timeout
        while True:
            msgs = self.messages(localpart)
            if len(msgs) >= count or time.monotonic() > deadline:
                return msgs
            time.sleep(0.1)

    def connect(self, listener=0, **kw):
        l = self.listeners[listener]
        return SocketConversation(l['host'], l['port'], **kw)

    def children(self):
        return descendants(self.proc.pid) if self.proc else []

    def kill_all(self):
        """SIGKILL the supervisor we started and all its descendants (crash simulation)."""
        if self.proc is None:
            return
        pids = [self.proc.pid] + descendants(self.proc.pid)
        # Every process listed (a command delivery runs in a session of its own), then the
        # whole process group at once: a process forked after the listing would escape a
        # kill one by one (and, e.g., hold a mailbox lock past the restart).
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        wait_gone(pids, TIMEOUT)
        self.proc = None
        self._close_log()

    def stop(self):
        """SIGTERM to the supervisor; SIGKILL to it and its children if still alive."""
        if self.proc is None:
            return None
        pids = [self.proc.pid] + descendants(self.proc.pid)
        try:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
        if not wait_gone(pids, 5):
            for p in pids:  # the supervisor may be gone already: kill what we listed
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.proc.wait()
            wait_gone(pids, TIMEOUT)
        status = self.proc.returncode
        self.proc = None
        self._close_log()
        return status

    def _close_log(self):
        if self._log_handle:
            self._log_handle.close()
            self._log_handle = None

    def dump_log(self):
        text = self.log()
        maillog = self.main.get('maillog_file')
        if maillog and os.path.exists(maillog):
            with open(maillog, 'rb') as f:
                text += '----- maillog_file %s -----\n' % maillog
                text += f.read().decode('utf-8', 'replace')
        sys.stderr.write('\n----- estafeta log (%s) -----\n%s----- end of log -----\n'
                         % (self.log_path, text))

    def _cleanup(self):
        try:
            self.stop()
        finally:
            if self.dir and os.environ.get('ESTAFETA_KEEP_TEST_DIRS') != '1':
                shutil.rmtree(self.dir, ignore_errors=True)

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.dump_log()
        self._cleanup()
        return False


# ---------------------------------------------------------------- common assertions

ENHANCED = re.compile(r'^\d{3}[ -]\d\.\d{1,3}\.\d{1,3}( |$)')


def assert_enhanced(test, reply):
    for line in reply.lines:
        test.assertRegex(line, ENHANCED, 'reply without RFC 3463 code: %r' % reply.lines)


def ehlo_keywords(reply):
    """EHLO reply -> {KEYWORD: params string} (first line is the greeting)."""
    out = {}
    for line in reply.lines[1:]:
        kw, _, params = line[4:].partition(' ')
        out[kw.upper()] = params
    return out
