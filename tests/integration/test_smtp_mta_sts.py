# MTA-STS in the smtp agent (issue 18 items 3 and 7; docs/smtp-tls.md "MTA-STS"): dnsmasq
# serves the MX, A and `_mta-sts` TXT records of a few destinations, an HTTPS server in Python
# (http.server + ssl, on a free loopback port) serves their policies with a certificate from
# a CA this test makes, and scripted SMTP peers (scripted_smtp.py) play the MX hosts, with
# STARTTLS and a certificate from the same CA, or without STARTTLS. Cases:
#  - enforce, the MX host matches and its certificate verifies: delivered, "Verified"; a
#    second message does not fetch the policy again (the HTTPS server counts requests) and
#    the policy is in the cache directory;
#  - enforce, the MX host offers no STARTTLS: deferred (4.7.5, MTA-STS named), no MAIL sent;
#  - enforce, the MX host is not in the policy: deferred, never connected to;
#  - testing, no STARTTLS: delivered in clear with a warning saying what would have failed;
#  - an smtp_tls_policy_maps entry for the destination wins over an enforce policy.
import http.server
import os
import ssl
import subprocess
import tempfile
import threading
import unittest

import harness
import tools
import test_smtp_client
from dns_server import DnsServer
from scripted_smtp import ScriptedSmtp

DOMAINS = ['sts-ok.test', 'sts-clear.test', 'sts-other.test', 'sts-testing.test',
           'sts-table.test']


def openssl(*args):
    subprocess.run([tools.require('openssl')] + list(args), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=harness.TIMEOUT)


def make_ca_and_certificate(directory, names):
    """A CA and one certificate it signs for every name in `names` (paths: ca, cert, key)."""
    ca_key, ca = os.path.join(directory, 'ca-key.pem'), os.path.join(directory, 'ca.pem')
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=Estafeta test CA',
            '-days', '1', '-addext', 'basicConstraints=critical,CA:TRUE',
            '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-keyout', ca_key, '-out', ca)
    key, csr = os.path.join(directory, 'key.pem'), os.path.join(directory, 'req.pem')
    cert, ext = os.path.join(directory, 'cert.pem'), os.path.join(directory, 'ext.cnf')
    with open(ext, 'w') as f:
        f.write('subjectAltName=%s\nbasicConstraints=CA:FALSE\n'
                'extendedKeyUsage=serverAuth\n' % ','.join('DNS:' + n for n in names))
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=%s' % names[0],
            '-keyout', key, '-out', csr)
    openssl('x509', '-req', '-in', csr, '-CA', ca, '-CAkey', ca_key, '-CAcreateserial',
            '-days', '1', '-extfile', ext, '-out', cert)
    for path in (ca, cert, key):
        os.chmod(path, 0o644)
    return ca, cert, key


class PolicyServer:
    """HTTPS on 127.0.0.1:<free port>: GET /.well-known/mta-sts.txt answers the policy of the
    Host header's domain (text/plain); every request is counted by host."""

    def __init__(self, cert, key, policies):
        self.policies = policies  # {'mta-sts.example.test': text}
        self.requests = {}
        lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                host = (self.headers.get('Host') or '').lower()
                with lock:
                    outer.requests[host] = outer.requests.get(host, 0) + 1
                text = outer.policies.get(host)
                if self.path != '/.well-known/mta-sts.txt' or text is None:
                    self.send_error(404)
                    return
                body = text.encode()
                self.send_response(200)
                self.send_header('Content-Type', 'text/plain')
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def count(self, domain):
        return self.requests.get('mta-sts.' + domain, 0)

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def policy(mode, *mx):
    return 'version: STSv1\r\nmode: %s\r\n%smax_age: 86400\r\n' % (
        mode, ''.join('mx: %s\r\n' % m for m in mx))


class SmtpMtaStsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix='estafeta-mta-sts-')
        os.chmod(cls.tmp, 0o755)
        names = ['mx.' + d for d in DOMAINS] + ['mta-sts.' + d for d in DOMAINS]
        cls.ca, cls.cert, cls.key = make_ca_and_certificate(cls.tmp, names)
        cls.https = PolicyServer(cls.cert, cls.key, {
            'mta-sts.sts-ok.test': policy('enforce', 'mx.sts-ok.test'),
            'mta-sts.sts-clear.test': policy('enforce', '*.sts-clear.test'),
            'mta-sts.sts-other.test': policy('enforce', 'mx.elsewhere.test'),
            'mta-sts.sts-testing.test': policy('testing', 'mx.sts-testing.test'),
            'mta-sts.sts-table.test': policy('enforce', 'mx.sts-table.test'),
        })
        hosts = {}
        for d in DOMAINS:
            hosts['mx.' + d] = ['127.0.0.1']
            hosts['mta-sts.' + d] = ['127.0.0.1']
        cls.dns = DnsServer(mx={d: [(10, 'mx.' + d)] for d in DOMAINS}, hosts=hosts,
                            txt={'_mta-sts.' + d: ['v=STSv1; id=20261206T1'] for d in DOMAINS})
        cls.dns.__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.dns.__exit__(None, None, None)
        cls.https.stop()
        subprocess.run(['rm', '-rf', cls.tmp])

    def peer(self, tls):
        context = None
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.cert, self.key)
        s = ScriptedSmtp(tls_context=context)
        self.addCleanup(s.stop)
        return s

    def server(self, domain, peer, **main):
        settings = {'relayhost': '%s:%d' % (domain, peer.port),  # MX lookup, the peer's port
                    'smtp_mta_sts_enable': 'yes',
                    'smtp_mta_sts_CAfile': self.ca,
                    'smtp_mta_sts_https_port': str(self.https.port),
                    'smtp_tls_CAfile': self.ca}
        settings.update(main)
        return test_smtp_client.SmtpClientTest.server(self, self.dns, **settings)

    def status_line(self, srv, rcpt, status):
        return test_smtp_client.SmtpClientTest.wait_status(self, srv, rcpt, status)

    def test_enforce_with_a_verified_mx_delivers_and_caches_the_policy(self):
        peer = self.peer(tls=True)
        srv = self.server('sts-ok.test', peer)
        test_smtp_client.send(srv, ['ann@sts-ok.test'], subject='first')
        line = self.status_line(srv, 'ann@sts-ok.test', 'sent')
        self.assertIn('relay=mx.sts-ok.test[127.0.0.1]:%d' % peer.port, line)
        log = srv.log()
        self.assertIn('MTA-STS policy for sts-ok.test fetched: id 20261206T1, mode enforce', log)
        self.assertRegex(log, r'Verified TLS connection established to mx\.sts-ok\.test')
        self.assertEqual(self.https.count('sts-ok.test'), 1)
        cache = os.path.join(srv.spool, 'mta-sts', 'sts-ok.test')
        with open(cache) as f:
            self.assertIn('mx mx.sts-ok.test\n', f.read())
        # The second message uses the cached policy: no second fetch.
        test_smtp_client.send(srv, ['bea@sts-ok.test'], subject='second')
        self.status_line(srv, 'bea@sts-ok.test', 'sent')
        self.assertEqual(self.https.count('sts-ok.test'), 1)
        self.assertEqual(len(peer.accepted), 2)

    def test_enforce_without_starttls_is_deferred_and_nothing_is_sent_in_clear(self):
        peer = self.peer(tls=False)
        srv = self.server('sts-clear.test', peer)
        test_smtp_client.send(srv, ['cid@sts-clear.test'])
        line = self.status_line(srv, 'cid@sts-clear.test', 'deferred')
        self.assertIn('dsn=4.7.5', line)
        self.assertIn('MTA-STS policy for sts-clear.test: TLS is required, but was not offered',
                      line)
        self.assertFalse(any(c.upper().startswith('MAIL') for c in peer.commands),
                         peer.commands)
        self.assertEqual(peer.accepted, [])

    def test_enforce_with_an_mx_not_in_the_policy_is_deferred(self):
        peer = self.peer(tls=True)
        srv = self.server('sts-other.test', peer)
        test_smtp_client.send(srv, ['dan@sts-other.test'])
        line = self.status_line(srv, 'dan@sts-other.test', 'deferred')
        self.assertIn('dsn=4.7.5', line)
        self.assertIn('MTA-STS policy for sts-other.test: no MX host matches the policy', line)
        self.assertIn('MX host mx.sts-other.test does not match the policy, skipped', srv.log())
        self.assertEqual(peer.connections, 0)

    def test_testing_mode_delivers_in_clear_and_logs_what_would_have_failed(self):
        peer = self.peer(tls=False)
        srv = self.server('sts-testing.test', peer)
        test_smtp_client.send(srv, ['eve@sts-testing.test'])
        self.status_line(srv, 'eve@sts-testing.test', 'sent')
        self.assertIn('MTA-STS policy for sts-testing.test (testing): delivery to '
                      'mx.sts-testing.test would have been deferred: TLS not used', srv.log())
        self.assertEqual(len(peer.accepted), 1)

    def test_a_tls_policy_table_entry_wins_over_mta_sts(self):
        peer = self.peer(tls=False)
        # The table is searched with the next hop as written, port included.
        srv = self.server('sts-table.test', peer,
                          smtp_tls_policy_maps='inline:{ sts-table.test:%d=may }' % peer.port)
        test_smtp_client.send(srv, ['fay@sts-table.test'])
        self.status_line(srv, 'fay@sts-table.test', 'sent')
        self.assertEqual(self.https.count('sts-table.test'), 0)
        self.assertEqual(len(peer.accepted), 1)


if __name__ == '__main__':
    unittest.main()
