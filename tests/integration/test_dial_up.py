# Dial-up use (issue 18 item 5; docs/dial-up.md): with defer_transports the queue manager keeps
# remote mail in deferred/ ("deferred transport") until an explicit flush, which then sends it
# to the smart host, here a scripted SMTP server on loopback: an ETRN for a fast_flush_domains
# site, `sendmail -qR site` (other sites keep waiting), and `queue flush -r NAME`, which takes
# the smart host named in flush_routes instead of relayhost.
import re
import smtplib
import subprocess
import unittest

import harness
import test_smtp_client
from scripted_smtp import ScriptedSmtp


def send(srv, recipients):
    with smtplib.SMTP(srv.host, srv.port, timeout=harness.TIMEOUT) as s:
        s.ehlo('client.example')
        text, _ = harness.simple_message(subject='dial-up', body='Sent when the line is up.')
        s.sendmail('alice@localhost', recipients, text)


class DialUpTest(unittest.TestCase):
    def server(self, **main):
        """test_smtp_client's server (smtp rows, short backoffs, no DNS), holding smtp and
        relay mail."""
        main.setdefault('defer_transports', 'smtp, relay')
        return test_smtp_client.SmtpClientTest.server(self, **main)

    def peer(self):
        p = ScriptedSmtp()
        self.addCleanup(p.stop)
        return p

    def held_back(self, srv, address, times):
        """Waits until `address` was deferred as "deferred transport" `times` times."""
        pattern = (r'qmgr\[\d+\]: \w+: to=<%s>, relay=none, .*dsn=4\.3\.2, '
                   r'status=deferred \(deferred transport\)$' % re.escape(address))
        ok = harness.wait_until(lambda: len(re.findall(pattern, srv.log(), re.M)) >= times, 15)
        self.assertTrue(ok, srv.log())

    def sent(self, srv, address):
        m = srv.wait_for_log(r'smtp\[\d+\]: \w+: to=<%s>, .*status=sent .*$' % re.escape(address))
        self.assertIsNotNone(m, srv.log())
        return m.group(0)

    def estafeta(self, srv, *args):
        proc = subprocess.run([harness.estafeta_bin(), '-c', srv.dir] + list(args),
                              capture_output=True, timeout=harness.TIMEOUT)
        self.assertEqual((proc.returncode, proc.stderr), (0, b''), proc)

    def test_etrn_flushes_a_relay_domain(self):
        peer = self.peer()
        srv = self.server(relay_domains='relayed.test',
                          relayhost='[127.0.0.1]:%d' % peer.port)
        send(srv, ['bob@relayed.test'])
        # Retried at every queue run, and held back every time: nothing reaches the peer.
        self.held_back(srv, 'bob@relayed.test', 2)
        self.assertEqual(peer.accepted, [])
        with smtplib.SMTP(srv.host, srv.port, timeout=harness.TIMEOUT) as s:
            self.assertEqual(s.docmd('ETRN', 'relayed.test'),
                             (503, b'5.5.1 Error: send HELO/EHLO first'))
            s.ehlo('dialup.example')
            self.assertTrue(s.has_extn('etrn'))  # fast_flush_domains = $relay_domains
            self.assertEqual(s.docmd('ETRN', 'other.test'),
                             (459, b'4.3.0 <other.test>: service unavailable'))
            self.assertEqual(s.docmd('ETRN', 'relayed.test'),
                             (250, b'Queuing for node relayed.test started'))
        line = self.sent(srv, 'bob@relayed.test')
        self.assertIn('relay=127.0.0.1[127.0.0.1]:%d' % peer.port, line)
        self.assertEqual([a[1] for a in peer.accepted], [['bob@relayed.test']])
        self.assertRegex(srv.log(), r'smtpd\[\d+\]: .*ETRN relayed.test: flush requested')

    def test_sendmail_qr_flushes_one_site_only(self):
        peer = self.peer()
        srv = self.server(relayhost='[127.0.0.1]:%d' % peer.port)
        send(srv, ['carol@one.test'])
        send(srv, ['dave@two.test'])
        self.held_back(srv, 'carol@one.test', 1)
        self.held_back(srv, 'dave@two.test', 1)
        sendmail = harness.estafeta_bin().rsplit('/', 1)[0] + '/sendmail'
        proc = subprocess.run([sendmail, '-C', srv.dir, '-qR', 'two.test'], capture_output=True,
                              timeout=harness.TIMEOUT)
        self.assertEqual((proc.returncode, proc.stderr), (0, b''), proc)
        self.sent(srv, 'dave@two.test')
        self.held_back(srv, 'carol@one.test', 3)  # still waiting after two more queue runs
        self.assertEqual([a[1] for a in peer.accepted], [['dave@two.test']])
        # sendmail -q takes everything.
        proc = subprocess.run([sendmail, '-C', srv.dir, '-q'], capture_output=True,
                              timeout=harness.TIMEOUT)
        self.assertEqual(proc.returncode, 0, proc)
        self.sent(srv, 'carol@one.test')

    def test_flush_route_picks_the_smart_host(self):
        usual, isp = self.peer(), self.peer()
        srv = self.server(relayhost='[127.0.0.1]:%d' % usual.port,
                          flush_routes='isp=[127.0.0.1]:%d' % isp.port)
        send(srv, ['erin@far.test'])
        self.held_back(srv, 'erin@far.test', 1)
        proc = subprocess.run([harness.estafeta_bin(), '-c', srv.dir, 'queue', 'flush', '-r',
                               'nosuch'], capture_output=True, timeout=harness.TIMEOUT)
        self.assertEqual(proc.returncode, 1, proc)
        self.assertIn(b'no route nosuch in flush_routes', proc.stderr)
        self.estafeta(srv, 'queue', 'flush', '-r', 'isp')
        line = self.sent(srv, 'erin@far.test')
        self.assertIn('relay=127.0.0.1[127.0.0.1]:%d' % isp.port, line)
        self.assertEqual(usual.accepted, [])
        self.assertEqual([a[1] for a in isp.accepted], [['erin@far.test']])


if __name__ == '__main__':
    unittest.main()
