# DANE in the smtp agent (issue 18 items 3 and 7; docs/smtp-tls.md) with real DNSSEC on
# loopback: the test signs a zone dane.test with ldns-keygen and ldns-signzone, nsd serves it
# as its authoritative server, unbound validates it (the test's key as trust anchor, a stub
# zone to nsd, nothing asked of the root) and Estafeta's resolver_nameservers points at
# unbound with smtp_dns_support_level = dnssec. The receiving peers are scripted SMTP servers
# with STARTTLS and a certificate the test makes; the zone publishes its key as TLSA 3 1 1.
#  - a matching TLSA record: delivered, "Verified TLS connection established" logged;
#  - a wrong digest: deferred with the verification failure, the peer never sees MAIL;
#  - no TLSA records (a secure denial): delivered as with `may`;
#  - dane-only (from smtp_tls_policy_maps) without TLSA records: deferred, nothing sent;
#  - an insecure MX (smtp_tls_dane_insecure_mx_policy): nsd also serves an unsigned zone
#    plain.test, outside the trust anchor, so unbound answers for it without the AD bit; its
#    MX records name hosts in the signed zone. With the default policy (dane) a wrong TLSA
#    digest defers (nothing sent) and a matching one delivers, logged "Trusted", not
#    "Verified"; with policy `may` the wrong digest is ignored and the mail delivered.
# nsd and unbound run in the foreground as children of the test, in a temporary directory.
# Without one of the programs the test is skipped, except under CI (CI=true), which installs
# them (scripts/setup.sh), where that is a failure.
import hashlib
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import unittest

import harness
import test_smtp_client
import tools
from scripted_smtp import ScriptedSmtp

PROGRAMS = ('nsd', 'unbound', 'ldns-keygen', 'ldns-signzone', 'openssl')
ZONE = 'dane.test'
PLAIN_ZONE = 'plain.test'  # unsigned, outside the trust anchor


def programs():
    """The programs' paths; skips (or fails under CI) when one is missing."""
    found = {}
    for name in PROGRAMS:
        try:
            found[name] = tools.require(name)
        except tools.MissingTool as missing:
            if os.environ.get('CI') == 'true':
                raise
            raise unittest.SkipTest(str(missing))
    return found


def run(argv, cwd):
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=harness.TIMEOUT)
    if done.returncode != 0:
        raise AssertionError('%s failed: %s%s' % (' '.join(argv), done.stdout, done.stderr))
    return done.stdout


def udp_answers(port):
    """True once something answers a DNS query (for the root's SOA) on 127.0.0.1:port."""
    query = bytes.fromhex('abcd01000001000000000000') + b'\x00' + bytes.fromhex('00060001')
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.5)
        try:
            s.sendto(query, ('127.0.0.1', port))
            return s.recv(512)[:2] == b'\xab\xcd'
        except OSError:
            return False


def free_udp_and_tcp_port():
    while True:
        port = harness.free_port()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind(('127.0.0.1', port))
                return port
            except OSError:
                continue


class Child:
    """A program in the foreground, its output in a file; stopped by stop()."""

    def __init__(self, argv, log_path, ready):
        self.log_path = log_path
        self.log = open(log_path, 'wb')
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        if not harness.wait_until(lambda: self.proc.poll() is None and ready(), 20):
            self.stop()
            raise AssertionError('%s did not start:\n%s' % (argv[0], self.output()))

    def output(self):
        with open(self.log_path, errors='replace') as f:
            return f.read()

    def stop(self):
        harness.stop_process(self.proc, 10)
        self.log.close()


def make_certificate(directory):
    """A self-signed certificate and key; returns (cert, key, SHA-256 of its public key)."""
    cert = os.path.join(directory, 'peer-cert.pem')
    key = os.path.join(directory, 'peer-key.pem')
    openssl = tools.require('openssl')
    run([openssl, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
         '-nodes', '-subj', '/CN=mx.dane.test', '-days', '2', '-keyout', key, '-out', cert],
        directory)
    pubkey = subprocess.run([openssl, 'x509', '-noout', '-pubkey', '-in', cert],
                            capture_output=True, check=True).stdout
    der = subprocess.run([openssl, 'pkey', '-pubin', '-outform', 'DER'], input=pubkey,
                         capture_output=True, check=True).stdout
    return cert, key, hashlib.sha256(der).hexdigest()


class DaneDns:
    """The signed zone, nsd serving it and unbound validating it; `nameserver` is unbound."""

    def __init__(self, tools_found, records, plain_records=()):
        self.dir = tempfile.mkdtemp(prefix='estafeta-dane-')
        os.chmod(self.dir, 0o755)
        self.children = []
        try:
            self._start(tools_found, records, plain_records)
        except BaseException:
            self.stop()
            raise

    @staticmethod
    def _write_zone(path, zone, records):
        with open(path, 'w') as f:
            f.write('$ORIGIN %s.\n$TTL 300\n' % zone)
            f.write('@ IN SOA ns.%s. hostmaster.%s. 1 3600 600 86400 300\n' % (zone, zone))
            f.write('@ IN NS ns.%s.\nns IN A 127.0.0.1\n' % zone)
            f.write(''.join(line + '\n' for line in records))

    def _start(self, found, records, plain_records):
        d = self.dir
        zone_file = os.path.join(d, ZONE + '.zone')
        self._write_zone(zone_file, ZONE, records)
        self._write_zone(os.path.join(d, PLAIN_ZONE + '.zone'), PLAIN_ZONE, plain_records)
        ksk = run([found['ldns-keygen'], '-a', 'ECDSAP256SHA256', '-k', ZONE], d).strip()
        zsk = run([found['ldns-keygen'], '-a', 'ECDSAP256SHA256', ZONE], d).strip()
        run([found['ldns-signzone'], zone_file, ksk, zsk], d)
        anchor = os.path.join(d, ksk + '.key')

        nsd_port = free_udp_and_tcp_port()
        nsd_conf = os.path.join(d, 'nsd.conf')
        with open(nsd_conf, 'w') as f:
            f.write('server:\n'
                    '  ip-address: 127.0.0.1@%d\n'
                    '  port: %d\n'
                    '  username: ""\n'
                    '  chroot: ""\n'
                    '  database: ""\n'
                    '  zonesdir: "{d}"\n'
                    '  zonelistfile: "{d}/zone.list"\n'
                    '  xfrdfile: "{d}/xfrd.state"\n'
                    '  xfrdir: "{d}"\n'
                    '  pidfile: "{d}/nsd.pid"\n'
                    '  server-count: 1\n'
                    '  verbosity: 1\n'
                    'remote-control:\n'
                    '  control-enable: no\n'
                    'zone:\n'
                    '  name: "%s"\n'
                    '  zonefile: "{d}/%s.zone.signed"\n'
                    'zone:\n'
                    '  name: "%s"\n'
                    '  zonefile: "{d}/%s.zone"\n'
                    .replace('{d}', d) % (nsd_port, nsd_port, ZONE, ZONE, PLAIN_ZONE,
                                          PLAIN_ZONE))
        self.children.append(Child([found['nsd'], '-d', '-c', nsd_conf],
                                   os.path.join(d, 'nsd.log'), lambda: udp_answers(nsd_port)))

        self.port = free_udp_and_tcp_port()
        unbound_conf = os.path.join(d, 'unbound.conf')
        with open(unbound_conf, 'w') as f:
            f.write('server:\n'
                    '  interface: 127.0.0.1\n'
                    '  port: %d\n'
                    '  do-ip6: no\n'
                    '  do-daemonize: no\n'
                    '  username: ""\n'
                    '  chroot: ""\n'
                    '  directory: "{d}"\n'
                    '  pidfile: "{d}/unbound.pid"\n'
                    '  use-syslog: no\n'
                    '  logfile: ""\n'
                    '  verbosity: 1\n'
                    '  val-log-level: 2\n'
                    '  access-control: 127.0.0.0/8 allow\n'
                    '  do-not-query-localhost: no\n'
                    '  qname-minimisation: no\n'
                    '  module-config: "validator iterator"\n'
                    '  trust-anchor-file: "%s"\n'
                    '  local-zone: "test." nodefault\n'
                    '  # Only the stub zone is ever asked: no root hints are used.\n'
                    '  root-hints: ""\n'
                    'remote-control:\n'
                    '  control-enable: no\n'
                    'stub-zone:\n'
                    '  name: "%s"\n'
                    '  stub-addr: 127.0.0.1@%d\n'
                    'stub-zone:\n'
                    '  name: "%s"\n'
                    '  stub-addr: 127.0.0.1@%d\n'
                    .replace('{d}', d) % (self.port, anchor, ZONE, nsd_port, PLAIN_ZONE,
                                          nsd_port))
        self.children.append(Child([found['unbound'], '-d', '-c', unbound_conf],
                                   os.path.join(d, 'unbound.log'), lambda: udp_answers(self.port)))
        self.nameserver = '127.0.0.1:%d' % self.port

    def logs(self):
        return '\n'.join(c.output() for c in self.children)

    def stop(self):
        for child in reversed(self.children):
            child.stop()
        self.children = []
        shutil.rmtree(self.dir, ignore_errors=True)


def tls_peer(cert, key):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return ScriptedSmtp(tls_context=context)


class SmtpDaneTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        found = programs()
        cls.tmp = tempfile.mkdtemp(prefix='estafeta-dane-peer-')
        os.chmod(cls.tmp, 0o755)
        cert, key, spki = make_certificate(cls.tmp)
        wrong = '%064x' % (int(spki, 16) ^ 1)
        # One peer per case, so that "nothing was sent" is about that case alone.
        cls.peers = {name: tls_peer(cert, key) for name in ('good', 'bad', 'none', 'only')}
        # Named by the MX records of the unsigned zone: CASE.plain.test MX mx-CASE.dane.test.
        insecure = {'insecure-bad': wrong, 'insecure-may': wrong, 'insecure-good': spki}
        cls.peers.update({name: tls_peer(cert, key) for name in insecure})
        records = []
        plain_records = []
        for name, peer in cls.peers.items():
            if name in insecure:
                plain_records.append('%s IN MX 10 mx-%s.%s.' % (name, name, ZONE))
            else:
                records.append('%s IN MX 10 mx-%s' % (name, name))
            records.append('mx-%s IN A 127.0.0.1' % name)
        records.append('_%d._tcp.mx-good IN TLSA 3 1 1 %s' % (cls.peers['good'].port, spki))
        records.append('_%d._tcp.mx-bad IN TLSA 3 1 1 %s' % (cls.peers['bad'].port, wrong))
        for name, digest in insecure.items():
            records.append('_%d._tcp.mx-%s IN TLSA 3 1 1 %s'
                           % (cls.peers[name].port, name, digest))
        try:
            cls.dns = DaneDns(found, records, plain_records)
        except BaseException:
            cls._stop_peers()
            raise

    @classmethod
    def _stop_peers(cls):
        for peer in cls.peers.values():
            peer.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def tearDownClass(cls):
        cls.dns.stop()
        cls._stop_peers()

    def server(self, case, **main):
        zone = PLAIN_ZONE if case.startswith('insecure-') else ZONE
        settings = {
            'smtp_dns_support_level': 'dnssec',
            'smtp_tls_security_level': 'dane',
            # The MX lookup of CASE.dane.test (or CASE.plain.test), then the peer's port.
            'relayhost': '%s.%s:%d' % (case, zone, self.peers[case].port),
        }
        settings.update(main)
        return test_smtp_client.SmtpClientTest.server(self, self.dns, **settings)

    def send(self, srv, recipient):
        test_smtp_client.send(srv, [recipient], subject='dane')

    def wait_status(self, srv, address, status):
        return test_smtp_client.SmtpClientTest.wait_status(self, srv, address, status)

    def assert_nothing_sent(self, peer):
        self.assertFalse([c for c in peer.commands
                          if c.upper().startswith(('MAIL', 'RCPT', 'DATA'))], peer.commands)
        self.assertEqual(peer.accepted, [])

    def test_matching_tlsa_record_delivers_verified(self):
        peer = self.peers['good']
        srv = self.server('good')
        self.send(srv, 'bob@remote.example')
        line = self.wait_status(srv, 'bob@remote.example', 'sent')
        self.assertIn('relay=mx-good.dane.test[127.0.0.1]:%d' % peer.port, line)
        self.assertRegex(srv.log(), r'Verified TLS connection established to '
                                    r'mx-good\.dane\.test\[127\.0\.0\.1\]:%d: TLSv1\.[23] with '
                                    r'cipher ' % peer.port)
        self.assertIn('STARTTLS', peer.commands)
        self.assertEqual([a[1] for a in peer.accepted], [['bob@remote.example']])

    def test_wrong_tlsa_digest_is_deferred_and_nothing_is_sent(self):
        peer = self.peers['bad']
        srv = self.server('bad')
        self.send(srv, 'carol@remote.example')
        line = self.wait_status(srv, 'carol@remote.example', 'deferred')
        self.assertIn('dsn=4.7.5', line)
        self.assertIn('DANE certificate verification failed: no matching DANE TLSA records',
                      line)
        self.assertIn('Untrusted TLS connection established to mx-bad.dane.test', srv.log())
        self.assertIn('STARTTLS', peer.commands)
        self.assert_nothing_sent(peer)

    def test_no_tlsa_records_delivers_as_may(self):
        peer = self.peers['none']
        srv = self.server('none')
        self.send(srv, 'dave@remote.example')
        self.wait_status(srv, 'dave@remote.example', 'sent')
        self.assertNotIn('Verified TLS connection', srv.log())
        self.assertEqual([a[1] for a in peer.accepted], [['dave@remote.example']])

    def test_dane_only_from_the_policy_table_without_tlsa_is_deferred(self):
        peer = self.peers['only']
        table = os.path.join(self.tmp, 'tls_policy')
        with open(table, 'w') as f:
            f.write('only.%s:%d dane-only\n' % (ZONE, peer.port))
        os.chmod(table, 0o644)
        srv = self.server('only', smtp_tls_policy_maps='texthash:' + table)
        self.send(srv, 'erin@remote.example')
        line = self.wait_status(srv, 'erin@remote.example', 'deferred')
        self.assertIn('dsn=4.7.5', line)
        self.assertIn('DANE required, but no TLSA records found for _%d._tcp.mx-only.dane.test'
                      % peer.port, line)
        self.assertEqual(peer.connections, 0)
        self.assert_nothing_sent(peer)

    def test_insecure_mx_default_policy_uses_the_hosts_tlsa_records(self):
        # smtp_tls_dane_insecure_mx_policy = dane (the default): the MX answer is not
        # validated, the host's address and TLSA answers are; the wrong digest defers.
        peer = self.peers['insecure-bad']
        srv = self.server('insecure-bad')
        self.send(srv, 'frank@remote.example')
        line = self.wait_status(srv, 'frank@remote.example', 'deferred')
        self.assertIn('dsn=4.7.5', line)
        self.assertIn('DANE certificate verification failed: no matching DANE TLSA records',
                      line)
        self.assertIn('STARTTLS', peer.commands)
        self.assert_nothing_sent(peer)

    def test_insecure_mx_match_is_logged_trusted_not_verified(self):
        peer = self.peers['insecure-good']
        srv = self.server('insecure-good')
        self.send(srv, 'gina@remote.example')
        self.wait_status(srv, 'gina@remote.example', 'sent')
        self.assertRegex(srv.log(), r'Trusted TLS connection established to '
                                    r'mx-insecure-good\.dane\.test\[127\.0\.0\.1\]:%d: '
                                    % peer.port)
        self.assertNotIn('Verified TLS connection', srv.log())
        self.assertEqual([a[1] for a in peer.accepted], [['gina@remote.example']])

    def test_insecure_mx_policy_may_ignores_the_tlsa_records(self):
        peer = self.peers['insecure-may']
        srv = self.server('insecure-may', smtp_tls_dane_insecure_mx_policy='may')
        self.send(srv, 'hank@remote.example')
        self.wait_status(srv, 'hank@remote.example', 'sent')
        self.assertNotIn('parameter smtp_tls_dane_insecure_mx_policy is not implemented',
                         srv.log())
        self.assertIn('STARTTLS', peer.commands)
        self.assertEqual([a[1] for a in peer.accepted], [['hank@remote.example']])


if __name__ == '__main__':
    unittest.main()
