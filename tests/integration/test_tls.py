# TLS against the real daemon with a certificate generated per test module by openssl:
# STARTTLS via smtplib and via `swaks -tls`, the plaintext-injection test (nothing pipelined
# after STARTTLS may be answered), STARTTLS twice, STARTTLS not offered without a
# certificate, the implicit-TLS listener (smtpd_tls_wrappermode) and
# smtpd_tls_security_level = encrypt (530 before STARTTLS).
import os
import shutil
import smtplib
import subprocess
import tempfile
import unittest

import harness
import tools
from harness import EstafetaServer, HOSTNAME, client_tls_context, ehlo_keywords

CERT = KEY = ROOT_ONLY_KEY = CERT_DIR = None


def setUpModule():
    global CERT, KEY, ROOT_ONLY_KEY, CERT_DIR
    CERT_DIR = tempfile.mkdtemp(prefix='estafeta-itest-cert-')
    os.chmod(CERT_DIR, 0o755)
    CERT, ROOT_ONLY_KEY = harness.make_certificate(CERT_DIR)
    # Most tests use a world-readable copy of the key so that they test TLS behaviour
    # whatever the privilege design; test_key_readable_only_by_root checks the 0600 one.
    KEY = os.path.join(CERT_DIR, 'key-readable.pem')
    shutil.copyfile(ROOT_ONLY_KEY, KEY)
    os.chmod(KEY, 0o644)
    os.chmod(ROOT_ONLY_KEY, 0o600)


def tearDownModule():
    shutil.rmtree(CERT_DIR, ignore_errors=True)


def tls_main(**extra):
    # As in Postfix, STARTTLS is offered only with a certificate AND a security level.
    main = {'smtpd_tls_cert_file': CERT, 'smtpd_tls_key_file': KEY,
            'smtpd_tls_security_level': 'may'}
    main.update(extra)
    return main


class StartTlsTest(unittest.TestCase):

    def test_starttls_advertised_and_smtplib_delivery(self):
        with EstafetaServer(main=tls_main()) as srv:
            with smtplib.SMTP(srv.host, srv.port, timeout=harness.TIMEOUT) as c:
                c.ehlo('client.example')
                self.assertTrue(c.has_extn('starttls'))
                code, _ = c.starttls(context=client_tls_context(CERT))
                self.assertEqual(code, 220)
                c.ehlo('client.example')
                self.assertFalse(c.has_extn('starttls'), 'STARTTLS offered inside TLS')
                self.assertIsNotNone(c.sock.version())
                c.sendmail('alice@example.org', ['tls@localhost'],
                           'Subject: tls\r\n\r\nsecret-over-tls\r\n')
            msgs = srv.wait_for_delivery('tls', 1)
            self.assertEqual(len(msgs), 1)
            self.assertIn(b'secret-over-tls', msgs[0])

    def test_swaks_tls(self):
        tools.require_perl_module('Net::SSLeay')
        with EstafetaServer(main=tls_main()) as srv:
            p = subprocess.run(
                [tools.require('swaks'), '--server', '127.0.0.1', '--port', str(srv.port), '-tls',
                 '--from', 'alice@example.org', '--to', 'swakstls@localhost',
                 '--helo', 'client.example', '--timeout', '30', '--body', 'swaks-tls-body'],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
            out = p.stdout.decode('utf-8', 'replace')
            self.assertEqual(p.returncode, 0, out)
            self.assertIn('TLS started', out)
            msgs = srv.wait_for_delivery('swakstls', 1)
            self.assertEqual(len(msgs), 1)
            self.assertIn(b'swaks-tls-body', msgs[0])

    def test_plaintext_injection_after_starttls_is_discarded(self):
        with EstafetaServer(main=tls_main()) as srv, srv.connect() as c:
            c.cmd('EHLO client.example')
            c.send(b'STARTTLS\r\nNOOP\r\n')
            r = c.read_reply()
            self.assertEqual(r.code, 220, r)
            # Nothing else may arrive in plaintext (starttls() checks the buffer).
            c.starttls(client_tls_context(CERT))
            r = c.cmd('EHLO client.example')
            # The first reply inside TLS must answer our EHLO, not the injected NOOP.
            self.assertEqual(r.code, 250)
            self.assertTrue(r.lines[0].startswith('250-%s' % HOSTNAME) or
                            r.lines[0].startswith('250 %s' % HOSTNAME), r.lines)
            self.assertNotEqual(r.lines, ['250 2.0.0 Ok'])
            self.assertEqual(c.cmd('NOOP').lines, ['250 2.0.0 Ok'])

    def test_injected_transaction_is_not_executed(self):
        with EstafetaServer(main=tls_main()) as srv, srv.connect() as c:
            c.cmd('EHLO client.example')
            c.send(b'STARTTLS\r\nMAIL FROM:<evil@example.org>\r\n'
                   b'RCPT TO:<injected@localhost>\r\n')
            self.assertEqual(c.read_reply().code, 220)
            c.starttls(client_tls_context(CERT))
            c.cmd('EHLO client.example')
            # The state was reset: no transaction is open, so RCPT/DATA are out of sequence.
            self.assertEqual(c.cmd('DATA').code, 503)
            self.assertEqual(c.cmd('RCPT TO:<injected@localhost>').code, 503)

    def test_starttls_twice(self):
        with EstafetaServer(main=tls_main()) as srv, srv.connect() as c:
            c.cmd('EHLO client.example')
            self.assertEqual(c.cmd('STARTTLS').code, 220)
            c.starttls(client_tls_context(CERT))
            c.cmd('EHLO client.example')
            r = c.cmd('STARTTLS')
            # 503 or 454 per RFC 3207 usage; Postfix answers 554 5.5.1 Error: TLS already active.
            self.assertIn(r.code, (503, 454, 554), r)

    def test_ehlo_required_state_reset_after_starttls(self):
        with EstafetaServer(main=tls_main()) as srv, srv.connect() as c:
            c.cmd('EHLO client.example')
            self.assertEqual(c.cmd('STARTTLS').code, 220)
            c.starttls(client_tls_context(CERT))
            # RFC 3207: the server forgets the EHLO; Postfix still accepts MAIL without
            # EHLO by default, so only the extension list is compared here.
            kws = ehlo_keywords(c.cmd('EHLO client.example'))
            self.assertNotIn('STARTTLS', kws)
            self.assertIn('PIPELINING', kws)

    def test_no_starttls_without_certificate(self):
        with EstafetaServer() as srv, srv.connect() as c:
            kws = ehlo_keywords(c.cmd('EHLO client.example'))
            self.assertNotIn('STARTTLS', kws)
            r = c.cmd('STARTTLS')
            self.assertIn(r.code, (454, 502), r)
            self.assertEqual(c.cmd('NOOP').code, 250)


class KeyPrivilegeTest(unittest.TestCase):

    def test_key_readable_only_by_root(self):
        # Like Postfix, the daemon must read the key before it drops privileges, so a key
        # file that only root can read works.
        if not harness.is_root():
            self.skipTest('needs root: the key must be readable only by root')
        main = tls_main(smtpd_tls_key_file=ROOT_ONLY_KEY)
        with EstafetaServer(main=main) as srv:
            with smtplib.SMTP(srv.host, srv.port, timeout=harness.TIMEOUT) as c:
                c.ehlo('client.example')
                self.assertEqual(c.starttls(context=client_tls_context(CERT))[0], 220)
                c.ehlo('client.example')
                self.assertEqual(c.noop()[0], 250)


class WrapperModeTest(unittest.TestCase):

    def test_implicit_tls_listener(self):
        listeners = [{}, {'tls': True}]
        with EstafetaServer(main=tls_main(), listeners=listeners) as srv:
            tls_port = srv.ports[1]
            with smtplib.SMTP_SSL('127.0.0.1', tls_port, timeout=harness.TIMEOUT,
                                  context=client_tls_context(CERT)) as c:
                code, _ = c.ehlo('client.example')
                self.assertEqual(code, 250)
                self.assertFalse(c.has_extn('starttls'))
                c.sendmail('alice@example.org', ['wrapped@localhost'],
                           'Subject: 465\r\n\r\nwrapped-body\r\n')
            msgs = srv.wait_for_delivery('wrapped', 1)
            self.assertEqual(len(msgs), 1)
            self.assertIn(b'wrapped-body', msgs[0])
            # The plain listener is still plain.
            with srv.connect(0) as c:
                self.assertEqual(c.banner.code, 220)


class EncryptLevelTest(unittest.TestCase):

    def test_mail_before_starttls_530(self):
        with EstafetaServer(main=tls_main(smtpd_tls_security_level='encrypt')) as srv, \
                srv.connect() as c:
            kws = ehlo_keywords(c.cmd('EHLO client.example'))
            self.assertIn('STARTTLS', kws)
            r = c.cmd('MAIL FROM:<alice@example.org>')
            self.assertEqual(r.code, 530, r)
            self.assertRegex(r.last, r'^530 5\.7\.0 ')
            self.assertEqual(c.cmd('STARTTLS').code, 220)
            c.starttls(client_tls_context(CERT))
            c.cmd('EHLO client.example')
            self.assertEqual(c.cmd('MAIL FROM:<alice@example.org>').code, 250)
            self.assertEqual(c.cmd('RCPT TO:<enc@localhost>').code, 250)
            self.assertEqual(c.cmd('DATA').code, 354)
            c.send(b'Subject: enc\r\n\r\nencrypted\r\n.\r\n')
            self.assertEqual(c.read_reply().code, 250)
            self.assertEqual(len(srv.wait_for_delivery('enc', 1)), 1)


if __name__ == '__main__':
    unittest.main()
