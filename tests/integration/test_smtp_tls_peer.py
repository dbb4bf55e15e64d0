# The smtp agent's TLS against a real peer (issue 18 item 3; docs/smtp-tls.md): a private
# Postfix (postfix_peer.py) with STARTTLS and a certificate for mx.peer.test made by the test,
# dnsmasq answering mx.peer.test, and Estafeta relaying to it at different levels:
#  - may (the default), no CA: the mail goes over TLS, logged "Untrusted TLS connection";
#  - verify with the certificate as CA and the right name: "Verified", delivered;
#  - verify, the right CA, but the next hop named by its address (the certificate does not
#    match): deferred, "Server certificate not verified", and the peer never sees MAIL;
#  - encrypt with a policy table entry for the next hop: delivered over TLS;
# and a private Postfix without TLS (no STARTTLS in its EHLO reply):
#  - may: delivered in clear, no TLS line in the log;
#  - encrypt: deferred 4.7.4 "TLS is required, but was not offered", and the peer never sees
#    the recipient.
import os
import subprocess
import tempfile
import unittest

import harness
import test_smtp_client
from dns_server import DnsServer
from postfix_peer import PostfixPeer, make_peer_certificate


class PostfixPeerCase(unittest.TestCase):
    """A private Postfix delivering USERS@peer.test into Maildirs, dnsmasq answering
    mx.peer.test, and test_smtp_client's Estafeta relaying to it (no tests of its own)."""

    @classmethod
    def make_dir(cls, prefix):
        cls.tmp = tempfile.mkdtemp(prefix=prefix)
        os.chmod(cls.tmp, 0o755)

    @classmethod
    def start_peer(cls, users, tls_settings):
        """After make_dir: the peer and the DNS server, for the whole class."""
        mail = os.path.join(cls.tmp, 'mail')
        os.mkdir(mail)
        os.chown(mail, 65534, 65534)
        cls.mail = mail
        settings = dict(tls_settings)
        settings.update({'mydestination': '', 'mynetworks': '127.0.0.0/8',
                         'virtual_mailbox_domains': 'peer.test',
                         'virtual_mailbox_base': mail,
                         'virtual_mailbox_maps': 'texthash:{dir}/vmailbox',
                         'virtual_uid_maps': 'static:65534',
                         'virtual_gid_maps': 'static:65534'})
        cls.peer = PostfixPeer(
            settings=settings,
            files={'vmailbox': ''.join('%s@peer.test %s/Maildir/\n' % (u, u) for u in users)})
        cls.peer.__enter__()
        cls.dns = DnsServer(hosts={'mx.peer.test': ['127.0.0.1']})
        cls.dns.__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.dns.__exit__(None, None, None)
        cls.peer.__exit__(None, None, None)
        subprocess.run(['rm', '-rf', cls.tmp])

    def server(self, **main):
        """test_smtp_client's server (smtp rows, short backoffs) with this class's DNS."""
        return test_smtp_client.SmtpClientTest.server(self, self.dns, **main)

    def send(self, srv, rcpt):
        test_smtp_client.send(srv, [rcpt], subject='tls to ' + rcpt)

    def delivered(self, user):
        new = os.path.join(self.mail, user, 'Maildir', 'new')
        return harness.wait_until(lambda: os.path.isdir(new) and os.listdir(new))

    def status_line(self, srv, rcpt, status):
        return test_smtp_client.SmtpClientTest.wait_status(self, srv, rcpt, status)


class SmtpTlsPeerTest(PostfixPeerCase):
    @classmethod
    def setUpClass(cls):
        cls.make_dir('estafeta-tls-peer-')
        cls.cert, cls.key = make_peer_certificate(cls.tmp, 'mx.peer.test')
        cls.start_peer(('may', 'verified', 'mismatch', 'policy'),
                       {'smtpd_tls_cert_file': cls.cert, 'smtpd_tls_key_file': cls.key,
                        'smtpd_tls_security_level': 'may', 'smtpd_tls_loglevel': '1'})

    def test_opportunistic_tls_without_a_ca_is_untrusted_and_delivers(self):
        srv = self.server(relayhost='[mx.peer.test]:%d' % self.peer.port)
        self.send(srv, 'may@peer.test')
        self.status_line(srv, 'may@peer.test', 'sent')
        self.assertRegex(srv.log(), r'smtp\[\d+\]: Untrusted TLS connection established to '
                                    r'mx\.peer\.test\[127\.0\.0\.1\]:%d: TLSv1\.[23] with cipher '
                                    % self.peer.port)
        self.assertTrue(self.delivered('may'))

    def test_verify_with_the_right_ca_and_name_is_verified(self):
        srv = self.server(relayhost='[mx.peer.test]:%d' % self.peer.port,
                          smtp_tls_security_level='verify', smtp_tls_CAfile=self.cert)
        self.send(srv, 'verified@peer.test')
        self.status_line(srv, 'verified@peer.test', 'sent')
        self.assertRegex(srv.log(), r'Verified TLS connection established to '
                                    r'mx\.peer\.test\[127\.0\.0\.1\]:%d' % self.peer.port)
        self.assertTrue(self.delivered('verified'))

    def test_verify_with_a_certificate_that_does_not_match_is_deferred(self):
        srv = self.server(relayhost='[127.0.0.1]:%d' % self.peer.port,
                          smtp_tls_security_level='verify', smtp_tls_CAfile=self.cert)
        self.send(srv, 'mismatch@peer.test')
        line = self.status_line(srv, 'mismatch@peer.test', 'deferred')
        self.assertIn('dsn=4.7.5', line)
        self.assertIn('Server certificate not verified', line)
        with open(os.path.join(self.peer.dir, 'maillog')) as f:
            self.assertNotIn('mismatch@peer.test', f.read())

    def test_a_policy_table_entry_requires_encryption_for_one_next_hop(self):
        table = os.path.join(self.tmp, 'tls_policy')
        nexthop = '[mx.peer.test]:%d' % self.peer.port
        with open(table, 'w') as f:
            f.write('%s encrypt protocols=>=TLSv1.2\n' % nexthop)
        srv = self.server(relayhost=nexthop, smtp_tls_security_level='none',
                          smtp_tls_policy_maps='texthash:' + table)
        self.send(srv, 'policy@peer.test')
        self.status_line(srv, 'policy@peer.test', 'sent')
        self.assertRegex(srv.log(), r'TLS connection established to mx\.peer\.test')
        self.assertTrue(self.delivered('policy'))


class PlainPostfixPeerTest(PostfixPeerCase):
    """The smtp agent against a private Postfix that offers no STARTTLS."""

    @classmethod
    def setUpClass(cls):
        cls.make_dir('estafeta-plain-peer-')
        cls.start_peer(('clear', 'required'), {'smtpd_tls_security_level': 'none'})

    def test_opportunistic_tls_to_a_peer_without_starttls_delivers_in_clear(self):
        srv = self.server(relayhost='[mx.peer.test]:%d' % self.peer.port)
        self.send(srv, 'clear@peer.test')
        self.status_line(srv, 'clear@peer.test', 'sent')
        self.assertNotRegex(srv.log(), r'TLS connection established')
        self.assertTrue(self.delivered('clear'))

    def test_encrypt_to_a_peer_without_starttls_is_deferred_and_nothing_is_sent(self):
        srv = self.server(relayhost='[mx.peer.test]:%d' % self.peer.port,
                          smtp_tls_security_level='encrypt')
        self.send(srv, 'required@peer.test')
        line = self.status_line(srv, 'required@peer.test', 'deferred')
        self.assertIn('dsn=4.7.4', line)
        self.assertIn('TLS is required, but was not offered', line)
        with open(os.path.join(self.peer.dir, 'maillog')) as f:
            self.assertNotIn('required@peer.test', f.read())


if __name__ == '__main__':
    unittest.main()
