#!/usr/bin/python3
"""report.py: turns bench/run.sh's results.jsonl into the markdown tables of bench/RESULTS.md.

Input: one JSON object per measurement ({"server", "load", "sessions", "size", "repeat",
"m": measure.py's output}). With several repeats a row shows the median rate. Output on stdout:
a header (date, command, machine), the rate table (Postfix, Estafeta, ratio, smtp-sink,
Estafeta/smtp-sink) and a CPU table (cores used by each server's process tree and by the client
during the measurement, and by the whole machine, from which the bound is read). A failed
measurement (not every message acknowledged and delivered) shows as FAIL.
With run.sh --policy (records with a "policy"), one table instead: each access-policy
configuration's rate and its ratio to the `none` run measured just before it.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import time

LOAD_NAMES = {
    "source": "smtp-source (connection per message)",
    "source-d": "smtp-source -d (one connection per session)",
    "pipeline": "smtp_pipeline_load (PIPELINING, DATA)",
    "bdat": "smtp_pipeline_load -B (PIPELINING, BDAT)",
}
LOAD_ORDER = list(LOAD_NAMES)


def size_name(size):
    return f"{size // 1024} KiB" if size % 1024 == 0 else f"{size} B"


def median_run(runs):
    """The run with the median rate (failed runs count as rate 0), or None."""
    if not runs:
        return None
    ordered = sorted(runs, key=lambda m: m.get("rate", 0) if m.get("ok") else 0)
    return ordered[(len(ordered) - 1) // 2]


def fmt_rate(m):
    if m is None:
        return "-"
    if not m.get("ok"):
        return "FAIL"
    return f"{m['rate']:,.0f}"


def ratio(a, b):
    if a is None or b is None or not a.get("ok") or not b.get("ok") or b["rate"] == 0:
        return "-"
    return f"{a['rate'] / b['rate']:.2f}"


def cores(m, key):
    if m is None or not m.get("seconds"):
        return "-"
    return f"{m[key] / m['seconds']:.2f}"


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        pf = subprocess.run(["postconf", "-dh", "mail_version"], capture_output=True,
                            text=True).stdout.strip()
    except OSError:
        pf = "?"
    return (f"{os.cpu_count()} CPUs ({model}), Linux {platform.release()}, "
            f"Postfix {pf}, load average at the end {os.getloadavg()[0]:.2f}")


POLICY_BOUNDS = {"cidr": 0.95, "lmdb": 0.95, "rbl": 0.90}  # issue 19's bounds against none


def policy_report(records):
    """run.sh --policy: each configuration's rate against the `none` run just before it."""
    keys, rates, ratios, cpu = [], {}, {}, {}
    last_none = {}
    for r in records:
        key = (r["load"], r["sessions"], r["size"])
        if key not in keys:
            keys.append(key)
        m, policy = r["m"], r["policy"]
        rate = m["rate"] if m.get("ok") else 0.0
        rates.setdefault((key, policy), []).append(rate)
        if m.get("ok") and m.get("seconds") and rate:
            cpu.setdefault((key, policy), []).append(
                1000 * m["server_cpu"] / (rate * m["seconds"]))
        if policy == "none":
            last_none[key] = rate
        elif last_none.get(key):
            ratios.setdefault((key, policy), []).append(rate / last_none[key])
    policies = []
    for r in records:
        if r["policy"] not in policies:
            policies.append(r["policy"])
    print("Each configuration's rate (msgs/s, median of its runs, then min-max) and server CPU "
          "(ms per message, median); ratio: its rate over the `none` run just before it, "
          "min / median / max over the rounds (issue 19's bounds: cidr and lmdb 0.95, rbl 0.90).")
    print()
    print("| load | sessions | size | configuration | msgs/s | min-max | CPU ms/msg "
          "| ratio min / median / max | bound met (median) |")
    print("| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |")
    for key in sorted(keys, key=lambda k: (LOAD_ORDER.index(k[0]), k[2], k[1])):
        for policy in policies:
            runs = rates.get((key, policy))
            if not runs:
                continue
            cpus = cpu.get((key, policy), [])
            cpu_text = f"{statistics.median(cpus):.2f}" if cpus else "-"
            ratio_text, met = "-", ""
            rs = ratios.get((key, policy))
            if rs:
                med = statistics.median(rs)
                ratio_text = f"{min(rs):.2f} / {med:.2f} / {max(rs):.2f}"
                bound = POLICY_BOUNDS.get(policy)
                met = "" if bound is None else ("yes" if med >= bound else "NO")
            print(f"| {LOAD_NAMES[key[0]]} | {key[1]} | {size_name(key[2])} | {policy} "
                  f"| {statistics.median(runs):,.0f} | {min(runs):,.0f}-{max(runs):,.0f} "
                  f"| {cpu_text} | {ratio_text} | {met} |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--command", default="bench/run.sh")
    ap.add_argument("results")
    args = ap.parse_args()
    with open(args.results) as f:
        records = [json.loads(line) for line in f]
    if any(r.get("policy") for r in records):
        print(f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  ")
        print(f"Command: `{args.command}`  ")
        print(f"Machine: {machine()}  ")
        print()
        policy_report(records)
        return
    rows = {}
    repeats = 1
    with open(args.results) as f:
        for line in f:
            r = json.loads(line)
            key = (r["load"], r["sessions"], r["size"])
            rows.setdefault(key, {}).setdefault(r["server"], []).append(r["m"])
            repeats = max(repeats, r["repeat"])
    keys = sorted(rows, key=lambda k: (LOAD_ORDER.index(k[0]), k[2], k[1]))

    print(f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  ")
    print(f"Command: `{args.command}`  ")
    print(f"Machine: {machine()}  ")
    print(f"Rates in msgs/s{', median of %d runs' % repeats if repeats > 1 else ''}; "
          "Postfix and Estafeta: first connect until the last acknowledged message is in "
          "Maildir/new; smtp-sink: client run time (no disk).")
    print()
    print("| load | sessions | size | Postfix | Estafeta | Estafeta/Postfix | smtp-sink "
          "| Estafeta/sink |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for key in keys:
        med = {s: median_run(runs) for s, runs in rows[key].items()}
        pf, es, sk = med.get("postfix"), med.get("estafeta"), med.get("sink")
        print(f"| {LOAD_NAMES[key[0]]} | {key[1]} | {size_name(key[2])} | {fmt_rate(pf)} "
              f"| {fmt_rate(es)} | {ratio(es, pf)} | {fmt_rate(sk)} | {ratio(es, sk)} |")
    print()
    print("CPU cores used during each median measurement (CPU seconds / elapsed seconds): "
          "server process tree, client, whole machine (includes other tenants); then sync "
          "calls (fsync, fdatasync, sync_file_range, machine-wide) per delivered message.")
    print()
    print("| load | sessions | size | Postfix srv/cli/all; syncs | Estafeta srv/cli/all; syncs "
          "| smtp-sink srv/cli/all |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for key in keys:
        med = {s: median_run(runs) for s, runs in rows[key].items()}
        cells = []
        for s in ("postfix", "estafeta", "sink"):
            m = med.get(s)
            if m is None or not m.get("seconds"):
                cells.append("-")
            else:
                syncs = m.get("syncs")
                per = m.get("delivered") or m.get("acked") or 0
                sync_text = f"; {syncs / per:.2f}" if syncs is not None and per else ""
                cells.append(f"{cores(m, 'server_cpu')} / {cores(m, 'client_cpu')} / "
                             f"{m['machine_busy_cores']:.2f}{sync_text}")
        print(f"| {LOAD_NAMES[key[0]]} | {key[1]} | {size_name(key[2])} | "
              + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
