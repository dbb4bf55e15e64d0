#!/usr/bin/python3
"""measure.py: one benchmark measurement for bench/run.sh (stdlib only).

Runs a load client (smtp-source or smtp_pipeline_load) and, when --maildir is given, waits
until as many files sit in MAILDIR/new as the client had acknowledged. The measured time runs
from just before the client starts (its first connect) until the last of those files appears,
so only mail that was queued, acknowledged and delivered counts. Also samples CPU time of the
server's process tree (--pids, with every descendant, reaped ones included), of the client,
and of the whole machine (/proc/stat) over the same interval. Prints one JSON object on stdout;
exit status 0 iff every message was acknowledged (and delivered, with --maildir).
With --fsyncs, also counts fsync/fdatasync/sync_file_range calls machine-wide over the interval
with `perf stat -a` (other tenants' calls included; O_SYNC writes and io_uring not seen).
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_table():
    """pid -> (ppid, own cpu ticks, reaped children's cpu ticks) for every live process."""
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                data = f.read().decode("ascii", "replace")
        except OSError:
            continue
        # Field 2 (comm) may contain spaces and parentheses: split after the last ')'.
        rest = data[data.rfind(")") + 2:].split()
        ppid = int(rest[1])
        utime, stime, cutime, cstime = (int(x) for x in rest[11:15])
        table[int(name)] = (ppid, utime + stime, cutime + cstime)
    return table


def tree_cpu(roots):
    """CPU seconds used so far by the roots and all their descendants (live or reaped)."""
    if not roots:
        return 0.0
    table = proc_table()
    children = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    total = 0
    stack = [r for r in roots if r in table]
    seen = set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        _, own, reaped = table[pid]
        total += own + reaped
        stack.extend(children.get(pid, []))
    return total / CLK_TCK


def machine_busy():
    """(busy ticks, total ticks) summed over all CPUs, from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def count_new(maildir):
    try:
        return sum(1 for _ in os.scandir(os.path.join(maildir, "new")))
    except FileNotFoundError:
        return 0


SYNC_EVENTS = ["syscalls:sys_enter_fsync", "syscalls:sys_enter_fdatasync",
               "syscalls:sys_enter_sync_file_range"]


def start_sync_counter(path):
    """Starts `perf stat -a` on the sync syscalls, writing CSV to path; None without perf."""
    perf = shutil.which("perf")
    if perf is None:
        return None
    # No workload: perf counts until SIGINT (with a workload it would wait for it to end).
    proc = subprocess.Popen([perf, "stat", "-a", "-x,", "-o", path, "-e", ",".join(SYNC_EVENTS)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)  # let perf open its counters before the load starts
    return proc


def stop_sync_counter(proc, path):
    """Stops perf and returns the number of sync calls it counted, or None."""
    if proc is None:
        return None
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None
    total = 0
    try:
        with open(path) as f:
            for line in f:
                parts = line.strip().split(",")
                if len(parts) > 2 and parts[2] in SYNC_EVENTS and parts[0].isdigit():
                    total += int(parts[0])
    except OSError:
        return None
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--maildir", help="wait until this Maildir has the acknowledged mail")
    ap.add_argument("--pids", default="", help="server root pids (space separated)")
    ap.add_argument("--messages", type=int, required=True, help="messages the client sends")
    ap.add_argument("--stall", type=float, default=60.0,
                    help="give up when nothing new is delivered for this many seconds")
    ap.add_argument("--log", help="append the client's output here")
    ap.add_argument("--fsyncs", metavar="TMPFILE",
                    help="count sync syscalls machine-wide with perf, using TMPFILE")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    cmd = args.cmd[1:] if args.cmd and args.cmd[0] == "--" else args.cmd
    roots = [int(p) for p in args.pids.split()]

    before = count_new(args.maildir) if args.maildir else 0
    perf = start_sync_counter(args.fsyncs) if args.fsyncs else None
    cpu0 = tree_cpu(roots)
    busy0 = machine_busy()
    t0 = time.monotonic()
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out, _ = child.communicate()
    t_client = time.monotonic()
    text = out.decode("utf-8", "replace")
    if args.log:
        with open(args.log, "a") as f:
            f.write(f"$ {' '.join(cmd)}\n{text}")

    m = re.search(r"^RESULT .*\backed=(\d+)", text, re.M)
    if m:
        acked = int(m.group(1))
    else:
        # smtp-source stops at the first unexpected reply: success means all were acked.
        acked = args.messages if child.returncode == 0 else 0

    delivered = None
    t_end = t_client
    if args.maildir:
        last_change = time.monotonic()
        last = count_new(args.maildir) - before
        while last < acked:
            # Scanning new/ costs CPU the server needs: poll slowly until the end is near.
            time.sleep(0.02 if acked - last > 20 else 0.002)
            now_count = count_new(args.maildir) - before
            now = time.monotonic()
            if now_count != last:
                last, last_change = now_count, now
            elif now - last_change > args.stall:
                break
        # Completion was observed within one poll interval (2 ms) of the last file landing;
        # on a stall the time runs to the last change seen.
        t_end = time.monotonic() if last >= acked else last_change
        delivered = last

    syncs = stop_sync_counter(perf, args.fsyncs)
    cpu1 = tree_cpu(roots)
    busy1 = machine_busy()
    elapsed = t_end - t0
    # Client CPU: the children of this process that were reaped (only the client).
    ru = os.times()
    result = {
        "ok": child.returncode == 0 and acked == args.messages
        and (delivered is None or delivered >= acked),
        "messages": args.messages,
        "acked": acked,
        "delivered": delivered,
        "client_seconds": round(t_client - t0, 3),
        "seconds": round(elapsed, 3),
        "rate": round((delivered if delivered is not None else acked) / elapsed, 1)
        if elapsed > 0 else 0.0,
        "server_cpu": round(cpu1 - cpu0, 2),
        "client_cpu": round(ru.children_user + ru.children_system, 2),
        "syncs": syncs,
        "machine_busy_cores": round((busy1[0] - busy0[0]) / (busy1[1] - busy0[1])
                                    * os.cpu_count(), 2) if busy1[1] > busy0[1] else 0.0,
    }
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
