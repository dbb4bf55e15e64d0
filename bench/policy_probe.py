#!/usr/bin/python3
"""policy_probe.py: one SMTP session up to RCPT, for bench/run.sh --policy's checks that a
configuration really consults its table or DNS list before it is measured.

Connects to 127.0.0.1:PORT from SOURCE (a loopback address), says EHLO, MAIL FROM:<SENDER>,
RCPT TO:<RECIPIENT>, then QUIT, and exits 0 when the RCPT reply's first digit is EXPECT
(2: accepted, 5: refused), else prints the conversation on stderr and exits 1.

usage: policy_probe.py PORT SOURCE SENDER RECIPIENT EXPECT
"""

import socket
import sys


def reply(f):
    lines = []
    while True:
        line = f.readline()
        if not line:
            raise ConnectionError("connection closed")
        lines.append(line.decode("ascii", "replace").rstrip("\r\n"))
        if len(line) < 4 or line[3:4] != b"-":
            return lines


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    port, source, sender, recipient, expect = sys.argv[1:]
    transcript = []
    with socket.socket() as s:
        s.settimeout(30)
        s.bind((source, 0))
        s.connect(("127.0.0.1", int(port)))
        f = s.makefile("rb")
        transcript += reply(f)
        last = []
        for command in ("EHLO probe.localhost", "MAIL FROM:<%s>" % sender,
                        "RCPT TO:<%s>" % recipient):
            s.sendall(command.encode() + b"\r\n")
            transcript.append(">>> " + command)
            last = reply(f)
            transcript += last
        s.sendall(b"QUIT\r\n")
    if last and last[-1][:1] == expect:
        print("probe from %s, <%s> -> <%s>: %s" % (source, sender, recipient, last[-1]))
        return 0
    sys.stderr.write("probe expected %sxx:\n%s\n" % (expect, "\n".join(transcript)))
    return 1


if __name__ == "__main__":
    sys.exit(main())
