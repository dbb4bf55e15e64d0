#!/usr/bin/python3
"""Lookup-table benchmarks for issue 8 (not a test: nothing here asserts a time).

Measures, on generated data in a temp dir, with Postfix's postmap as the baseline:
  1. cidr lookups/s through `map -q -` on 1,000 and 1,000,000 networks (ours and postmap's),
     per-key cost isolated by subtracting a 1-key run (so table load time cancels out);
  2. compiling a 1,000,000-entry table: `estafeta map lmdb:` vs `postmap lmdb:`;
  3. loading a 1,000,000-entry texthash table (seconds, resident memory) via maps_bench;
  4. in-process lookups/s for every type via maps_bench (one core).
Usage: maps_bench.py ESTAFETA_BIN MAPS_BENCH_BIN [--quick]
Prints a Markdown section to paste under "## Lookup tables (issue 8)" in bench/RESULTS.md."""
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

POSTMAP = "/usr/sbin/postmap"


def timed(cmd, stdin_path=None, cwd=None):
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    t0 = time.perf_counter()
    r = subprocess.run(cmd, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       cwd=cwd)
    dt = time.perf_counter() - t0
    if r.returncode not in (0, 1):
        raise SystemExit("%s failed: %s" % (cmd, r.stderr.decode()[-500:]))
    return dt


def best_of(n, fn):
    return min(fn() for _ in range(n))


def write_cidr(path, n, rng):
    nets = set()
    with open(path, "w") as f:
        while len(nets) < n:
            a = rng.randrange(1, 224) << 24 | rng.randrange(0, 1 << 24)
            bits = rng.choice([16, 20, 24, 24, 24, 28, 32, 32])
            a &= (0xffffffff << (32 - bits)) & 0xffffffff
            if (a, bits) in nets:
                continue
            nets.add((a, bits))
            f.write("%d.%d.%d.%d/%d REJECT listed-%d\n" % (
                a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255, bits, len(nets)))


def write_keys(path, n, rng):
    with open(path, "w") as f:
        for _ in range(n):
            a = rng.randrange(1, 224) << 24 | rng.randrange(0, 1 << 24)
            f.write("%d.%d.%d.%d\n" % (a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255))


def write_kv(path, n):
    with open(path, "w") as f:
        for i in range(n):
            f.write("user%d@example%d.com mailbox-%d@host.example\n" % (i, i % 1000, i))


def per_key_rate(cmd, table_spec, keys_many, n_many, keys_one, runs):
    t_many = best_of(runs, lambda: timed(cmd + ["-q", "-", table_spec], keys_many))
    t_one = best_of(runs, lambda: timed(cmd + ["-q", "-", table_spec], keys_one))
    per_key = max(t_many - t_one, 1e-9) / (n_many - 1)
    return 1.0 / per_key, t_one


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    estafeta, bench = sys.argv[1], sys.argv[2]
    quick = "--quick" in sys.argv
    big = 100_000 if quick else 1_000_000
    rng = random.Random(8)
    tmp = tempfile.mkdtemp(prefix="maps-bench-")
    os.chmod(tmp, 0o755)
    with open(os.path.join(tmp, "main.cf"), "w") as f:
        f.write("compatibility_level = 3.6\n")
    ours = [estafeta, "map"]
    theirs = [POSTMAP, "-c", tmp]
    out = []
    try:
        p = lambda name: os.path.join(tmp, name)
        write_keys(p("keys100k"), 100_000, rng)
        write_keys(p("keys1000"), 1000, rng)
        write_keys(p("keys1"), 1, rng)
        shutil.copy(p("keys100k"), p("keys-bench"))
        rows = []
        for n in (1000, big):
            write_cidr(p("c%d.cidr" % n), n, rng)
            spec = "cidr:" + p("c%d.cidr" % n)
            ours_rate, ours_load = per_key_rate(ours, spec, p("keys100k"), 100_000, p("keys1"), 3)
            # postmap scans the table line by line: fewer keys keep its run in seconds.
            if n <= 1000:
                theirs_rate, theirs_load = per_key_rate(theirs, spec, p("keys100k"), 100_000,
                                                        p("keys1"), 3)
            else:
                theirs_rate, theirs_load = per_key_rate(theirs, spec, p("keys1000"), 1000,
                                                        p("keys1"), 1)
            rows.append((n, ours_rate, theirs_rate, ours_load, theirs_load))
        out.append("### cidr lookups through `map -q -` (per-key cost, load subtracted)\n")
        out.append("| networks | estafeta lookups/s | postmap lookups/s | ratio | estafeta load s | postmap load s |")
        out.append("| ---: | ---: | ---: | ---: | ---: | ---: |")
        for n, a, b, la, lb in rows:
            out.append("| %s | %s | %s | %.0fx | %.2f | %.2f |" % (
                f"{n:,}", f"{a:,.0f}", f"{b:,.0f}", a / b, la, lb))
        # Compile
        write_kv(p("ours.txt"), big)
        shutil.copy(p("ours.txt"), p("theirs.txt"))
        t_ours = best_of(2, lambda: timed(ours + ["lmdb:" + p("ours.txt")]))
        t_theirs = best_of(2, lambda: timed(theirs + ["lmdb:" + p("theirs.txt")]))
        out.append("\n### compiling a %s-entry table\n" % f"{big:,}")
        out.append("| tool | seconds | ratio (postmap / estafeta) |")
        out.append("| --- | ---: | ---: |")
        out.append("| `estafeta map lmdb:` | %.2f | %.1fx |" % (t_ours, t_theirs / t_ours))
        out.append("| `postmap lmdb:` | %.2f | 1.0x |" % t_theirs)
        # texthash load
        r = subprocess.run([bench, "load", "texthash:" + p("ours.txt")], capture_output=True,
                           text=True, check=True)
        out.append("\n### loading a %s-entry texthash table at start\n" % f"{big:,}")
        out.append("`maps_bench load`: " + r.stdout.strip())
        # In-process rates
        with open(p("kv-keys"), "w") as f:
            for i in range(0, big, 7):
                f.write("user%d@example%d.com\n" % (i, i % 1000))
        with open(p("rules.pcre"), "w") as f:
            for i in range(100):
                f.write("/^user%d@example[0-9]+\\.com$/ rule-%d\n" % (i * 37, i))
        shutil.copy(p("rules.pcre"), p("rules.regexp"))
        specs = [
            ("texthash (%s)" % f"{big:,}", "texthash:" + p("ours.txt"), p("kv-keys")),
            ("lmdb (%s)" % f"{big:,}", "lmdb:" + p("ours.txt"), p("kv-keys")),
            ("cidr (1,000)", "cidr:" + p("c1000.cidr"), p("keys100k")),
            ("cidr (%s)" % f"{big:,}", "cidr:" + p("c%d.cidr" % big), p("keys100k")),
            ("pcre (100 rules)", "pcre:" + p("rules.pcre"), p("kv-keys")),
            ("regexp (100 rules)", "regexp:" + p("rules.regexp"), p("kv-keys")),
            ("inline (3)", "inline:{a=1,b=2,user0@example0.com=x}", p("kv-keys")),
            ("static", "static:OK", p("kv-keys")),
        ]
        out.append("\n### in-process lookups per second, one thread (`maps_bench lookup`)\n")
        out.append("| table | lookups/s |")
        out.append("| --- | ---: |")
        for label, spec, keys in specs:
            r = subprocess.run([bench, "lookup", spec, keys, "2"], capture_output=True,
                               text=True, check=True)
            rate = float(r.stdout.split("lookups_per_second=")[1])
            out.append("| %s | %s |" % (label, f"{rate:,.0f}"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("\n".join(out))


if __name__ == "__main__":
    main()
