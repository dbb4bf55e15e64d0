# SMTP AUTH against a real Dovecot started by the test (tests/integration/dovecot.py): PLAIN
# and LOGIN with smtplib and swaks, the wrong password (535, Postfix's warning), the `*`
# cancel, AUTH when disabled (503), smtpd_tls_auth_only (AUTH offered only after STARTTLS),
# the implicit-TLS listener (submissions), the Received header with
# smtpd_sasl_authenticated_header, relaying by an authenticated
# client outside mynetworks (and not by an unauthenticated one), a Dovecot that goes
# away and comes back (454, then a new connection), and smtpd_sender_login_maps with
# reject_sender_login_mismatch (who may send as whom).
import base64
import os
import shutil
import smtplib
import subprocess
import tempfile
import unittest

import harness
import tools
from dovecot import DovecotAuth
from harness import EstafetaServer, client_tls_context, ehlo_keywords

CERT = KEY = CERT_DIR = None
USERS = {'alice': 'secret', 'bob': 'hunter2'}


def setUpModule():
    global CERT, KEY, CERT_DIR
    CERT_DIR = tempfile.mkdtemp(prefix='estafeta-itest-cert-')
    os.chmod(CERT_DIR, 0o755)
    CERT, key = harness.make_certificate(CERT_DIR)
    KEY = os.path.join(CERT_DIR, 'key-readable.pem')
    shutil.copyfile(key, KEY)
    os.chmod(KEY, 0o644)


def tearDownModule():
    shutil.rmtree(CERT_DIR, ignore_errors=True)


def auth_main(dovecot, **extra):
    # 127.0.0.1 is outside mynetworks: only authentication lets the test client relay.
    main = {'smtpd_sasl_auth_enable': 'yes', 'smtpd_sasl_path': dovecot.socket_path,
            'mynetworks': '192.0.2.0/24'}
    main.update(extra)
    return main


def tls_settings():
    return {'smtpd_tls_cert_file': CERT, 'smtpd_tls_key_file': KEY,
            'smtpd_tls_security_level': 'may'}


def b64(text):
    return base64.b64encode(text.encode()).decode()


class SmtpAuthTest(unittest.TestCase):

    def setUp(self):
        tools.require('dovecot')

    def test_plain_succeeds_and_an_authenticated_client_relays(self):
        with DovecotAuth(USERS) as dovecot, EstafetaServer(main=auth_main(dovecot)) as srv:
            with smtplib.SMTP(srv.host, srv.port, timeout=harness.TIMEOUT) as c:
                c.ehlo('laptop.example')
                self.assertEqual(c.esmtp_features.get('auth', '').split(), ['PLAIN', 'LOGIN'])
                code, text = c.auth('PLAIN', lambda challenge=None: '\0alice\0secret',
                                    initial_response_ok=True)
                self.assertEqual((code, text), (235, b'2.7.0 Authentication successful'))
                c.sendmail('alice@example.org', ['friend@elsewhere.example'],
                           'Subject: relayed\r\n\r\nrelayed by an authenticated client\r\n')
            self.assertTrue(srv.wait_for_log(
                r'client=unknown\[127\.0\.0\.1\], sasl_method=PLAIN, sasl_username=alice$'),
                srv.log())

    def test_unauthenticated_client_outside_mynetworks_cannot_relay(self):
        with DovecotAuth(USERS) as dovecot, EstafetaServer(main=auth_main(dovecot)) as srv:
            with srv.connect() as c:
                c.cmd('EHLO laptop.example')
                self.assertEqual(c.cmd('MAIL FROM:<alice@example.org>').code, 250)
                r = c.cmd('RCPT TO:<friend@elsewhere.example>')
                self.assertEqual(r.last, '454 4.7.1 <friend@elsewhere.example>: Relay access denied')
                # After a failed AUTH too.
                c.cmd('RSET')
                self.assertEqual(c.cmd('AUTH PLAIN ' + b64('\0alice\0wrong')).code, 535)
                c.cmd('MAIL FROM:<alice@example.org>')
                self.assertEqual(c.cmd('RCPT TO:<friend@elsewhere.example>').code, 454)

    def test_login_succeeds_and_received_header_names_the_user(self):
        with DovecotAuth(USERS) as dovecot, EstafetaServer(
                main=auth_main(dovecot, smtpd_sasl_authenticated_header='yes')) as srv:
            with srv.connect() as c:
                c.cmd('EHLO laptop.example')
                self.assertEqual(c.cmd('AUTH LOGIN').last, '334 VXNlcm5hbWU6')
                self.assertEqual(c.cmd(b64('bob')).last, '334 UGFzc3dvcmQ6')
                self.assertEqual(c.cmd(b64('hunter2')).last, '235 2.7.0 Authentication successful')
                self.assertEqual(c.cmd('AUTH PLAIN').last, '503 5.5.1 Error: already authenticated')
                self.assertEqual(c.cmd('MAIL FROM:<bob@example.org> AUTH=bob@example.org').code, 250)
                self.assertEqual(c.cmd('RCPT TO:<rcpt@localhost>').code, 250)
                self.assertEqual(c.cmd('DATA').code, 354)
                self.assertEqual(c.cmd('Subject: login\r\n\r\nbody\r\n.').code, 250)
                c.cmd('QUIT')
            msgs = srv.wait_for_delivery('rcpt', 1)
            self.assertEqual(len(msgs), 1)
            self.assertIn(b'(Authenticated sender: bob)', msgs[0])
            self.assertIn(b'with ESMTPA id', msgs[0])
            self.assertTrue(srv.wait_for_log(
                r'sasl_method=LOGIN, sasl_username=bob, sasl_sender=bob@example\.org'), srv.log())

    def test_received_header_without_the_user_by_default(self):
        with DovecotAuth(USERS) as dovecot, EstafetaServer(main=auth_main(dovecot)) as srv:
            with smtplib.SMTP(srv.host, srv.port, timeout=harness.TIMEOUT) as c:
                c.login('alice', 'secret')
                c.sendmail('alice@example.org', ['plain@localhost'], 'Subject: x\r\n\r\nx\r\n')
            msgs = srv.wait_for_delivery('plain', 1)
            self.assertEqual(len(msgs), 1)
            self.assertNotIn(b'Authenticated sender', msgs[0])

    def test_wrong_password_is_refused_and_logged(self):
        with DovecotAuth(USERS) as dovecot, EstafetaServer(main=auth_main(dovecot)) as srv:
            with smtplib.SMTP(srv.host, srv.port, timeout=harness.TIMEOUT) as c:
                with self.assertRaises(smtplib.SMTPAuthenticationError) as caught:
                    c.login('alice', 'not-the-password')
                self.assertEqual(caught.exception.smtp_code, 535)
                self.assertIn(b'5.7.8 Error: authentication failed', caught.exception.smtp_error)
            self.assertTrue(srv.wait_for_log(
                r'warning: unknown\[127\.0\.0\.1\]: SASL (PLAIN|LOGIN) authentication failed: '
                r'.*sasl_username=alice'), srv.log())
            self.assertNotIn('sasl_method=', srv.log(), 'a failure must not look like a login')

    def test_cancel_and_undecodable_response(self):
        with DovecotAuth(USERS) as dovecot, EstafetaServer(main=auth_main(dovecot)) as srv:
            with srv.connect() as c:
                c.cmd('EHLO laptop.example')
                self.assertEqual(c.cmd('AUTH LOGIN').code, 334)
                self.assertEqual(c.cmd('*').last, '501 5.7.0 Authentication aborted')
                self.assertEqual(c.cmd('AUTH PLAIN').last, '334 ')
                self.assertEqual(c.cmd('this is not base64').last,
                                 '501 5.5.2 Cannot decode response')
                self.assertEqual(c.cmd('AUTH PLAIN ' + b64('\0alice\0secret')).code, 235)
            self.assertTrue(srv.wait_for_log(
                r'warning: unknown\[127\.0\.0\.1\]: SASL LOGIN authentication aborted'))

    def test_auth_rate_limit(self):
        # smtpd_client_auth_rate_limit: the second AUTH of the window is refused before
        # Dovecot is asked (127.0.0.1 is outside this test's mynetworks: not exempt).
        with DovecotAuth(USERS) as dovecot, EstafetaServer(
                main=auth_main(dovecot, smtpd_client_auth_rate_limit='1',
                               anvil_rate_time_unit='1h')) as srv:
            with srv.connect() as c:
                c.cmd('EHLO laptop.example')
                self.assertEqual(c.cmd('AUTH PLAIN ' + b64('\0alice\0wrong')).code, 535)
                self.assertEqual(c.cmd('AUTH PLAIN ' + b64('\0alice\0secret')).last,
                                 '450 4.7.1 Error: too many AUTH commands from 127.0.0.1')
            self.assertTrue(srv.wait_for_log(r'warning: AUTH command rate limit exceeded'),
                            srv.log())

    def test_auth_when_disabled(self):
        with DovecotAuth(USERS) as dovecot, EstafetaServer(
                main=auth_main(dovecot, smtpd_sasl_auth_enable='no')) as srv:
            with srv.connect() as c:
                self.assertNotIn('AUTH', ehlo_keywords(c.cmd('EHLO laptop.example')))
                self.assertEqual(c.cmd('AUTH PLAIN ' + b64('\0alice\0secret')).last,
                                 '503 5.5.1 Error: authentication not enabled')

    def test_tls_auth_only_offers_auth_after_starttls(self):
        with DovecotAuth(USERS) as dovecot, EstafetaServer(main=auth_main(
                dovecot, smtpd_tls_auth_only='yes', broken_sasl_auth_clients='yes',
                **tls_settings())) as srv:
            with srv.connect() as c:
                keywords = ehlo_keywords(c.cmd('EHLO laptop.example'))
                self.assertIn('STARTTLS', keywords)
                self.assertNotIn('AUTH', keywords)
                self.assertEqual(c.cmd('AUTH PLAIN ' + b64('\0alice\0secret')).last,
                                 '503 5.5.1 Error: authentication not enabled')
                self.assertEqual(c.cmd('STARTTLS').code, 220)
                c.starttls(client_tls_context())
                keywords = ehlo_keywords(c.cmd('EHLO laptop.example'))
                self.assertEqual(keywords.get('AUTH'), 'PLAIN LOGIN')
                self.assertIn('AUTH=PLAIN', keywords)  # broken_sasl_auth_clients
                self.assertEqual(c.cmd('AUTH PLAIN ' + b64('\0alice\0secret')).code, 235)

    def test_implicit_tls_listener_offers_auth_at_once(self):
        # submissions (465): smtpd_tls_wrappermode, AUTH under TLS from the first EHLO even
        # with smtpd_tls_auth_only.
        with DovecotAuth(USERS) as dovecot:
            main = {'smtpd_sasl_path': dovecot.socket_path, 'mynetworks': '192.0.2.0/24',
                    'smtpd_tls_cert_file': CERT, 'smtpd_tls_key_file': KEY}
            listener = {'tls': True, 'options': {'smtpd_sasl_auth_enable': 'yes',
                                                 'smtpd_tls_auth_only': 'yes'}}
            with EstafetaServer(main=main, listeners=[listener]) as srv:
                with srv.connect(tls_context=client_tls_context()) as c:
                    keywords = ehlo_keywords(c.cmd('EHLO laptop.example'))
                    self.assertEqual(keywords.get('AUTH'), 'PLAIN LOGIN')
                    self.assertEqual(c.cmd('AUTH PLAIN ' + b64('\0alice\0secret')).code, 235)
                    self.assertEqual(c.cmd('MAIL FROM:<alice@example.org>').code, 250)
                    self.assertEqual(c.cmd('RCPT TO:<friend@elsewhere.example>').code, 250)
                self.assertTrue(srv.wait_for_log(r'disconnect from .* auth=1 '), srv.log())

    def test_noplaintext_before_tls(self):
        with DovecotAuth(USERS) as dovecot, EstafetaServer(main=auth_main(
                dovecot, smtpd_sasl_security_options='noanonymous, noplaintext',
                smtpd_sasl_tls_security_options='noanonymous', **tls_settings())) as srv:
            with smtplib.SMTP(srv.host, srv.port, timeout=harness.TIMEOUT) as c:
                c.ehlo('laptop.example')
                self.assertFalse(c.has_extn('auth'))
                c.starttls(context=client_tls_context())
                c.ehlo('laptop.example')
                self.assertEqual(c.esmtp_features.get('auth', '').split(), ['PLAIN', 'LOGIN'])
                c.login('alice', 'secret')

    def test_swaks_plain_and_login(self):
        with DovecotAuth(USERS) as dovecot, EstafetaServer(main=auth_main(dovecot)) as srv:
            for mechanism, user, password in (('PLAIN', 'alice', 'secret'),
                                              ('LOGIN', 'bob', 'hunter2')):
                p = subprocess.run(
                    [tools.require('swaks'), '--server', '127.0.0.1', '--port', str(srv.port),
                     '--auth', mechanism, '--auth-user', user, '--auth-password', password,
                     '--from', user + '@example.org', '--to', 'friend@elsewhere.example',
                     '--helo', 'laptop.example', '--timeout', '30'],
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
                out = p.stdout.decode('utf-8', 'replace')
                self.assertEqual(p.returncode, 0, out)
                self.assertIn('235 2.7.0 Authentication successful', out)
                self.assertTrue(srv.wait_for_log(
                    r'sasl_method=%s, sasl_username=%s$' % (mechanism, user)), srv.log())

    def test_dovecot_away_then_back(self):
        with DovecotAuth(USERS) as dovecot, EstafetaServer(main=auth_main(dovecot)) as srv:
            with srv.connect() as c:
                c.cmd('EHLO laptop.example')
                self.assertEqual(c.cmd('AUTH PLAIN ' + b64('\0alice\0secret')).code, 235)
            dovecot.stop()
            # smtpd notices the end of its connection (then connects anew for each session).
            self.assertTrue(srv.wait_for_log(r'warning: SASL: .*: connection closed by the server'),
                            srv.log())
            with srv.connect() as c:
                keywords = ehlo_keywords(c.cmd('EHLO laptop.example'))
                self.assertNotIn('AUTH', keywords)
                r = c.cmd('AUTH PLAIN ' + b64('\0alice\0secret'))
                self.assertEqual(r.code, 454, r)
                self.assertTrue(r.last.startswith('454 4.7.0 Temporary authentication failure'))
            dovecot.start()
            with srv.connect() as c:
                keywords = ehlo_keywords(c.cmd('EHLO laptop.example'))
                self.assertEqual(keywords.get('AUTH'), 'PLAIN LOGIN')
                self.assertEqual(c.cmd('AUTH PLAIN ' + b64('\0alice\0secret')).code, 235)

    def test_sender_login_mismatch(self):
        # smtpd_sender_login_maps: alice owns alice@example.org, bob owns bob@example.org.
        table_dir = tempfile.mkdtemp(prefix='estafeta-itest-logins-')
        self.addCleanup(shutil.rmtree, table_dir, True)
        os.chmod(table_dir, 0o755)
        logins = os.path.join(table_dir, 'sender_logins')
        with open(logins, 'w') as f:
            f.write('alice@example.org alice\nbob@example.org bob\n')
        os.chmod(logins, 0o644)
        with DovecotAuth(USERS) as dovecot, EstafetaServer(main=auth_main(
                dovecot, smtpd_sender_login_maps='texthash:' + logins,
                smtpd_sender_restrictions='reject_sender_login_mismatch')) as srv:
            with srv.connect() as c:
                c.cmd('EHLO laptop.example')
                self.assertEqual(c.cmd('AUTH PLAIN ' + b64('\0alice\0secret')).code, 235)
                self.assertEqual(c.cmd('MAIL FROM:<bob@example.org>').code, 250)
                self.assertEqual(
                    c.cmd('RCPT TO:<rcpt@localhost>').last,
                    '553 5.7.1 <bob@example.org>: Sender address rejected: not owned by user alice')
                c.cmd('RSET')
                self.assertEqual(c.cmd('MAIL FROM:<alice@example.org>').code, 250)
                self.assertEqual(c.cmd('RCPT TO:<rcpt@localhost>').code, 250)
                self.assertEqual(c.cmd('DATA').code, 354)
                self.assertEqual(c.cmd('Subject: mine\r\n\r\nsent as myself\r\n.').code, 250)
                c.cmd('QUIT')
            with srv.connect() as c:
                c.cmd('EHLO laptop.example')
                self.assertEqual(c.cmd('MAIL FROM:<alice@example.org>').code, 250)
                self.assertEqual(
                    c.cmd('RCPT TO:<rcpt@localhost>').last,
                    '553 5.7.1 <alice@example.org>: Sender address rejected: not logged in')
                # An address nobody owns is fine without a login.
                c.cmd('RSET')
                self.assertEqual(c.cmd('MAIL FROM:<carol@example.org>').code, 250)
                self.assertEqual(c.cmd('RCPT TO:<rcpt@localhost>').code, 250)
            msgs = srv.wait_for_delivery('rcpt', 1)
            self.assertEqual(len(msgs), 1)
            self.assertIn(b'sent as myself', msgs[0])
            self.assertTrue(srv.wait_for_log(
                r'reject: RCPT from unknown\[127\.0\.0\.1\]: 553 5\.7\.1 <bob@example\.org>: '
                r'Sender address rejected: not owned by user alice; from=<bob@example\.org> '
                r'to=<rcpt@localhost> proto=ESMTPA helo=<laptop\.example>'), srv.log())
            self.assertTrue(srv.wait_for_log(
                r'reject: RCPT from unknown\[127\.0\.0\.1\]: 553 5\.7\.1 <alice@example\.org>: '
                r'Sender address rejected: not logged in; from=<alice@example\.org> '
                r'to=<rcpt@localhost> proto=ESMTP helo=<laptop\.example>'), srv.log())


if __name__ == '__main__':
    unittest.main()
