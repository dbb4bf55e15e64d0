#!/usr/bin/python3
"""deferred_probe.py: the measuring parts of bench/deferred.sh (stdlib only).

Subcommands (each prints one JSON object on stdout):
  count DIR...                     regular files under the directories (recursively)
  wait-files --dir D --count N     waits until D holds >= N files (recursively) and every
      [--empty DIR]... [--stall S]  --empty directory holds none; gives up after S seconds
      [--t0 WALL]                   without a change. seconds = from --t0 (default: now).
  qmgr-pid (--root-pid P | --pidfile F) [--timeout S]
                                   the queue manager under that process tree: the
                                   descendant with an argv element "qmgr" (Postfix's qmgr,
                                   `estafeta ... qmgr -n qmgr ...`)
  mem PID                          VmRSS, VmHWM (KiB) and CPU seconds of one process
  startup (--root-pid P | --pidfile F) --t0 WALL --port PORT --rcpt ADDR --maildir M
      [--idle S] [--timeout S]     the queue manager's start-up after a (re)start begun at
                                   wall time --t0: polls every 20 ms for the server's first
                                   220 banner, then sends one fresh 1 KiB message to --rcpt
                                   (one SMTP session, Python's smtplib) and waits until it is
                                   a file in --maildir/new; meanwhile finds the qmgr process
                                   and samples its CPU time, until the probe is delivered and
                                   qmgr's CPU time has not moved for --idle seconds. Reports
                                   banner, probe delivery and "qmgr settled" (the last sample
                                   at which its CPU time grew), each from --t0 and from the
                                   qmgr process's own start; qmgr's CPU seconds; its memory.
Times are wall clock (time.time()); a process's start comes from /proc/PID/stat (10 ms ticks).
"""

import argparse
import json
import os
import smtplib
import socket
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def count_files(path):
    n = 0
    try:
        with os.scandir(path) as it:
            for e in it:
                if e.is_dir(follow_symlinks=False):
                    n += count_files(e.path)
                else:
                    n += 1
    except FileNotFoundError:
        pass
    return n


def proc_stat(pid):
    """(ppid, cpu seconds, start as wall time) or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode("ascii", "replace")
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
    except OSError:
        return None
    rest = data[data.rfind(")") + 2:].split()
    ppid = int(rest[1])
    cpu = (int(rest[11]) + int(rest[12])) / CLK_TCK
    start_since_boot = int(rest[19]) / CLK_TCK
    return ppid, cpu, time.time() - (uptime - start_since_boot)


def proc_mem(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM", "VmSize"):
                    out[key] = int(value.split()[0])  # kB
    except OSError:
        return None
    st = proc_stat(pid)
    if st:
        out["cpu"] = round(st[1], 2)
    return out


def root_of(args):
    if args.root_pid:
        return args.root_pid
    try:
        with open(args.pidfile) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def find_qmgr(root):
    """The descendant of root with an argv element 'qmgr', or None."""
    if root is None:
        return None
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = proc_stat(int(name))
        if st:
            children.setdefault(st[0], []).append(int(name))
    stack, seen = list(children.get(root, [])), set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if b"qmgr" in argv[1:] or os.path.basename(argv[0]) == b"qmgr":
            return pid
        stack.extend(children.get(pid, []))
    return None


def cmd_count(args):
    print(json.dumps({"files": sum(count_files(d) for d in args.dirs)}))
    return 0


def cmd_wait_files(args):
    t0 = args.t0 if args.t0 else time.time()
    last, last_change = -1, time.time()
    while True:
        n = count_files(args.dir)
        busy = sum(count_files(d) for d in args.empty)
        now = time.time()
        if (n, busy) != last:
            last, last_change = (n, busy), now
        if n >= args.count and busy == 0:
            print(json.dumps({"ok": True, "files": n, "seconds": round(now - t0, 3)}))
            return 0
        if now - last_change > args.stall:
            print(json.dumps({"ok": False, "files": n, "left": busy,
                              "seconds": round(last_change - t0, 3)}))
            return 1
        # Scanning 100,000 names costs CPU the server needs: poll slowly until the end is near.
        time.sleep(0.05 if args.count - n < 200 else 0.5)


def cmd_qmgr_pid(args):
    deadline = time.time() + args.timeout
    while time.time() < deadline:
        pid = find_qmgr(root_of(args))
        if pid:
            print(json.dumps({"pid": pid}))
            return 0
        time.sleep(0.05)
    print(json.dumps({"pid": None}))
    return 1


def cmd_mem(args):
    print(json.dumps(proc_mem(args.pid)))
    return 0


def probe_message(rcpt):
    body = ("x" * 76 + "\r\n") * 13
    return (f"From: <probe@localhost>\r\nTo: <{rcpt}>\r\nSubject: start-up probe\r\n\r\n"
            + body)


def banner_ok(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            ok = s.recv(512).startswith(b"220")
            if ok:
                s.sendall(b"QUIT\r\n")
            return ok
    except OSError:
        return False


def cmd_startup(args):
    t0 = args.t0
    deadline = time.time() + args.timeout
    t_banner = t_sent = t_delivered = None
    qmgr = None
    qmgr_start = None
    cpu, t_cpu_moved = None, None
    while time.time() < deadline:
        now = time.time()
        if qmgr is None:
            qmgr = find_qmgr(root_of(args))
            if qmgr:
                st = proc_stat(qmgr)
                qmgr_start = st[2] if st else None
        if qmgr is not None:
            st = proc_stat(qmgr)
            if st is None:
                print(json.dumps({"ok": False, "error": f"qmgr {qmgr} exited"}))
                return 1
            if cpu is None or st[1] > cpu:
                cpu, t_cpu_moved = st[1], now
        if t_banner is None and banner_ok(args.port):
            t_banner = time.time()
        if t_banner is not None and t_sent is None:
            with smtplib.SMTP("127.0.0.1", args.port, local_hostname="localhost",
                              timeout=60) as s:
                s.sendmail("probe@localhost", [args.rcpt], probe_message(args.rcpt))
            t_sent = time.time()
        if t_sent is not None and t_delivered is None and count_files(args.maildir + "/new"):
            t_delivered = time.time()
        if (t_delivered is not None and qmgr is not None
                and now - t_cpu_moved >= args.idle):
            break
        time.sleep(0.02)
    else:
        print(json.dumps({"ok": False, "error": "timeout", "banner": t_banner,
                          "delivered": t_delivered}))
        return 1

    def since(t, base):
        return round(t - base, 3) if t is not None and base is not None else None

    out = {
        "ok": True,
        "qmgr_pid": qmgr,
        "banner_s": since(t_banner, t0),
        "probe_delivered_s": since(t_delivered, t0),
        "qmgr_settled_s": since(t_cpu_moved, t0),
        "qmgr_started_s": since(qmgr_start, t0),
        "probe_delivered_from_qmgr_start_s": since(t_delivered, qmgr_start),
        "qmgr_settled_from_qmgr_start_s": since(t_cpu_moved, qmgr_start),
        "qmgr_cpu_s": round(cpu, 2),
        "mem": proc_mem(qmgr),
    }
    print(json.dumps(out))
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("count")
    p.add_argument("dirs", nargs="+")
    p = sub.add_parser("wait-files")
    p.add_argument("--dir", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--empty", action="append", default=[])
    p.add_argument("--stall", type=float, default=120.0)
    p.add_argument("--t0", type=float)
    for name in ("qmgr-pid", "startup"):
        p = sub.add_parser(name)
        g = p.add_mutually_exclusive_group(required=True)
        g.add_argument("--root-pid", type=int)
        g.add_argument("--pidfile")
        p.add_argument("--timeout", type=float, default=600.0)
    p = sub.choices["startup"]
    p.add_argument("--t0", type=float, required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--rcpt", required=True)
    p.add_argument("--maildir", required=True)
    p.add_argument("--idle", type=float, default=3.0)
    p = sub.add_parser("mem")
    p.add_argument("pid", type=int)
    args = ap.parse_args()
    return {"count": cmd_count, "wait-files": cmd_wait_files, "qmgr-pid": cmd_qmgr_pid,
            "mem": cmd_mem, "startup": cmd_startup}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
