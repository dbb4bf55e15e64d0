#!/usr/bin/python3
"""policy_tables.py: the large access tables of bench/run.sh --policy (issue 19's benchmark).

Writes into DIR:
  clients.cidr  a cidr_table(5) of COUNT distinct networks, each `REJECT`: about 70% IPv4 /32,
                20% /24, 5% /16 and 5% IPv6 /64, none inside 127.0.0.0/8 (the load's
                clients pass), then one probe line `127.0.0.2/32 REJECT` (the last of the
                file: a session from 127.0.0.2 must be refused, which shows the table is
                consulted).
  senders       an access(5) source of COUNT distinct keys, each `REJECT`: half addresses
                (`uN@dM.senders.example`), half domains (`dN.domains.example`), none at
                `localhost` (the load's sender and recipients); compile it with
                `estafeta map lmdb:DIR/senders`. A probe sender and recipient (printed on stdout
                as `PROBE_SENDER=...` / `PROBE_DOMAIN=...`) are keys of it.

Deterministic (fixed seed). Standard library only.

usage: policy_tables.py DIR [COUNT]
"""

import ipaddress
import os
import random
import sys


def cidr_networks(rng, count):
    seen = set()
    lines = []
    shares = ((32, 0.70), (24, 0.20), (16, 0.05))
    for prefix, share in shares:
        want = int(count * share)
        while want > 0:
            first = rng.randrange(1, 224)
            if first == 127:
                continue
            addr = (first << 24) | rng.randrange(0, 1 << 24)
            net = ipaddress.IPv4Network((addr, prefix), strict=False)
            text = str(net)
            if text in seen:
                continue
            seen.add(text)
            lines.append(text)
            want -= 1
    while len(lines) < count:
        addr = (0x2001_0db8 << 96) | (rng.getrandbits(32) << 64)
        text = str(ipaddress.IPv6Network((addr, 64)))
        if text in seen:
            continue
        seen.add(text)
        lines.append(text)
    rng.shuffle(lines)
    return lines


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    out = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) == 3 else 1_000_000
    rng = random.Random(19)

    with open(os.path.join(out, "clients.cidr"), "w") as f:
        f.write("# bench/policy_tables.py: %d networks, none in 127.0.0.0/8\n" % count)
        for net in cidr_networks(rng, count):
            f.write(net + "\tREJECT listed client\n")
        f.write("127.0.0.2/32\tREJECT probe client\n")

    with open(os.path.join(out, "senders"), "w") as f:
        addresses = count // 2
        for i in range(addresses):
            f.write("u%d@d%d.senders.example\tREJECT listed sender\n" % (i, i % 9973))
        for i in range(count - addresses):
            f.write("d%d.domains.example\tREJECT listed domain\n" % i)
    print("PROBE_SENDER=u%d@d%d.senders.example" % (addresses // 2, (addresses // 2) % 9973))
    print("PROBE_DOMAIN=d%d.domains.example" % ((count - addresses) // 2))


if __name__ == "__main__":
    main()
