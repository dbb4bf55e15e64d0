#!/usr/bin/python3
"""deferred_report.py: bench/deferred.sh's JSON lines -> a markdown table (stdlib only).

Each input line: {"server": ..., "what": inject|log|mem-inject|startup|mailq|drain|mem-drain,
"m": {...}}. The ratio column is Estafeta / Postfix; the last column says which way is better.
"""

import argparse
import json
import statistics


def load(path):
    data = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            data.setdefault(r["server"], {}).setdefault(r["what"], []).append(r["m"])
    return data


def first(data, server, what):
    rows = data.get(server, {}).get(what)
    return rows[0] if rows else None


def rows_for(data, server):
    """name -> value (numbers) for one server."""
    out = {}
    inj = first(data, server, "inject")
    if inj:
        out["inject_s"] = inj["seconds"]
        out["inject_rate"] = inj["count"] / inj["seconds"] if inj["seconds"] else None
        out["client_s"] = inj.get("client_seconds")
    st = first(data, server, "startup")
    if st:
        out["banner_s"] = st["banner_s"]
        out["probe_s"] = st["probe_delivered_s"]
        out["probe_q_s"] = st["probe_delivered_from_qmgr_start_s"]
        out["settled_q_s"] = st["qmgr_settled_from_qmgr_start_s"]
        out["qmgr_cpu_s"] = st["qmgr_cpu_s"]
        mem = st.get("mem") or {}
        out["rss_mib"] = mem.get("VmRSS", 0) / 1024
        out["hwm_mib"] = mem.get("VmHWM", 0) / 1024
    m = first(data, server, "mem-inject")
    if m:
        out["hwm_inject_mib"] = m.get("VmHWM", 0) / 1024
    m = first(data, server, "mem-drain")
    if m:
        out["hwm_drain_mib"] = m.get("VmHWM", 0) / 1024
        out["rss_drain_mib"] = m.get("VmRSS", 0) / 1024
    mq = data.get(server, {}).get("mailq")
    if mq:
        out["mailq_first_s"] = mq[0]["seconds"]
        out["mailq_s"] = statistics.median(r["seconds"] for r in mq)
        out["mailq_lines"] = mq[0]["lines"]
        out["mailq_msgs"] = mq[0]["messages"]
    dr = first(data, server, "drain")
    if dr:
        out["drain_s"] = dr["seconds"]
        out["drain_rate"] = dr["rate"]
        out["flush_s"] = dr["flush_command_seconds"]
    return out


ROWS = [
    # key, label, format, better ("lower" / "higher" / "")
    ("inject_s", "inject: from the first connect until all are in deferred/ (s)", "{:.1f}", "lower"),
    ("inject_rate", "inject: msgs/s (accepted, tried once, deferred)", "{:,.0f}", "higher"),
    ("banner_s", "restart: start command -> first 220 banner (s)", "{:.2f}", "lower"),
    ("probe_s", "restart: start command -> fresh message in Maildir/new (s)", "{:.2f}", "lower"),
    ("probe_q_s", "restart: qmgr process start -> fresh message delivered (s)", "{:.2f}", "lower"),
    ("settled_q_s", "restart: qmgr process start -> qmgr settled (s)", "{:.2f}", "lower"),
    ("qmgr_cpu_s", "restart: qmgr CPU until settled (s)", "{:.2f}", "lower"),
    ("rss_mib", "qmgr VmRSS after start-up with all deferred (MiB)", "{:.1f}", "lower"),
    ("hwm_mib", "qmgr VmHWM during that start-up (MiB)", "{:.1f}", "lower"),
    ("hwm_inject_mib", "qmgr VmHWM over the injection (MiB)", "{:.1f}", "lower"),
    ("mailq_s", "mailq wall time, median (s)", "{:.2f}", "lower"),
    ("mailq_first_s", "mailq wall time, first run (s)", "{:.2f}", "lower"),
    ("mailq_lines", "mailq lines", "{:,}", ""),
    ("mailq_msgs", "mailq messages listed", "{:,}", ""),
    ("flush_s", "drain: flush command returns (s)", "{:.2f}", "lower"),
    ("drain_s", "drain: flush -> all in Maildir/new, queue empty (s)", "{:.1f}", "lower"),
    ("drain_rate", "drain: msgs/s", "{:,.0f}", "higher"),
    ("hwm_drain_mib", "qmgr VmHWM after the drain (MiB)", "{:.1f}", "lower"),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--command", default="")
    ap.add_argument("results")
    args = ap.parse_args()
    data = load(args.results)
    pf, es = rows_for(data, "postfix"), rows_for(data, "estafeta")
    if args.command:
        print(f"Command: `{args.command}`\n")
    print("| measure | Postfix | Estafeta | Estafeta/Postfix | better |")
    print("| --- | ---: | ---: | ---: | --- |")
    for key, label, fmt, better in ROWS:
        a, b = pf.get(key), es.get(key)
        if a is None and b is None:
            continue
        ratio = f"{b / a:.2f}" if a and b is not None and better else ""
        print(f"| {label} | {fmt.format(a) if a is not None else '-'} | "
              f"{fmt.format(b) if b is not None else '-'} | {ratio} | {better} |")
    for server in ("postfix", "estafeta"):
        log = first(data, server, "log")
        if log:
            print(f"\n{server}: {log['deferred_lines']} deferral lines for b1, "
                  f"{log['deferred_not_4xx']} not 4.x.x, {log['bounced']} bounced; "
                  f"e.g. `{log['sample']}`")


if __name__ == "__main__":
    main()
