# A private DNS server for integration tests: Debian's dnsmasq on 127.0.0.1 and a free UDP+TCP
# port, answering only the records a test gives. Names under `.test` (and any zone passed as
# `local_zones`) come from those records alone: an unknown name is NXDOMAIN, a name with
# records of other types is NODATA, and nothing is ever forwarded to a real nameserver.
# `servfail` names are REFUSED (a temporary failure for the client); `timeout` names are
# forwarded to a closed port and never answered. Point Estafeta at it with
# `resolver_nameservers = <server.nameserver>`.
#
#   with DnsServer(mx={'example.test': [(10, 'mx1.example.test')]},
#                  hosts={'mx1.example.test': ['127.0.0.1']}) as dns:
#       settings['resolver_nameservers'] = dns.nameserver
#
# With `authoritative` zones, dnsmasq answers those zones as their authoritative server does:
# records with the TTL `auth_ttl`, and a negative answer (NXDOMAIN, NODATA) with the zone's SOA
# in the authority section (its TTL and MINIMUM `auth_ttl` too), so that a resolver may keep
# it (RFC 2308), as real DNS lists answer. dnsmasq then answers no other name (REFUSED: a
# temporary failure for the client), so such a server serves the DNS list alone. Every query
# is logged: log() holds "query[A] name" (or "auth[A] name") lines.
#
# Stops dnsmasq by pid (harness.stop_process: SIGTERM, then SIGKILL) and removes its temp dir.
# Standard library only, besides the tests' own harness and tools.
import ipaddress
import os
import pwd
import shutil
import socket
import struct
import subprocess
import tempfile
import time

import harness
from tools import require

TIMEOUT = 10.0


def _free_udp_and_tcp_port():
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(('127.0.0.1', 0))
            port = udp.getsockname()[1]
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                    tcp.bind(('127.0.0.1', port))
                    return port
            except OSError:
                continue
    raise RuntimeError('no free port for dnsmasq')


def _unused_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(('127.0.0.1', 0))
        return udp.getsockname()[1]


def encode_query(name, qtype, ident=0x4242, ad=False):
    """A DNS query packet (RD set, AD if asked) for tests that talk to the server directly."""
    flags = 0x0100 | (0x0020 if ad else 0)
    labels = b''.join(bytes([len(label)]) + label.encode('ascii')
                      for label in name.rstrip('.').split('.') if label)
    return struct.pack('!HHHHHH', ident, flags, 1, 0, 0, 0) + labels + b'\0' + \
        struct.pack('!HH', qtype, 1)


def query(port, name, qtype, timeout=2.0):
    """(rcode, answer count) of one UDP query to 127.0.0.1:port, or None on timeout."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(encode_query(name, qtype), ('127.0.0.1', port))
        try:
            data, _ = s.recvfrom(4096)
        except socket.timeout:
            return None
    flags, _, answers = struct.unpack('!HHH', data[2:8])
    return flags & 0x0f, answers


class DnsServer:
    """dnsmasq serving:
      mx:      {domain: [(preference, host), ...]} ("." as host with preference 0: null MX)
      hosts:   {name: [address, ...]} (IPv4 and IPv6 mixed: A and AAAA records, and the
               PTR record of each address; give its reverse zone in `local_zones`)
      ptr:     {address: [name, ...]} (more PTR records, e.g. a name whose A record does not
               list the address)
      txt:     {name: [text, ...]} (one TXT record each; a text may not hold a comma)
      tlsa:    {name: [(usage, selector, matching_type, bytes), ...]}
      raw:     [(name, rr_type_number, bytes), ...] (any other record)
      servfail: [domain, ...] (answered REFUSED: the client's TempFail)
      timeout:  [domain, ...] (never answered: the client times out)
      local_zones: zones answered from these records only, besides `test`.
      authoritative: zones answered authoritatively (TTL auth_ttl, SOA in negative answers);
               then every other name is REFUSED."""

    def __init__(self, mx=None, hosts=None, txt=None, tlsa=None, raw=None, servfail=(),
                 timeout=(), local_zones=(), ptr=None, authoritative=(), auth_ttl=300):
        self.mx = dict(mx or {})
        self.hosts = dict(hosts or {})
        self.ptr = dict(ptr or {})
        self.txt = dict(txt or {})
        self.tlsa = dict(tlsa or {})
        self.raw = list(raw or [])
        self.servfail = list(servfail)
        self.timeout = list(timeout)
        self.local_zones = ['test'] + list(local_zones)
        self.authoritative = list(authoritative)
        self.auth_ttl = auth_ttl
        self.dir = None
        self.port = None
        self.process = None

    @property
    def nameserver(self):
        """The resolver_nameservers value for this server."""
        return '127.0.0.1:%d' % self.port

    def _record_options(self):
        options = ['--local=/%s/' % zone for zone in self.local_zones]
        for domain, entries in self.mx.items():
            for preference, host in entries:
                options.append('--mx-host=%s,%s,%d' % (domain, host, preference))
        for name, addresses in self.hosts.items():
            options.append('--host-record=%s,%s' % (name, ','.join(addresses)))
        for address, names in self.ptr.items():
            for name in names:
                options.append('--ptr-record=%s,%s'
                               % (ipaddress.ip_address(address).reverse_pointer, name))
        for name, texts in self.txt.items():
            for text in texts:
                if ',' in text:
                    raise ValueError('a TXT text for dnsmasq may not hold a comma: %r' % text)
                options.append('--txt-record=%s,%s' % (name, text))
        for name, records in self.tlsa.items():
            for usage, selector, matching, data in records:
                rdata = bytes([usage, selector, matching]) + bytes(data)
                options.append('--dns-rr=%s,52,%s' % (name, rdata.hex()))
        for name, rr_type, data in self.raw:
            options.append('--dns-rr=%s,%d,%s' % (name, rr_type, bytes(data).hex()))
        if self.authoritative:
            # Authoritative for queries arriving at 127.0.0.1 (all of ours).
            options += ['--auth-server=ns.%s,127.0.0.1' % self.authoritative[0],
                        '--auth-ttl=%d' % self.auth_ttl]
            options += ['--auth-zone=%s' % zone for zone in self.authoritative]
        for domain in self.servfail:
            options.append('--server=/%s/#' % domain)
        closed = _unused_udp_port()
        for domain in self.timeout:
            options.append('--server=/%s/127.0.0.1#%d' % (domain, closed))
        return options

    def __enter__(self):
        dnsmasq = require('dnsmasq')
        self.dir = tempfile.mkdtemp(prefix='estafeta-dns-')
        user = pwd.getpwuid(os.geteuid()).pw_name
        log_path = os.path.join(self.dir, 'dnsmasq.log')
        try:
            for _ in range(5):
                self.port = _free_udp_and_tcp_port()
                args = [dnsmasq, '--no-daemon', '--no-resolv', '--no-hosts', '--no-poll',
                        '--bind-interfaces', '--listen-address=127.0.0.1',
                        '--port=%d' % self.port, '--conf-file=/dev/null', '--user=' + user,
                        '--pid-file=' + os.path.join(self.dir, 'dnsmasq.pid'),
                        '--cache-size=0', '--log-queries'] + self._record_options()
                with open(log_path, 'ab') as log:
                    self.process = subprocess.Popen(args, stdout=log, stderr=log,
                                                    stdin=subprocess.DEVNULL)
                deadline = time.monotonic() + TIMEOUT
                while time.monotonic() < deadline and self.process.poll() is None:
                    if query(self.port, 'ready.test', 1, timeout=0.2) is not None:
                        return self
                if self.process.poll() is None:
                    raise RuntimeError('dnsmasq did not answer within %d s:\n%s'
                                       % (TIMEOUT, self.log()))
                self.process.wait()  # exited: most likely the port was taken meanwhile
            raise RuntimeError('dnsmasq did not start:\n%s' % self.log())
        except BaseException:
            self._stop()
            raise

    def log(self):
        try:
            with open(os.path.join(self.dir, 'dnsmasq.log'), errors='replace') as f:
                return f.read()
        except OSError:
            return ''

    def _stop(self):
        if self.process is not None:
            harness.stop_process(self.process, TIMEOUT)
        self.process = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __exit__(self, *exc):
        self._stop()
        return False
