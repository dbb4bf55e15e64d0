# The null client (docs/null-client.md) against a real smart host (issue 18 items 4 and 7): a
# private Postfix (postfix_peer.py) that relays only for SASL-authenticated clients, with Cyrus
# SASL checking a sasldb the test makes with saslpasswd2 (PLAIN and LOGIN), AUTH offered only
# after STARTTLS (smtpd_tls_auth_only), and Postfix's smtp-sink behind it as the final server.
# Estafeta is the null client of test_null_client.py: relayhost = [127.0.0.1]:port,
# smtp_tls_security_level = encrypt, credentials from smtp_sasl_password_maps.
#  - the right password: Postfix logs the SASL login, relays, the sink gets the message;
#  - a wrong password: deferred with Postfix's own 535 reply in Estafeta's log;
#  - a second Postfix without TLS that offers AUTH in clear: at level encrypt the mail is
#    deferred before any AUTH; at level may AUTH PLAIN/LOGIN in clear is refused by
#    smtp_sasl_security_options (noplaintext) and the mail is deferred. Postfix's
#    "disconnect ... commands" line shows that no AUTH command arrived.
# Skipped only when a program (Postfix, saslpasswd2, smtp-sink, openssl) is not installed.
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import tools
import test_null_client
from postfix_peer import PostfixPeer, make_peer_certificate
from test_smtp_client import SmtpSink

USER = 'nullclient@example.com'
PASSWORD = 'S3cret-pa55'
PROGRAMS = ('postfix', 'postconf', 'saslpasswd2', 'smtp-sink', 'openssl')


def require_programs():
    try:
        for program in PROGRAMS:
            tools.require(program)
    except tools.MissingTool as missing:
        raise unittest.SkipTest(str(missing))


def make_sasldb(directory):
    """A Cyrus sasldb with USER and PASSWORD, readable by the postfix user; returns the
    smtpd.conf that makes Postfix's smtpd check it (auxprop, PLAIN and LOGIN only)."""
    sasldb = os.path.join(directory, 'sasldb2')
    user, realm = USER.split('@')
    subprocess.run([tools.require('saslpasswd2'), '-f', sasldb, '-c', '-p', '-u', realm, user],
                   input=PASSWORD.encode(), check=True, capture_output=True, timeout=30)
    shutil.chown(sasldb, 'postfix', 'postfix')
    os.chmod(sasldb, 0o600)
    return ('pwcheck_method: auxprop\nauxprop_plugin: sasldb\nsasldb_path: %s\n'
            'mech_list: PLAIN LOGIN\n' % sasldb)


def smarthost(sink_port, smtpd_conf, **settings):
    """A private Postfix that relays to the sink only for SASL-authenticated clients. Debian's
    Postfix 3.7 was seen (strace) reading $config_directory/sasl/smtpd.conf and not the
    folder cyrus_sasl_config_path named elsewhere, so the file goes there and the parameter
    names that folder too."""
    base = {
        'mydestination': '', 'mynetworks': '127.0.0.1/32',
        'relayhost': '[127.0.0.1]:%d' % sink_port,
        'smtpd_sasl_auth_enable': 'yes', 'smtpd_sasl_type': 'cyrus',
        'smtpd_sasl_path': 'smtpd', 'cyrus_sasl_config_path': '{dir}/etc/sasl',
        'smtpd_sasl_security_options': 'noanonymous',
        'smtpd_relay_restrictions': 'permit_sasl_authenticated, reject_unauth_destination',
        'smtpd_recipient_restrictions': '',
    }
    base.update(settings)
    return PostfixPeer(settings=base, files={'etc/sasl/smtpd.conf': smtpd_conf})


class SaslSmartHostTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_programs()
        cls.tmp = tempfile.mkdtemp(prefix='estafeta-sasl-peer-')
        os.chmod(cls.tmp, 0o755)
        cls.cert, cls.key = make_peer_certificate(cls.tmp, 'localhost')
        smtpd_conf = make_sasldb(cls.tmp)
        cls.sink = SmtpSink()
        cls.tls_peer = smarthost(cls.sink.port, smtpd_conf, smtpd_tls_cert_file=cls.cert,
                                 smtpd_tls_key_file=cls.key, smtpd_tls_security_level='may',
                                 smtpd_tls_auth_only='yes', smtpd_tls_loglevel='1')
        cls.clear_peer = smarthost(cls.sink.port, smtpd_conf, smtpd_tls_security_level='none',
                                   smtpd_tls_auth_only='no')
        try:
            cls.tls_peer.__enter__()
            cls.clear_peer.__enter__()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.clear_peer.__exit__(None, None, None)
        cls.tls_peer.__exit__(None, None, None)
        cls.sink.__exit__(None, None, None)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def null_client(self, peer, password, **extra):
        settings = {'smtp_tls_CAfile': self.cert}
        settings.update(extra)
        return test_null_client.NullClientTest.null_client(self, peer, password, **settings)

    def submit(self, srv, recipient):
        test_null_client.NullClientTest.submit(self, srv, recipient)

    def wait_status(self, srv, address, status):
        return test_null_client.NullClientTest.wait_status(self, srv, address, status)

    def disconnect_line(self, peer, start):
        """Postfix smtpd's command counts for the first session after log offset `start`."""
        m = peer.wait_for_log(r'smtpd\[\d+\]: disconnect from \S+ (.*)$', start)
        self.assertIsNotNone(m, peer.log())
        return m.group(1)

    def test_right_password_relays_through_the_smart_host(self):
        start = len(self.tls_peer.log())
        srv = self.null_client(self.tls_peer, PASSWORD)
        self.submit(srv, 'far@remote.test')
        line = self.wait_status(srv, 'far@remote.test', 'sent')
        self.assertIn('relay=127.0.0.1[127.0.0.1]:%d' % self.tls_peer.port, line)
        self.assertNotIn(PASSWORD, srv.log())
        log = self.tls_peer.wait_for_log(
            r'postfix/smtp\[\d+\]: \w+: to=<far@remote\.test>, .*status=sent .*$')
        self.assertIsNotNone(log, self.tls_peer.log())
        self.assertIn('relay=127.0.0.1[127.0.0.1]:%d' % self.sink.port, log.group(0))
        peer_log = self.tls_peer.log()
        # smtpd_peername_lookup = no: the client is "unknown[127.0.0.1]".
        self.assertRegex(peer_log, r'TLS connection established from \S+\[127\.0\.0\.1\]')
        self.assertRegex(peer_log, r'client=\S+\[127\.0\.0\.1\], sasl_method=PLAIN, '
                                   r'sasl_username=%s' % re.escape(USER))
        self.assertIn('starttls=1 auth=1 mail=1 rcpt=1 data=1',
                      self.disconnect_line(self.tls_peer, start))
        self.assertTrue(any(b'far@remote.test' in m for m in self.sink.messages()))

    def test_wrong_password_is_deferred_with_the_smart_hosts_535(self):
        srv = self.null_client(self.tls_peer, 'wrong-' + PASSWORD,
                               smtp_sasl_mechanism_filter='login')
        self.submit(srv, 'nobody@remote.test')
        line = self.wait_status(srv, 'nobody@remote.test', 'deferred')
        self.assertRegex(line, r'dsn=4\.7\.8, status=deferred \(SASL authentication failed; '
                               r'server 127\.0\.0\.1\[127\.0\.0\.1\] said: 535 5\.7\.8 Error: '
                               r'authentication failed: ')
        self.assertNotIn(PASSWORD, srv.log())
        self.assertRegex(self.tls_peer.log(), r'warning: \S+\[127\.0\.0\.1\]: SASL LOGIN '
                                              r'authentication failed')
        self.assertNotIn('nobody@remote.test', self.tls_peer.log())

    def test_no_tls_offered_at_level_encrypt_sends_no_auth(self):
        start = len(self.clear_peer.log())
        srv = self.null_client(self.clear_peer, PASSWORD)
        self.submit(srv, 'clear@remote.test')
        line = self.wait_status(srv, 'clear@remote.test', 'deferred')
        self.assertIn('TLS is required, but was not offered by host 127.0.0.1', line)
        self.assertNotIn('auth=', self.disconnect_line(self.clear_peer, start))
        self.assertNotIn('clear@remote.test', self.clear_peer.log())

    def test_auth_in_clear_is_refused_by_the_security_options(self):
        start = len(self.clear_peer.log())
        srv = self.null_client(self.clear_peer, PASSWORD, smtp_tls_security_level='may')
        self.submit(srv, 'plain@remote.test')
        line = self.wait_status(srv, 'plain@remote.test', 'deferred')
        self.assertIn('SASL authentication failed; cannot authenticate to server '
                      '127.0.0.1[127.0.0.1]: no mechanism available', line)
        self.assertNotIn('auth=', self.disconnect_line(self.clear_peer, start))
        self.assertNotIn('plain@remote.test', self.clear_peer.log())


if __name__ == '__main__':
    unittest.main()
