"""Helpers for the maps integration tests: locating estafeta and postmap, private temp
directories, running `map -q -` on both tools, and generating tricky table inputs.

Every test uses its own temporary directory and a private Postfix config_directory (postmap
-c DIR); nothing touches /etc/postfix. Missing dependencies fail loudly, never skip."""
import os
import random
import shutil
import subprocess
import tempfile

import harness
import tools



def estafeta_bin():
    path = os.environ.get("ESTAFETA_BIN")
    if not path or not os.access(path, os.X_OK):
        raise AssertionError("ESTAFETA_BIN must name the built estafeta binary (got %r)" % path)
    return path


# Table types the differential tests compare, and the Debian package that adds each to Postfix.
POSTFIX_TABLE_PACKAGES = {"cidr": "postfix", "regexp": "postfix", "hash": "postfix",
                          "texthash": "postfix", "inline": "postfix", "static": "postfix",
                          "pcre": "postfix-pcre", "lmdb": "postfix-lmdb"}


def require_postmap(tmp):
    """postmap's path, after checking (with the private configuration directory of `tmp`, never
    /etc/postfix, which a machine with Postfix installed as "No configuration" lacks) that it
    knows every table type the tests compare."""
    postmap = tools.require("postmap")
    postconf = tools.require("postconf")
    probe = subprocess.run([postconf, "-c", tmp.path, "-m"], capture_output=True, text=True)
    if probe.returncode != 0:
        raise tools.MissingTool("postconf -c %s -m failed: %s" % (tmp.path, probe.stderr.strip()))
    known = probe.stdout.split()
    for needed, package in POSTFIX_TABLE_PACKAGES.items():
        if needed not in known:
            raise tools.MissingTool("postmap lacks table type %s (postconf -m: %s): "
                                    "apt-get install %s" % (needed, known, package))
    return postmap


class TempDir:
    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="estafeta-maps-")
        os.chmod(self.path, 0o755)
        # A private Postfix config directory so postmap never reads /etc/postfix.
        with open(os.path.join(self.path, "main.cf"), "w") as f:
            f.write("compatibility_level = 3.6\n")

    def file(self, name, text):
        path = os.path.join(self.path, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(text)
        return path

    def cleanup(self):
        shutil.rmtree(self.path, ignore_errors=True)


def run_postmap(tmp, args, stdin=None):
    return subprocess.run([require_postmap(tmp), "-c", tmp.path] + args, input=stdin, capture_output=True,
                          text=True, errors="surrogateescape")


def run_estafeta(args, stdin=None):
    return subprocess.run([estafeta_bin(), "map"] + args, input=stdin, capture_output=True,
                          text=True, errors="surrogateescape")


def warnings_of(stderr, program):
    """Sorted distinct warning texts without the program prefix. postmap's own query-time
    self-checks ("empty string result is not allowed", "should return NO RESULT") are left
    out. Distinct, because postmap -q - may read a texthash table more than once (each read
    repeats its warnings; seen 2 to 14 times per run, depending on timing)."""
    prefix = program + ": warning: "
    return sorted(set(line[len(prefix):] for line in stderr.splitlines()
                  if line.startswith(prefix) and "empty string result is not allowed" not in line
                  and "should return NO RESULT" not in line))


# ---- generators (seeded: failures are reproducible) -------------------------------------

def rand_word(rng, alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_+"):
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))


def texthash_source(rng, n):
    """Key/value lines with mixed case, comments, continuations, duplicates, blank lines,
    lines without a value and trailing whitespace. Returns (text, keys to query)."""
    lines, keys = [], []
    for i in range(n):
        key = rand_word(rng) + str(i % 97)
        keys.append(key)
        kind = rng.random()
        if kind < 0.05:
            lines.append("# comment " + key)
        elif kind < 0.10:
            lines.append(key)  # no value: postmap skips it with a warning
        elif kind < 0.15:
            lines.append("%s first part" % key)
            lines.append("   continued " + rand_word(rng))
            lines.append("\t# a comment inside a continuation")
            lines.append("  and more  ")
        elif kind < 0.20 and keys:
            lines.append("%s duplicate-%d" % (rng.choice(keys).swapcase(), i))
        elif kind < 0.23:
            lines.append("")
            lines.append("   ")
        else:
            lines.append("%s\t%s %s   " % (key, rand_word(rng), rand_word(rng)))
    queries = []
    for k in keys:
        queries += [k, k.upper(), k.lower(), k + "x"]
    return "\n".join(lines) + "\n", queries


def rand_ipv4(rng):
    return "%d.%d.%d.%d" % tuple(rng.choice([10, 192, 172, 1, 255, 0, rng.randint(0, 255)])
                                 if i == 0 else rng.randint(0, 255) for i in range(4))


def rand_ipv6(rng):
    groups = [rng.choice(["2001", "db8", "0", "fe80", "ffff", "%x" % rng.randint(0, 0xffff)])
              for _ in range(8)]
    text = ":".join(groups)
    if rng.random() < 0.3:
        text = text.replace(":0:0:", "::", 1)
    return text


def mask_v4(addr, bits):
    parts = [int(p) for p in addr.split(".")]
    value = (parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]
    value &= (0xffffffff << (32 - bits)) & 0xffffffff if bits else 0
    return ".".join(str((value >> s) & 255) for s in (24, 16, 8, 0))


def cidr_source(rng, n):
    import ipaddress
    lines, queries = [], []
    depth = 0
    for i in range(n):
        r = rng.random()
        if rng.random() < 0.5:
            bits = rng.choice([8, 12, 16, 20, 24, 28, 30, 32, 0])
            net = ipaddress.ip_network("%s/%d" % (rand_ipv4(rng), bits), strict=False)
        else:
            bits = rng.choice([16, 32, 48, 64, 96, 127, 128])
            net = ipaddress.ip_network("%s/%d" % (rand_ipv6(rng), bits), strict=False)
        pattern = str(net) if net.prefixlen != net.max_prefixlen or rng.random() < 0.5 \
            else str(net.network_address)
        host = net.network_address + rng.randint(0, min(net.num_addresses - 1, 1000))
        queries += [str(host), str(host).upper(), str(net.network_address)]
        if r < 0.04:
            lines.append("if %s%s" % ("!" if rng.random() < 0.3 else "", pattern))
            depth += 1
        elif r < 0.08 and depth:
            lines.append("endif")
            depth -= 1
        elif r < 0.11:
            lines.append("!%s neg-%d" % (pattern, i))
        elif r < 0.13:
            lines.append("[%s] bracket-%d" % (pattern.split("/")[0], i))
        elif r < 0.15:
            lines.append("%s/%d hostbits-%d" % (host, net.prefixlen, i))  # often malformed
        elif r < 0.16:
            lines.append("# comment")
        elif r < 0.17:
            lines.append("%s" % pattern)  # no result
        elif r < 0.19:
            lines.append("%s multi" % pattern)
            lines.append("  line value %d" % i)
        else:
            lines.append("%s value-%d %s" % (pattern, i, rand_word(rng)))
    queries += ["not-an-ip", "[1.2.3.4]", "", "::", "0.0.0.0", "255.255.255.255", "1.2.3"]
    return "\n".join(lines) + "\n", [q for q in queries if q]


REGEX_RULES = r"""# tricky rule file shared by pcre: and regexp:
/^(.*)@example\.com$/        local=$1
/^postmaster@/               postmaster
/^(abc)+$/                   repeated ${1}x
!/\./                        no-dot
if /\.org$/
/^([a-z]+)\.([a-z]+)\.org$/   two=$2/$1
if !/^www\./
/^(.+)$/                     not-www:$1
endif
/^www\./                     www
endif
/^CASE\.net$/i               case-sensitive
/^case\.net$/                case-insensitive
/^empty\.test$/
/^dollar\.test$/             cost: $$5
/^(x)?y\.test$/              [$1]
/^trail\.test$/              trailing spaces   
/^multi\.test$/              first
   second line
/bad-option/Z                never
/^unterminated
endif stray
/^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/ ipv4
"""


def regex_queries(rng, n):
    base = ["user@example.com", "User@EXAMPLE.COM", "postmaster@x.y", "abcabc", "plainword",
            "a.b.org", "www.b.org", "www.x.org", "sub.dom.org", "CASE.net", "case.net",
            "Case.Net", "empty.test", "dollar.test", "y.test", "xy.test", "trail.test",
            "multi.test", "bad-option", "192.0.2.1", "unterminated", ""]
    out = [q for q in base if q]
    for _ in range(n):
        w = rand_word(rng, "abcxyzABC.@0123456789-")
        out.append(w)
        out.append(rng.choice(["www.", "", "a."]) + w + rng.choice([".org", ".com", ".test", ""]))
    return out


# header_checks-style rules for the -h/-b query modes: folded headers, empty lines, body lines.
CHECKS_RULES = r"""/^Subject:.*viagra/         REJECT no spam
/^X-Folded: first.*second/   WARN folded
/^Received:/                 HOLD
/^$/                         EMPTY
/^ +indented/                BODY indented
/^[A-Za-z0-9-]+:/            header
/^(From|>From) /             mbox
"""

CHECKS_MESSAGES = [
    "Subject: buy\n viagra now\nX-Folded: first\n\tsecond\nTo: a@b\n\n  indented\n\nlast",
    "Received: from a\n\tby b\nReceived : x\nX-A:b\n\nSubject: in body\n",
    "From someone Mon Jan  1\nSubject: x\n\nbody\n",
    "Subject: no separator\nnot a header\n\n",
    "Subject: x\r\nTo: y\r\n\r\nbody\r\n",
    " starts folded\nSubject: x\n",
    "X-Only: headers\n",
    "",
    "\n\n\n",
    "A: b\n\t\n \nC: d\n\n\tbody\n",
]


def random_message(rng):
    """A message of generated header, continuation, blank and body lines."""
    lines = []
    for _ in range(rng.randint(0, 12)):
        r = rng.random()
        if r < 0.4:
            name = rng.choice(["Subject", "Received", "X-Folded", "To", "x-" + rand_word(rng)])
            lines.append("%s%s:%s" % (name, rng.choice(["", " ", "\t "]),
                                      rng.choice(["", " ", "  "]) + rand_word(rng)))
        elif r < 0.6:
            lines.append(rng.choice([" ", "\t", "  "]) + rng.choice(["indented", "second", ""]))
        elif r < 0.7:
            lines.append("")
        elif r < 0.8:
            lines.append(rng.choice(["From x", "viagra", "first", "Subject: viagra"]))
        else:
            lines.append(rand_word(rng))
    return "\n".join(lines) + rng.choice(["", "\n", "\n\n"])


# ---- servers for the remote tables ---------------------------------------------------------

import socket
import time

def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, what, attempts=300):
    """Polls until something accepts on 127.0.0.1:port (a readiness wait, not a timing
    assertion); fails if the server process exits first."""
    for _ in range(attempts):
        if proc.poll() is not None:
            raise AssertionError("%s exited early with %s" % (what, proc.returncode))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("%s did not start listening on port %d" % (what, port))


class RedisServer:
    def __init__(self, tmp):
        exe = tools.require("redis-server")
        self.port = free_port()
        self.proc = subprocess.Popen(
            [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", tmp.path],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, self.proc, "redis-server")

    def command(self, *args):
        """Sends one RESP command and returns the raw reply bytes (enough for SET/DEL)."""
        payload = "*%d\r\n" % len(args) + "".join(
            "$%d\r\n%s\r\n" % (len(a.encode()), a) for a in args)
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            s.sendall(payload.encode())
            return s.recv(4096)

    def stop(self):
        harness.stop_process(self.proc, 30)


class PostgresServer:
    """A throw-away PostgreSQL 15 cluster on loopback, run as the unprivileged postgres user
    when the tests run as root."""

    def __init__(self, tmp):
        self.bin = {tool: tools.require(tool) for tool in ("initdb", "postgres", "psql")}
        self.dir = os.path.join(tmp.path, "pg")
        os.makedirs(self.dir)
        self.as_user = []
        if os.geteuid() == 0:
            import pwd
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                raise AssertionError("running as root needs a 'postgres' user for initdb")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.port = free_port()
        data = os.path.join(self.dir, "data")
        subprocess.run(self.as_user + [self.bin["initdb"], "-D", data, "-U",
                                       "estafeta", "--auth=trust", "-E", "UTF8"],
                       check=True, capture_output=True)
        self.proc = subprocess.Popen(
            self.as_user + [self.bin["postgres"], "-D", data, "-p", str(self.port),
                            "-h", "127.0.0.1", "-k", self.dir, "-c", "fsync=off"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, self.proc, "postgres")

    def sql(self, statement, db="postgres"):
        psql = self.bin["psql"]
        for _ in range(100):  # the server may accept before it is ready for queries
            r = subprocess.run([psql, "-h", "127.0.0.1", "-p", str(self.port), "-U", "estafeta",
                                "-d", db, "-v", "ON_ERROR_STOP=1", "-c", statement],
                               capture_output=True, text=True)
            if r.returncode == 0:
                return r.stdout
            if "starting up" not in r.stderr:
                raise AssertionError("psql failed: " + r.stderr)
            time.sleep(0.1)
        raise AssertionError("postgres never became ready")

    def stop(self):
        harness.stop_process(self.proc, 30)


class SilentServer:
    """Accepts TCP connections on loopback and never answers: a hung database."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]

    def close(self):
        self.sock.close()
