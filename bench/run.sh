#!/bin/bash
# bench/run.sh: the end-to-end SMTP benchmark of issue 2 (Estafeta against Postfix).
# Starts, under one temporary directory, a private Postfix (Debian's package: virtual(8) into
# Maildir, chroot off, no DNS), Estafeta (`estafeta -c DIR start-fg`) and smtp-sink, each on a
# free 127.0.0.1 port; drives each with the same load (smtp-source per message and with -d, and
# bench/smtp_pipeline_load with DATA and with BDAT) and measures msgs/s from the first connect
# until every acknowledged message is a file in MAILDIR/new (bench/measure.py). smtp-sink has no
# disk, so its row is the client's ceiling. Before the first row each server gets an unmeasured
# warm-up load (WARMUP_COUNT messages, default 2000; 0 = none). Prints a markdown table (for
# bench/RESULTS.md).
# Installs and builds nothing; stops what it started (by pid) and removes its temp dir on exit.
# With --journaled-ext4 (root) both servers run on a loop-mounted ext4 image with a journal.
# With --relay (issue 18's relay throughput) both servers relay instead of delivering: the
# recipients are at relay.test, relayhost is [127.0.0.1]:PORT of an smtp-sink of each server's
# own that writes every transaction it accepts into a file, and a measurement ends when the
# sink holds as many files as the client had acknowledged (Estafeta: its smtp and relay
# master.cf rows; TLS off in both, as smtp-sink offers none; Postfix: no DNS either way).
# With --policy LIST (issue 19's benchmark; Estafeta only, implies --servers estafeta) one
# Estafeta per configuration of LIST (comma-separated; `none` is always added) runs side by
# side, each with its own spool and port, and each row is measured as none, X, none, Y, ...
# (every other configuration right after a `none` run), --repeat N rounds, the round the
# outer loop. The configurations (restrictions at RCPT: smtpd_delay_reject is yes):
#   none  the default restrictions (smtpd_relay_restrictions only)
#   cidr  smtpd_client_restrictions = check_client_access cidr:clients.cidr, 1,000,000
#         networks (IPv4 /32, /24, /16 and IPv6 /64, none in 127.0.0.0/8)
#   lmdb  check_sender_access and check_recipient_access lmdb:senders, one table of
#         1,000,000 keys (addresses and domains, none at localhost), compiled by `estafeta map`
#   rbl   smtpd_client_restrictions = reject_rbl_client zone.test, resolver_nameservers =
#         a dnsmasq on 127.0.0.1 started by the bench (lists only 127.0.0.2, TTL 300, SOA)
# (tables by bench/policy_tables.py). Before the warm-up, bench/policy_probe.py checks that each
# configuration refuses a listed client (from 127.0.0.2) or sender and accepts the load's
# client and sender, and `none` accepts both. The report adds a table of each
# configuration's rate against the `none` run before it (min / median / max over rounds).
#
# usage: bench/run.sh [--quick] [--build-dir DIR] [--servers postfix,estafeta,sink]
#                     [--repeat N] [--small-count N] [--large-count N] [--no-perf] [--keep]
#                     [--journaled-ext4] [--relay] [--policy none,cidr,lmdb,rbl]
#                     [--sessions "1 10 100"] [--sizes "1024 102400"]
#                     [--loads "source source-d pipeline bdat"]
set -euo pipefail

usage() {
  sed -n '35,39p' "$0" | sed 's/^# //' >&2
  exit 2
}

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
BUILD_DIR=$REPO/build
QUICK=0
SERVERS=postfix,estafeta,sink
REPEAT=1
SMALL_COUNT=5000
LARGE_COUNT=1000
KEEP=0
PERF=1
ONLY_SESSIONS=""
ONLY_SIZES=""
ONLY_LOADS=""
JOURNALED=0
RELAY=0
POLICIES=""
ORIG_ARGS="$*"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --build-dir) BUILD_DIR=$(cd "${2:?}" && pwd); shift ;;
    --servers) SERVERS=${2:?}; shift ;;
    --repeat) REPEAT=${2:?}; shift ;;
    --small-count) SMALL_COUNT=${2:?}; shift ;;
    --large-count) LARGE_COUNT=${2:?}; shift ;;
    --keep) KEEP=1 ;;
    --journaled-ext4) JOURNALED=1 ;;
    --relay) RELAY=1 ;;
    --policy) POLICIES=${2:?}; shift ;;
    --no-perf) PERF=0 ;;
    --sessions) ONLY_SESSIONS=${2:?}; shift ;;
    --sizes) ONLY_SIZES=${2:?}; shift ;;
    --loads) ONLY_LOADS=${2:?}; shift ;;
    *) usage ;;
  esac
  shift
done
if [ -n "$POLICIES" ]; then
  [ "$RELAY" = 0 ] || usage
  SERVERS=estafeta
  POLICY_LIST=(none)  # the baseline, always first
  for policy in ${POLICIES//,/ }; do
    case $policy in
      none) ;;
      cidr | lmdb | rbl) POLICY_LIST+=("$policy") ;;
      *) usage ;;
    esac
  done
fi

ESTAFETA=$BUILD_DIR/estafeta
LOADGEN=$BUILD_DIR/bench/smtp_pipeline_load
PY=/usr/bin/python3
BENCH_NAME=run.sh
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

has_server() { case ",$SERVERS," in *,"$1",*) return 0 ;; *) return 1 ;; esac; }

# ---- tools -----------------------------------------------------------------------------
bench_require_tools postfix postconf smtp-source smtp-sink
if [ "$PERF" = 1 ] && ! perf stat -a -e syscalls:sys_enter_fsync -- true >/dev/null 2>&1; then
  echo "run.sh: perf cannot count syscalls here; no fsync counts" >&2
  PERF=0
fi
[ -x "$LOADGEN" ] || die "$LOADGEN not found: build the bench targets (ninja -C $BUILD_DIR)"
if has_server estafeta; then
  [ -x "$ESTAFETA" ] || die "$ESTAFETA not found: build it, or pass --build-dir or --servers"
fi

# ---- temp dir and cleanup --------------------------------------------------------------
bench_make_tmp estafeta-bench
SINK_PID=""
DNS_PID=""
EST_DIR=$TMP/estafeta
declare -A POLICY_PORT=() POLICY_PID=()

cleanup() {
  set +e
  if [ "${#POLICY_PID[@]}" -gt 0 ]; then
    for policy in "${!POLICY_PID[@]}"; do
      EST_PID=${POLICY_PID[$policy]}
      stop_estafeta
    done
  else
    stop_estafeta
  fi
  if [ -n "$DNS_PID" ]; then
    kill -TERM "$DNS_PID" 2>/dev/null
    wait "$DNS_PID" 2>/dev/null
  fi
  if [ -n "$SINK_PID" ]; then
    kill -TERM "$SINK_PID" 2>/dev/null
    wait "$SINK_PID" 2>/dev/null
  fi
  stop_postfix
  for pid in $RELAY_PIDS; do
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  bench_remove_tmp
}
trap cleanup EXIT
trap 'exit 130' INT TERM

read -r PF_PORT EST_PORT SINK_PORT PF_RELAY_PORT EST_RELAY_PORT < <(free_ports 5)

SENDER=bench@localhost
HELO=localhost
ROW=0  # measurement number: mail of measurement N goes to bN@localhost (bN@relay.test)
RCPT_DOMAIN=localhost
[ "$RELAY" = 1 ] && RCPT_DOMAIN=relay.test

# ---- --relay: each server's next hop, an smtp-sink that files every transaction --------
RELAY_PIDS=""
start_relay_sink() {  # start_relay_sink SERVER PORT: files go to $TMP/relay-SERVER/new
  local dir=$TMP/relay-$1
  mkdir -p "$dir/new"
  chmod 777 "$dir" "$dir/new"
  smtp-sink -u nobody -d "$dir/new/%Y%m%d%H%M%S." "127.0.0.1:$2" 1000 >"$dir.log" 2>&1 &
  RELAY_PIDS="$RELAY_PIDS $!"
  wait_banner "$2" 10 || die "the relay smtp-sink of $1 is not answering"
}
relay_reset() {  # relay_reset SERVER: the next row starts with an empty new/
  local dir=$TMP/relay-$1
  mv "$dir/new" "$dir/row-$ROW"
  mkdir "$dir/new"
  chmod 777 "$dir/new"
}

# ---- Postfix ---------------------------------------------------------------------------
# One mailbox per measurement (b1 .. b2000), so rows never share a Maildir; b0: the warm-up.
VMAILBOX=$(seq 0 2000 | sed 's|.*|b&@localhost b&/Maildir/|')
start_postfix() {
  if [ "$RELAY" = 1 ]; then
    start_relay_sink postfix "$PF_RELAY_PORT"
    configure_postfix "$PF_PORT" "$VMAILBOX" "relayhost = [127.0.0.1]:$PF_RELAY_PORT"
  else
    configure_postfix "$PF_PORT" "$VMAILBOX"
  fi
  start_postfix_daemon
  wait_banner "$PF_PORT" 30 || { cat "$TMP/postfix/start.log" >&2; die "postfix not answering"; }
}
postfix_pids() { tr -d ' ' <"$PF_SPOOL/pid/master.pid"; }
postfix_idle() {  # queue empty
  [ -z "$(find "$PF_SPOOL/incoming" "$PF_SPOOL/active" "$PF_SPOOL/maildrop" -type f 2>/dev/null | head -1)" ]
}

# ---- Estafeta --------------------------------------------------------------------------
start_estafeta() {
  if [ "$RELAY" = 1 ]; then
    start_relay_sink estafeta "$EST_RELAY_PORT"
    configure_estafeta "$EST_DIR" "$EST_PORT" "$VMAILBOX" \
      "relayhost = [127.0.0.1]:$EST_RELAY_PORT" "smtp_tls_security_level = none"
    printf '%s\n' "smtp unix - - n - - smtp" "relay unix - - n - - smtp" \
      >>"$EST_DIR/etc/master.cf"
  else
    configure_estafeta "$EST_DIR" "$EST_PORT" "$VMAILBOX" "$@"
  fi
  start_estafeta_daemon "$EST_DIR"
  wait_banner "$EST_PORT" 120 || { cat "$EST_DIR/stdout.log" >&2; die "estafeta not answering"; }
}
estafeta_idle() {
  # (incoming/ keeps smtpd's pre-created empty files: only non-empty ones are mail in flight)
  [ -z "$(find "$EST_DIR/spool/incoming" -type f -size +0 2>/dev/null | head -1)" ] &&
    [ -z "$(find "$EST_DIR/spool/active" "$EST_DIR/spool/deferred" -type f 2>/dev/null | head -1)" ]
}

# ---- --policy: the tables, the DNS list, one Estafeta per configuration ----------------
POLICY_DIR=$TMP/policy
PROBE_SENDER=""
PROBE_DOMAIN=""
policy_settings() {  # policy_settings NAME: its main.cf lines, one per line
  case $1 in
    cidr) echo "smtpd_client_restrictions = check_client_access cidr:$POLICY_DIR/clients.cidr" ;;
    lmdb)
      echo "smtpd_sender_restrictions = check_sender_access lmdb:$POLICY_DIR/senders"
      echo "smtpd_recipient_restrictions = check_recipient_access lmdb:$POLICY_DIR/senders"
      ;;
    rbl)
      echo "smtpd_client_restrictions = reject_rbl_client zone.test"
      echo "resolver_nameservers = 127.0.0.1:$DNS_PORT"
      ;;
  esac
}
use_policy() {  # use_policy NAME: the following measure/warm_up go to its Estafeta
  EST_DIR=$TMP/estafeta-$1
  EST_PORT=${POLICY_PORT[$1]}
  EST_PID=${POLICY_PID[$1]:-}
}
make_policy_tables() {
  mkdir -p "$POLICY_DIR"
  local t0=$SECONDS out
  out=$($PY "$HERE/policy_tables.py" "$POLICY_DIR") || die "policy_tables.py failed"
  PROBE_SENDER=$(sed -n 's/^PROBE_SENDER=//p' <<<"$out")
  PROBE_DOMAIN=$(sed -n 's/^PROBE_DOMAIN=//p' <<<"$out")
  echo "run.sh: tables written in $((SECONDS - t0)) s" >&2
  t0=$SECONDS
  "$ESTAFETA" map "lmdb:$POLICY_DIR/senders" || die "estafeta map lmdb:$POLICY_DIR/senders failed"
  echo "run.sh: lmdb:$POLICY_DIR/senders compiled in $((SECONDS - t0)) s" >&2
}
# A dnsmasq on 127.0.0.1:DNS_PORT answering zone.test as its authoritative server, as a real
# DNS list's server answers (tests/integration/dns_server.py's `authoritative`): zone.test
# lists 127.0.0.2 (the probe's client) with TTL 300; any other name in it is NXDOMAIN with
# the zone's SOA (negative TTL 300), which smtpd may cache (RFC 2308); other names REFUSED.
start_dns() {
  command -v dnsmasq >/dev/null 2>&1 || PATH=$PATH:/usr/sbin
  command -v dnsmasq >/dev/null 2>&1 || die "dnsmasq not found: install Debian's dnsmasq package"
  mkdir -p "$TMP/dns"
  dnsmasq --no-daemon --no-resolv --no-hosts --no-poll --bind-interfaces \
    --listen-address=127.0.0.1 --port="$DNS_PORT" --conf-file=/dev/null \
    --user="$(id -un)" --pid-file="$TMP/dns/dnsmasq.pid" --cache-size=0 \
    --log-queries --log-facility="$TMP/dns/queries.log" --local=/test/ \
    --auth-server=ns.zone.test,127.0.0.1 --auth-zone=zone.test --auth-ttl=300 \
    --host-record=2.0.0.127.zone.test,127.0.0.2 >"$TMP/dns/dnsmasq.log" 2>&1 &
  DNS_PID=$!
  $PY - "$REPO/tests/integration" "$DNS_PORT" <<'PYEOF' || { cat "$TMP/dns/dnsmasq.log" >&2; die "dnsmasq not answering"; }
import sys, time
sys.path.insert(0, sys.argv[1])
from dns_server import query
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    if query(int(sys.argv[2]), "2.0.0.127.zone.test", 1, timeout=0.2) == (0, 1):
        sys.exit(0)
    time.sleep(0.1)
sys.exit(1)
PYEOF
}
start_policy_servers() {
  local policy settings
  for policy in "${POLICY_LIST[@]}"; do
    use_policy "$policy"
    mapfile -t settings < <(policy_settings "$policy")
    start_estafeta "${settings[@]}"
    POLICY_PID[$policy]=$EST_PID
  done
}
# Each configuration accepts the load's session; each but none refuses a listed client or
# sender (so its table or DNS list is consulted at RCPT); none accepts those too.
probe_policies() {
  local policy
  probe() {  # probe SOURCE SENDER RECIPIENT EXPECT
    $PY "$HERE/policy_probe.py" "$EST_PORT" "$@" >&2 ||
      die "the probe of configuration $policy failed ($*)"
  }
  for policy in "${POLICY_LIST[@]}"; do
    use_policy "$policy"
    echo "run.sh: probing configuration $policy" >&2
    probe 127.0.0.1 "$SENDER" "b0@$RCPT_DOMAIN" 2
    case $policy in
      none)
        probe 127.0.0.2 "$SENDER" "b0@$RCPT_DOMAIN" 2
        [ -z "$PROBE_SENDER" ] || probe 127.0.0.1 "$PROBE_SENDER" "b0@$RCPT_DOMAIN" 2
        ;;
      cidr | rbl) probe 127.0.0.2 "$SENDER" "b0@$RCPT_DOMAIN" 5 ;;
      lmdb)
        probe 127.0.0.1 "$PROBE_SENDER" "b0@$RCPT_DOMAIN" 5
        probe 127.0.0.1 "$SENDER" "probe@$PROBE_DOMAIN" 5
        ;;
    esac
  done
}

start_sink() {
  smtp-sink -u nobody "127.0.0.1:$SINK_PORT" 1000 >"$TMP/sink.log" 2>&1 &
  SINK_PID=$!
  wait_banner "$SINK_PORT" 10 || die "smtp-sink not answering"
}

# ---- the matrix ------------------------------------------------------------------------
if [ "$QUICK" = 1 ]; then
  SESSIONS=(10); SIZES=(1024); LOADS=(source-d pipeline)
  SMALL_COUNT=${SMALL_COUNT_QUICK:-500}
else
  SESSIONS=(1 10 100); SIZES=(1024 102400); LOADS=(source source-d pipeline bdat)
fi
# shellcheck disable=SC2206  # word splitting of the lists is intended
[ -n "$ONLY_SESSIONS" ] && SESSIONS=($ONLY_SESSIONS)
# shellcheck disable=SC2206
[ -n "$ONLY_SIZES" ] && SIZES=($ONLY_SIZES)
# shellcheck disable=SC2206
[ -n "$ONLY_LOADS" ] && LOADS=($ONLY_LOADS)

# Delivered mail is kept until the end (see measure()): check the disk can hold it.
PER_ROW=2  # measurements per row and repeat that write mail
[ -n "$POLICIES" ] && PER_ROW=$((2 * ${#POLICY_LIST[@]} - 2)) && [ "$PER_ROW" = 0 ] && PER_ROW=1
need_kb=$((REPEAT * PER_ROW * ${#LOADS[@]} * ${#SESSIONS[@]} * SMALL_COUNT * 2))
for size in "${SIZES[@]}"; do
  [ "$size" -gt 10000 ] && need_kb=$((need_kb + REPEAT * PER_ROW * ${#LOADS[@]} * ${#SESSIONS[@]} * LARGE_COUNT * (size / 1024 + 2)))
done
avail_kb=$(df -Pk "$TMP" | awk 'NR == 2 { print $4 }')
[ "$avail_kb" -gt $((need_kb + 1048576)) ] ||
  die "need about $((need_kb / 1048576 + 1)) GiB free under $TMP, have $((avail_kb / 1048576))"

has_server postfix && start_postfix
if [ -n "$POLICIES" ]; then
  mapfile -t ports < <(free_ports $((${#POLICY_LIST[@]} + 1)) | tr ' ' '\n')
  DNS_PORT=${ports[0]}
  for i in "${!POLICY_LIST[@]}"; do POLICY_PORT[${POLICY_LIST[$i]}]=${ports[$((i + 1))]}; done
  case " ${POLICY_LIST[*]} " in *" cidr "* | *" lmdb "*) make_policy_tables ;; esac
  case " ${POLICY_LIST[*]} " in *" rbl "*) start_dns ;; esac
  start_policy_servers
  probe_policies
elif has_server estafeta; then
  start_estafeta
fi
has_server sink && start_sink

# Warm-up, not measured: each server takes WARMUP_COUNT messages (10 sessions, smtp-source
# -d) and delivers them before the first row, as a server that has been running would be:
# Postfix has its processes started, Estafeta its pool of reusable queue files filled.
WARMUP_COUNT=${WARMUP_COUNT:-2000}
warm_up() {  # warm_up SERVER
  local port
  case $1 in
    postfix) port=$PF_PORT ;;
    estafeta) port=$EST_PORT ;;
    *) return 0 ;;
  esac
  smtp-source -d -s 10 -m "$WARMUP_COUNT" -l 1024 -f "$SENDER" -t "b0@$RCPT_DOMAIN" -M "$HELO" \
    "127.0.0.1:$port" >>"$TMP/warmup.log" 2>&1 || die "warm-up of $1 failed (see $TMP/warmup.log)"
  local n=600
  case $1 in
    postfix) while [ $n -gt 0 ] && ! postfix_idle; do sleep 0.1; n=$((n - 1)); done ;;
    estafeta) while [ $n -gt 0 ] && ! estafeta_idle; do sleep 0.1; n=$((n - 1)); done ;;
  esac
}
if [ "$WARMUP_COUNT" -gt 0 ]; then
  for server in postfix estafeta; do
    has_server "$server" || continue
    if [ "$server" = estafeta ] && [ -n "$POLICIES" ]; then
      for policy in "${POLICY_LIST[@]}"; do
        use_policy "$policy"
        warm_up estafeta
      done
    else
      warm_up "$server"
    fi
  done
  sleep 2
fi

RESULTS=$TMP/results.jsonl
: >"$RESULTS"
CLIENT_LOG=$TMP/client.log

measure() {  # measure SERVER LOAD SESSIONS SIZE COUNT REPEAT
  local server=$1 load=$2 sess=$3 size=$4 count=$5 rep=$6 port maildir="" pids="" cmd
  ROW=$((ROW + 1))
  local user=b$ROW
  case $server in
    postfix) port=$PF_PORT; maildir=$TMP/postfix/mail/$user/Maildir; pids=$(postfix_pids) ;;
    estafeta) port=$EST_PORT; maildir=$EST_DIR/mail/$user/Maildir; pids=$EST_PID ;;
    sink) port=$SINK_PORT; pids=$SINK_PID ;;
  esac
  if [ "$RELAY" = 1 ] && [ "$server" != sink ]; then
    relay_reset "$server"
    maildir=$TMP/relay-$server
  fi
  local common=(-s "$sess" -m "$count" -l "$size" -f "$SENDER" -t "$user@$RCPT_DOMAIN" -M "$HELO")
  case $load in
    source) cmd=(smtp-source "${common[@]}" "127.0.0.1:$port") ;;
    source-d) cmd=(smtp-source -d "${common[@]}" "127.0.0.1:$port") ;;
    pipeline) cmd=("$LOADGEN" "${common[@]}" "127.0.0.1:$port") ;;
    bdat) cmd=("$LOADGEN" -B "${common[@]}" "127.0.0.1:$port") ;;
  esac
  local margs=(--messages "$count" --pids "$pids" --log "$CLIENT_LOG")
  [ -n "$maildir" ] && margs+=(--maildir "$maildir")
  [ "$PERF" = 1 ] && margs+=(--fsyncs "$TMP/perf.csv")
  # Start from clean page cache: the previous run's dirty data (its Maildir files, queue
  # files, inode tables) is written now, not during this run.
  sync
  local json
  json=$($PY "$HERE/measure.py" "${margs[@]}" -- "${cmd[@]}") || true
  [ -n "$json" ] || json='{"ok": false}'
  printf '{"server": "%s", "policy": "%s", "load": "%s", "sessions": %s, "size": %s, "repeat": %s, "m": %s}\n' \
    "$server" "$CUR_POLICY" "$load" "$sess" "$size" "$rep" "$json" >>"$RESULTS"
  printf '%-8s %-4s %-8s s=%-3s %6sB  %s\n' "$server" "$CUR_POLICY" "$load" "$sess" "$size" "$json" >&2
  # Let the queue drain before the next row. Delivered mail stays until the end: deleting
  # it would slow every later file creation (ext4 without a journal skips inodes freed in
  # the last 5 minutes when allocating, at a cost per skipped inode).
  local n=300
  case $server in
    postfix) while [ $n -gt 0 ] && ! postfix_idle; do sleep 0.1; n=$((n - 1)); done ;;
    estafeta) while [ $n -gt 0 ] && ! estafeta_idle; do sleep 0.1; n=$((n - 1)); done ;;
  esac
  sleep 1  # let TIME_WAIT connections and the delivery agents settle
}

CUR_POLICY=""
measure_policy() {  # measure_policy POLICY LOAD SESSIONS SIZE COUNT REPEAT
  CUR_POLICY=$1
  use_policy "$1"
  shift
  measure estafeta "$@"
}
# --policy: rounds outermost; in each row every configuration right after a `none` run.
for rep in $(seq 1 "$REPEAT"); do
  [ -n "$POLICIES" ] || break
  for load in "${LOADS[@]}"; do
    for sess in "${SESSIONS[@]}"; do
      for size in "${SIZES[@]}"; do
        count=$SMALL_COUNT
        [ "$size" -gt 10000 ] && count=$LARGE_COUNT
        [ "${#POLICY_LIST[@]}" = 1 ] && measure_policy none "$load" "$sess" "$size" "$count" "$rep"
        for policy in "${POLICY_LIST[@]:1}"; do
          measure_policy none "$load" "$sess" "$size" "$count" "$rep"
          measure_policy "$policy" "$load" "$sess" "$size" "$count" "$rep"
        done
      done
    done
  done
done

for load in "${LOADS[@]}"; do
  [ -z "$POLICIES" ] || break
  for sess in "${SESSIONS[@]}"; do
    for size in "${SIZES[@]}"; do
      count=$SMALL_COUNT
      [ "$size" -gt 10000 ] && count=$LARGE_COUNT
      for rep in $(seq 1 "$REPEAT"); do
        # Alternate who goes first, since each run's deleted queue files slow the next run's
        # file creations for a few minutes (see measure()).
        order="postfix estafeta sink"
        [ $((rep % 2)) = 0 ] && order="estafeta postfix sink"
        for server in $order; do
          has_server "$server" || continue
          [ "$server" = sink ] && [ "$load" = bdat ] && continue  # smtp-sink has no BDAT
          measure "$server" "$load" "$sess" "$size" "$count" "$rep"
        done
      done
    done
  done
done

echo "run.sh: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
$PY "$HERE/report.py" --command "bench/run.sh $ORIG_ARGS" "$RESULTS"
if [ -n "$DNS_PID" ]; then
  # Each message of an rbl row needs the DNS list's answer at its RCPT (smtpd_delay_reject =
  # yes); smtpd's DNS answer cache asks dnsmasq about once per smtpd process and TTL.
  rbl_messages=$($PY -c 'import json, sys
print(sum(r["m"].get("acked", 0) for r in map(json.loads, open(sys.argv[1])) if r["policy"] == "rbl"))' "$RESULTS")
  echo
  echo "dnsmasq answered $(grep -Ec '(query|auth)\[A\] 1\.0\.0\.127\.zone\.test' "$TMP/dns/queries.log") queries" \
    "for 1.0.0.127.zone.test; the rbl rows and their warm-up acknowledged $((rbl_messages + WARMUP_COUNT)) messages."
fi
