# The null client of docs/null-client.md run for real: no SMTP listener at all (master.cf
# has only the unix services), mydestination empty, every address (local ones too) relayed
# to relayhost = [smarthost]:port with smtp_tls_security_level = encrypt and SMTP AUTH from
# smtp_sasl_password_maps. Mail is submitted with `estafeta sendmail` (maildrop -> pickup).
# The smart host is scripted_smtp.py with STARTTLS (Python's ssl, a per-module openssl
# certificate) and AUTH PLAIN/LOGIN required before MAIL, offered only after STARTTLS (it
# records which mechanism was used); test_smtp_sasl_smarthost.py runs the same null client
# against a private Postfix with Cyrus SASL.
# Checked: the message arrives after AUTH over TLS; wrong credentials defer the mail with
# Postfix's "SASL authentication failed; server ... said: 535 ..." and the password never
# appears in the log; LOGIN is used when the mechanism filter says so.
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import unittest

import harness
from harness import EstafetaServer
from scripted_smtp import ScriptedSmtp

CERT_DIR = None
CERT = KEY = None
PASSWORD = 'S3cret-pa55'


def setUpModule():
    global CERT_DIR, CERT, KEY
    CERT_DIR = tempfile.mkdtemp(prefix='estafeta-itest-nullclient-')
    CERT, KEY = harness.make_certificate(CERT_DIR)


def tearDownModule():
    shutil.rmtree(CERT_DIR, ignore_errors=True)


class NullClientServer(EstafetaServer):
    """An Estafeta with no inet listener: master.cf keeps only the unix services."""

    def master_cf_text(self):
        lines = [l for l in super().master_cf_text().splitlines() if ' inet ' not in l]
        return '\n'.join(lines) + '\n'


class NullClientTest(unittest.TestCase):
    def smarthost(self):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(CERT, KEY)
        host = ScriptedSmtp(tls_context=context, auth={'nullclient@example.com': PASSWORD})
        self.addCleanup(host.stop)
        return host

    def null_client(self, smarthost, password, **extra):
        main = {
            'myorigin': 'example.com',
            'mydestination': '',
            'inet_interfaces': 'loopback-only',
            'local_transport': 'error:5.1.1 local delivery is disabled',
            'relayhost': '[127.0.0.1]:%d' % smarthost.port,
            'smtp_sasl_auth_enable': 'yes',
            'smtp_sasl_security_options': 'noanonymous, noplaintext',
            'smtp_tls_security_level': 'encrypt',
            'minimal_backoff_time': '1s',
            'maximal_backoff_time': '2s',
            'queue_run_delay': '1s',
            'smtp_connect_timeout': '3s',
            'resolver_nameservers': '127.0.0.1:9',
        }
        main.update(extra)
        srv = NullClientServer(main=main, start=False, wait_ready=False)
        srv.master_extra = ['smtp unix - - n - - smtp', 'relay unix - - n - - smtp']
        srv.__enter__()
        self.addCleanup(srv.__exit__, None, None, None)
        table = os.path.join(srv.dir, 'sasl_passwd')
        with open(table, 'w') as f:
            f.write('[127.0.0.1]:%d nullclient@example.com:%s\n' % (smarthost.port, password))
        os.chmod(table, 0o600)
        srv.main['smtp_sasl_password_maps'] = 'texthash:' + table
        srv.write_config()
        srv.start()
        # No banner to wait for: the queue exists once the supervisor has set it up.
        harness.wait_until(lambda: os.path.isdir(os.path.join(srv.spool, 'maildrop')))
        return srv

    def submit(self, srv, recipient):
        text, _ = harness.simple_message(subject='null client', body='Via the smart host.')
        done = subprocess.run([harness.estafeta_bin(), '-c', srv.dir, 'sendmail', '-i',
                               recipient], input=text.encode(), capture_output=True,
                              timeout=harness.TIMEOUT)
        self.assertEqual(done.returncode, 0, done.stderr)

    def wait_status(self, srv, address, status):
        m = srv.wait_for_log(r'smtp\[\d+\]: \w+: to=<%s>, .*status=%s .*$' %
                             (re.escape(address), status))
        self.assertIsNotNone(m, srv.log())
        return m.group(0)

    def test_local_mail_goes_to_the_smart_host_after_auth_over_tls(self):
        host = self.smarthost()
        srv = self.null_client(host, PASSWORD)
        self.submit(srv, 'root')
        line = self.wait_status(srv, 'root@example.com', 'sent')
        self.assertIn('relay=127.0.0.1[127.0.0.1]:%d' % host.port, line)
        self.assertEqual(host.auth_log, [('PLAIN', 'nullclient@example.com', True, True)])
        self.assertEqual(len(host.accepted), 1)
        sender, recipients, data = host.accepted[0]
        self.assertEqual(recipients, ['root@example.com'])
        self.assertIn(b'Via the smart host.', data)
        self.assertNotIn(PASSWORD, srv.log())
        # Nothing listens: the harness's port was never bound.
        with self.assertRaises(OSError):
            socket.create_connection((srv.host, srv.port), 2).close()

    def test_wrong_password_defers_without_logging_it(self):
        host = self.smarthost()
        srv = self.null_client(host, 'wrong-' + PASSWORD, smtp_sasl_mechanism_filter='login')
        self.submit(srv, 'someone@remote.test')
        line = self.wait_status(srv, 'someone@remote.test', 'deferred')
        self.assertRegex(line, r'dsn=4\.7\.8, status=deferred \(SASL authentication failed; '
                               r'server 127\.0\.0\.1\[127\.0\.0\.1\] said: 535 5\.7\.8 Error: '
                               r'authentication failed\)')
        self.assertEqual(host.auth_log[0], ('LOGIN', 'nullclient@example.com', False, True))
        self.assertEqual(host.accepted, [])
        self.assertNotIn(PASSWORD, srv.log())


if __name__ == '__main__':
    unittest.main()
