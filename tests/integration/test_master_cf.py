# Services from master.cf, against the real daemon: the default table runs smtpd, qmgr,
# local and bounce as four exec'd programs (their /proc/PID/cmdline is `estafeta -c DIR
# <command> -n NAME -t TYPE ...`, and only smtpd holds the listening socket); a master.cf
# with smtpd rows alone gets qmgr, local and bounce, with one warning; Postfix's own default
# master.cf starts, every row Estafeta does not run reported once; `estafeta status` lists the services and their
# pids; `estafeta config -M` prints the table as Postfix's `postconf -M` does; a service that
# keeps failing is restarted with a doubling delay, never in a tight loop; a reload hands the
# listener to a new smtpd while the old one finishes its session, and mail still flows.
import os
import re
import signal
import smtplib
import subprocess
import time
import unittest

import harness
import tools
from harness import EstafetaServer

POSTFIX_MASTER_CF = '/usr/share/postfix/master.cf.dist'


def estafeta(config_dir, *args):
    """Runs `estafeta -c DIR ARGS...`; returns (status, stdout, stderr)."""
    p = subprocess.run([harness.estafeta_bin(), '-c', config_dir] + list(args),
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=harness.TIMEOUT)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def cmdline(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            return [a.decode() for a in f.read().split(b'\0')[:-1]]
    except OSError:
        return None


def services(srv):
    """The supervisor's children by command: {'smtpd': [argv...], ...} -> {command: (pid, argv)}."""
    out = {}
    # Direct children only: the local and virtual agents fork a privileged spawner.
    for pid in [p for p in srv.children() if harness._ppid_of(p) == srv.proc.pid]:
        argv = cmdline(pid)
        if argv and len(argv) > 3 and argv[1] == '-c':
            out.setdefault(argv[3], []).append((pid, argv))
    return out


def status_lines(srv):
    code, out, err = estafeta(srv.dir, 'status')
    return code, out.splitlines(), err


def listening_inode(port):
    """The inode of the socket listening on 127.0.0.1:port (from /proc/net/tcp)."""
    want = '0100007F:%04X' % port
    with open('/proc/net/tcp') as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[1] == want and fields[3] == '0A':
                return fields[9]
    return None


def holders(pids, inode):
    """The pids among `pids` that have socket `inode` open."""
    out = []
    for pid in pids:
        try:
            fds = os.listdir('/proc/%d/fd' % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink('/proc/%d/fd/%s' % (pid, fd)) == 'socket:[%s]' % inode:
                    out.append(pid)
                    break
            except OSError:
                pass
    return out


def send(srv, rcpt, subject='master.cf test'):
    body, _ = harness.simple_message(subject=subject, to=rcpt)
    with smtplib.SMTP(srv.host, srv.port, timeout=harness.TIMEOUT) as s:
        s.sendmail('alice@example.org', [rcpt], body)


def default_rows(port):
    """The embedded default master.cf, on a free port instead of 2525."""
    return ('127.0.0.1:%d inet n - n - - smtpd\n'
            'pickup unix n - n 60 1 pickup\n'
            'qmgr unix n - n 300 1 qmgr\n'
            'showq unix n - n - - showq\n'
            'local unix - n n - - local\n'
            'virtual unix - n n - - virtual\n'
            'bounce unix - - n - 0 bounce\n' % port)


def write_master_cf(srv, text):
    with open(os.path.join(srv.dir, 'master.cf'), 'w') as f:
        f.write(text)


class DefaultTableTest(unittest.TestCase):

    def test_seven_exec_d_programs_and_only_smtpd_holds_the_listener(self):
        with EstafetaServer(start=False) as srv:
            write_master_cf(srv, default_rows(srv.port))
            srv.start()
            found = harness.wait_until(lambda: len(services(srv)) == 7 and services(srv))
            self.assertTrue(found, services(srv))
            binary = harness.estafeta_bin()
            prefix = [binary, '-c', srv.dir]
            self.assertEqual(sorted(found), ['bounce', 'local', 'pickup', 'qmgr', 'showq', 'smtpd', 'virtual'])
            for command in found:
                self.assertEqual(len(found[command]), 1, found)
            self.assertEqual(found['smtpd'][0][1],
                             prefix + ['smtpd', '-n', '127.0.0.1:%d' % srv.port, '-t', 'inet'])
            self.assertEqual(found['qmgr'][0][1],
                             prefix + ['qmgr', '-n', 'qmgr', '-t', 'unix', '-m', '1', '-w', '300'])
            self.assertEqual(found['pickup'][0][1],
                             prefix + ['pickup', '-n', 'pickup', '-t', 'unix', '-m', '1', '-w',
                                       '60'])
            self.assertEqual(found['showq'][0][1], prefix + ['showq', '-n', 'showq', '-t', 'unix'])
            self.assertEqual(found['local'][0][1], prefix + ['local', '-n', 'local', '-t', 'unix'])
            self.assertEqual(found['virtual'][0][1],
                             prefix + ['virtual', '-n', 'virtual', '-t', 'unix'])
            self.assertEqual(found['bounce'][0][1],
                             prefix + ['bounce', '-n', 'bounce', '-t', 'unix', '-m', '0'])
            # The supervisor binds; of its children only smtpd has the listening socket.
            inode = listening_inode(srv.port)
            self.assertIsNotNone(inode)
            pids = [srv.proc.pid] + [pid for entries in found.values() for pid, _ in entries]
            self.assertEqual(sorted(holders(pids, inode)),
                             sorted([srv.proc.pid, found['smtpd'][0][0]]))
            send(srv, 'dora@localhost')
            self.assertEqual(len(srv.wait_for_delivery('dora', 1)), 1, srv.log())
            # Nothing was added or ignored: no warning about the table.
            self.assertNotIn('master.cf', srv.log())

    def test_smtpd_rows_alone_get_qmgr_local_virtual_and_bounce_with_one_warning(self):
        with EstafetaServer() as srv:  # the harness writes smtpd rows only
            send(srv, 'erin@localhost')
            self.assertEqual(len(srv.wait_for_delivery('erin', 1)), 1, srv.log())
            warning = ('warning: %s/master.cf: no qmgr, local, virtual and bounce service: added '
                       '"qmgr unix n - n 300 1 qmgr", "local unix - n n - - local", "virtual '
                       'unix - n n - - virtual" and "bounce unix - - n - 0 bounce" (without them '
                       'mail is never delivered)' % srv.dir)
            self.assertEqual(srv.log().count(warning), 1, srv.log())
            every = ['bounce', 'local', 'pickup', 'qmgr', 'showq', 'smtpd', 'virtual']
            self.assertTrue(harness.wait_until(lambda: sorted(services(srv)) == every), services(srv))
            # A reload reads the same table: the warning is not repeated.
            srv.proc.send_signal(signal.SIGHUP)
            self.assertTrue(srv.wait_for_log(r'reload -- version'))
            self.assertTrue(harness.wait_until(lambda: sorted(services(srv)) == every))
            self.assertEqual(srv.log().count(warning), 1, srv.log())


class PostfixMasterCfTest(unittest.TestCase):

    def postfix_master_cf(self, port):
        """Debian's copy of Postfix's default master.cf, with its `smtp inet` row on a free
        loopback port instead of port 25 on every interface (the only change)."""
        if not os.path.exists(POSTFIX_MASTER_CF):
            raise tools.MissingTool('%s not found: apt-get install postfix (scripts/setup.sh '
                                    'installs it)' % POSTFIX_MASTER_CF)
        with open(POSTFIX_MASTER_CF) as f:
            lines = f.read().split('\n')
        rows = [i for i, l in enumerate(lines) if re.match(r'smtp\s+inet\s', l)]
        self.assertEqual(len(rows), 1, 'no single "smtp inet" row in %s' % POSTFIX_MASTER_CF)
        lines[rows[0]] = re.sub(r'^smtp(\s+)', '127.0.0.1:%d ' % port, lines[rows[0]])
        return '\n'.join(lines)

    def test_postfix_default_master_cf_starts_and_reports_each_row_once(self):
        with EstafetaServer(start=False) as srv:
            text = self.postfix_master_cf(srv.port)
            write_master_cf(srv, text)
            srv.start()
            self.assertTrue(harness.wait_until(
                lambda: sorted(services(srv)) == ['bounce', 'local', 'pickup', 'qmgr', 'showq', 'smtp',
                                                  'smtpd', 'virtual']),
                services(srv))
            send(srv, 'fred@localhost')
            self.assertEqual(len(srv.wait_for_delivery('fred', 1)), 1, srv.log())
            log = srv.log()
            lines = text.split('\n')

            def row(pattern):
                matches = [i + 1 for i, l in enumerate(lines) if re.match(pattern, l)]
                self.assertEqual(len(matches), 1, pattern)
                return matches[0]

            path = os.path.join(srv.dir, 'master.cf')
            expected = {
                row(r'cleanup\s'): 'service cleanup (cleanup): built into Estafeta or not '
                                   'needed, ignored',
                row(r'rewrite\s'): 'service rewrite (trivial-rewrite): built into Estafeta or '
                                   'not needed, ignored',
                row(r'tlsmgr\s'): 'service tlsmgr (tlsmgr): built into Estafeta or not needed, '
                                  'ignored',
                row(r'showq\s'): 'service showq (showq): chroot not implemented yet, runs '
                                 'without chroot',
                row(r'anvil\s'): 'service anvil (anvil): built into Estafeta or not needed, '
                                 'ignored',
                row(r'postlog\s'): 'service postlog (postlogd): built into Estafeta or not '
                                   'needed, ignored',
                row(r'pickup\s'): 'service pickup (pickup): chroot not implemented yet, runs '
                                  'without chroot',
                row(r'bounce\s'): 'service bounce (bounce): chroot not implemented yet, runs '
                                  'without chroot',
                row(r'defer\s'): 'service defer (bounce): built into the bounce service, ignored',
                row(r'trace\s'): 'service trace (bounce): built into the bounce service, ignored',
                row(r'smtp\s+unix\s'): 'service smtp (smtp): chroot not implemented yet, runs '
                                        'without chroot',
                row(r'relay\s'): 'service relay (smtp): chroot not implemented yet, runs '
                                  'without chroot',
                row(r'lmtp\s'): 'service lmtp (lmtp): not implemented yet, ignored',
                row(r'maildrop\s'): 'service maildrop (pipe): not implemented yet, ignored',
                row(r'127\.0\.0\.1:\d+\s+inet\s'):
                    'service 127.0.0.1:%d (smtpd): chroot not implemented yet, runs without '
                    'chroot' % srv.port,
            }
            for line, message in expected.items():
                want = 'estafeta/master[%d]: warning: %s:%d: %s' % (srv.proc.pid, path, line,
                                                                     message)
                self.assertEqual(log.count(want), 1, want)
            # Every row of Postfix's table (but smtpd, pickup, qmgr, bounce, showq,
            # local, virtual, smtp and relay) is reported as ignored, once.
            row_count = len([l for l in lines if re.match(r'[^\s#]', l)])
            reported = re.findall(r'warning: %s:\d+: service \S+ \(\S+\): .*ignored$'
                                  % re.escape(path), log, re.M)
            self.assertEqual(len(reported), row_count - 9, reported)
            self.assertEqual(len(set(reported)), len(reported))
            self.assertNotIn('no qmgr', log)
            # ... and not again on reload.
            srv.proc.send_signal(signal.SIGHUP)
            self.assertTrue(srv.wait_for_log(r'reload -- version'))
            send(srv, 'fred@localhost')
            self.assertEqual(len(srv.wait_for_delivery('fred', 2)), 2, srv.log())
            again = re.findall(r'warning: %s:\d+: service .*ignored$' % re.escape(path),
                               srv.log(), re.M)
            self.assertEqual(len(again), len(reported))

    def test_config_M_prints_what_postconf_M_prints(self):
        postconf = tools.require('postconf')
        with EstafetaServer(start=False) as srv:
            write_master_cf(srv, self.postfix_master_cf(srv.port))
            ours = estafeta(srv.dir, 'config', '-M')
            self.assertEqual(ours[0], 0, ours[2])
            # Postfix reads only master.cf for -M; give it an empty main.cf of its own.
            postfix_dir = os.path.join(srv.dir, 'postfix')
            os.mkdir(postfix_dir)
            open(os.path.join(postfix_dir, 'main.cf'), 'w').close()
            os.symlink(os.path.join(srv.dir, 'master.cf'), os.path.join(postfix_dir, 'master.cf'))
            theirs = subprocess.run([postconf, '-c', postfix_dir, '-M'], capture_output=True,
                                    timeout=harness.TIMEOUT)
            self.assertEqual(theirs.returncode, 0, theirs.stderr)
            self.assertEqual(ours[1], theirs.stdout.decode())
            self.assertIn('service cleanup (cleanup): built into Estafeta or not needed', ours[2])
            # One service, by name or name/type, as postconf -M smtp/unix.
            one = estafeta(srv.dir, 'config', '-M', 'smtp/unix')
            self.assertEqual(one[1], 'smtp       unix  -       -       y       -       -       '
                                     'smtp\n')

    def test_config_M_without_master_cf_prints_the_embedded_default(self):
        with EstafetaServer(start=False) as srv:
            os.unlink(os.path.join(srv.dir, 'master.cf'))
            code, out, err = estafeta(srv.dir, 'config', '-M')
            self.assertEqual(code, 0, err)
            self.assertEqual(out, '127.0.0.1:2525 inet n    -       n       -       -       smtpd\n'
                                  'pickup     unix  n       -       n       60      1       pickup\n'
                                  'qmgr       unix  n       -       n       300     1       qmgr\n'
                                  'showq      unix  n       -       n       -       -       showq\n'
                                  'local      unix  -       n       n       -       -       local\n'
                                  'virtual    unix  -       n       n       -       -       virtual\n'
                                  'smtp       unix  -       -       n       -       -       smtp\n'
                                  'relay      unix  -       -       n       -       -       smtp\n'
                                  'bounce     unix  -       -       n       -       0       bounce\n'
                                  '127.0.0.1:2587 inet n    -       n       -       -       smtpd'
                                  ' -o smtpd_tls_security_level=encrypt'
                                  ' -o smtpd_sasl_auth_enable=yes -o smtpd_tls_auth_only=yes'
                                  ' -o smtpd_relay_restrictions=permit_sasl_authenticated,reject\n'
                                  '127.0.0.1:2465 inet n    -       n       -       -       smtpd'
                                  ' -o smtpd_tls_wrappermode=yes -o smtpd_sasl_auth_enable=yes'
                                  ' -o smtpd_relay_restrictions=permit_sasl_authenticated,reject\n')
            self.assertEqual(err, '')
            # The harness's smtpd-only table: the added rows are part of the effective table.
            write_master_cf(srv, '127.0.0.1:%d inet n - n - - smtpd -o smtpd_timeout=60s\n'
                            % srv.port)
            code, out, err = estafeta(srv.dir, 'config', '-M')
            self.assertEqual(code, 0, err)
            lines = out.splitlines()
            self.assertEqual(len(lines), 5, out)
            self.assertEqual(lines[0].split(), ['127.0.0.1:%d' % srv.port, 'inet', 'n', '-', 'n',
                                                '-', '-', 'smtpd', '-o', 'smtpd_timeout=60s'])
            self.assertEqual(lines[1:], [
                'qmgr       unix  n       -       n       300     1       qmgr',
                'local      unix  -       n       n       -       -       local',
                'virtual    unix  -       n       n       -       -       virtual',
                'bounce     unix  -       -       n       -       0       bounce'])
            self.assertIn('no qmgr, local, virtual and bounce service: added', err)


class StatusTest(unittest.TestCase):

    def test_status_lists_services_and_follows_a_restart(self):
        with EstafetaServer() as srv:
            found = harness.wait_until(lambda: len(services(srv)) == 7 and services(srv))
            self.assertTrue(found)
            pid = {command: entries[0][0] for command, entries in found.items()}
            # Each service shows "(starting)" until it has reported that it serves.
            self.assertTrue(harness.wait_until(
                lambda: not any('(starting)' in l for l in status_lines(srv)[1])))
            code, lines, err = status_lines(srv)
            self.assertEqual(code, 0, err)
            self.assertIn('the Estafeta mail system is running: PID: %d' % srv.proc.pid, err)
            self.assertEqual(sorted(lines), sorted([
                'smtpd 127.0.0.1:%d pid %d' % (srv.port, pid['smtpd']),
                'pickup pid %d' % pid['pickup'],
                'qmgr pid %d' % pid['qmgr'],
                'showq pid %d' % pid['showq'],
                'local pid %d' % pid['local'],
                'virtual pid %d' % pid['virtual'],
                'bounce pid %d' % pid['bounce']]))
            # A service that dies is logged in Postfix's words and started again; status
            # follows it.
            os.kill(pid['local'], signal.SIGKILL)
            self.assertTrue(srv.wait_for_log(r'warning: process %s pid %d killed by signal 9'
                                             % (re.escape(harness.estafeta_bin()), pid['local'])),
                            srv.log())
            self.assertTrue(srv.wait_for_log(r'warning: service local \(local\): restarting in 1 s'))
            restarted = harness.wait_until(lambda: [l for l in status_lines(srv)[1]
                                            if re.fullmatch(r'local pid \d+', l) and
                                            l != 'local pid %d' % pid['local']])
            self.assertTrue(restarted, status_lines(srv))
            send(srv, 'gina@localhost')
            self.assertEqual(len(srv.wait_for_delivery('gina', 1)), 1, srv.log())
            srv.stop()
            code, lines, err = status_lines(srv)
            self.assertNotEqual(code, 0)
            self.assertEqual(lines, [])


class RestartBackoffTest(unittest.TestCase):

    def test_a_failing_service_restarts_with_a_doubling_delay(self):
        with EstafetaServer() as srv:
            # local cannot start once its queue directory is unusable (the other services
            # keep theirs): each start fails at once.
            write_master_cf(srv, srv.master_cf_text() +
                            'qmgr unix n - n 300 1 qmgr\n'
                            'local unix - n n - - local -o queue_directory=/dev/null/nowhere\n')
            srv.proc.send_signal(signal.SIGHUP)
            self.assertTrue(srv.wait_for_log(r'reload -- version'))
            restarts = r'warning: service local \(local\): restarting in (\d+) s$'
            self.assertTrue(harness.wait_until(lambda: len(re.findall(restarts, srv.log(), re.M)) >= 3),
                            srv.log())
            # Growing delays, each failure logged in Postfix's words with its reason.
            delays = [int(d) for d in re.findall(restarts, srv.log(), re.M)]
            self.assertEqual(delays[:3], [1, 2, 4], srv.log())
            exits = re.findall(r'warning: process %s pid \d+ exit status 1$'
                               % re.escape(harness.estafeta_bin()), srv.log(), re.M)
            self.assertGreaterEqual(len(exits), 3)
            self.assertIn('warning: service local (local): fatal: bind '
                          '/dev/null/nowhere/private/local: Not a directory', srv.log())
            # Never a tight loop: over the next seconds, the count grows by a few at most
            # (1 + 2 + 4 + 8 s of delays so far; a loop would log hundreds).
            before = len(re.findall(restarts, srv.log(), re.M))
            time.sleep(3)
            after = len(re.findall(restarts, srv.log(), re.M))
            self.assertLessEqual(after - before, 1, srv.log())
            self.assertLessEqual(after, 5)
            code, lines, _ = status_lines(srv)
            self.assertEqual(code, 0)
            self.assertTrue([l for l in lines if l.startswith('local not running (restart '
                                                              'pending after')] or
                            [l for l in lines if re.fullmatch(r'local pid \d+ \(starting\)', l)],
                            lines)
            # A good configuration again: local starts at once, and mail is delivered.
            srv.write_config()
            srv.proc.send_signal(signal.SIGHUP)
            self.assertTrue(harness.wait_until(lambda: [l for l in status_lines(srv)[1]
                                                if re.fullmatch(r'local pid \d+', l)]),
                            status_lines(srv))
            send(srv, 'hank@localhost')
            self.assertEqual(len(srv.wait_for_delivery('hank', 1)), 1, srv.log())


class ReloadTest(unittest.TestCase):

    def test_new_smtpd_takes_over_while_the_old_one_finishes_its_session(self):
        with EstafetaServer() as srv:
            before = harness.wait_until(lambda: len(services(srv)) == 7 and services(srv))
            self.assertTrue(before)
            old = {command: entries[0][0] for command, entries in before.items()}
            client = smtplib.SMTP(srv.host, srv.port, timeout=harness.TIMEOUT)
            try:
                client.ehlo('before.example')
                self.assertEqual(client.mail('a@example.org')[0], 250)
                srv.main['smtpd_banner'] = '$myhostname ESMTP reloaded'
                srv.write_config()
                srv.proc.send_signal(signal.SIGHUP)
                # A new smtpd, qmgr, local and bounce; the old smtpd finishes its session.
                def after():
                    now = services(srv)
                    fresh = {c: [p for p, _ in now.get(c, []) if p != old[c]] for c in old}
                    return all(fresh.values()) and fresh
                fresh = harness.wait_until(after)
                self.assertTrue(fresh, services(srv))
                self.assertTrue(harness.wait_until(lambda: 'smtpd 127.0.0.1:%d pid %d (finishing its '
                                           'sessions)' % (srv.port, old['smtpd'])
                                           in status_lines(srv)[1]), status_lines(srv))
                self.assertTrue(harness.pid_alive(old['smtpd']))
                self.assertEqual(client.rcpt('ivan@localhost')[0], 250)
                body = harness.simple_message(to='ivan@localhost')[0]
                self.assertEqual(client.data(body)[0], 250)
                client.quit()
            finally:
                client.close()
            self.assertTrue(harness.wait_gone([old['smtpd'], old['qmgr'], old['local']],
                                              harness.TIMEOUT))
            self.assertEqual(len(srv.wait_for_delivery('ivan', 1)), 1, srv.log())
            with srv.connect() as c:
                self.assertIn('reloaded', c.banner.last)
            send(srv, 'ivan@localhost')
            self.assertEqual(len(srv.wait_for_delivery('ivan', 2)), 2, srv.log())


class SmtpdCommandTest(unittest.TestCase):

    def test_smtpd_without_the_supervisor_says_how_to_run_it(self):
        with EstafetaServer(start=False) as srv:
            code, out, err = estafeta(srv.dir, 'smtpd')
            self.assertEqual(code, 2)
            self.assertIn('no listening socket was passed', err)
            self.assertIn('estafeta smtpd -bs', err)


if __name__ == '__main__':
    unittest.main()
