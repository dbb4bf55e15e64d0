#!/bin/bash
# bench/deferred.sh: the deferred-queue benchmark of issue 16 (item 8), Estafeta against
# Postfix: N (default 100,000) deferred 1 KiB messages in the queue; the queue manager's
# start-up with them, its memory, `mailq` of all of them, and the drain once the mailbox can
# be written again.
#
# Under one temporary directory it starts a private Postfix (Debian's package, configured as
# bench/run.sh does: virtual(8) into Maildir, chroot off, no DNS) and Estafeta (`estafeta -c
# DIR start-fg`), each on a free 127.0.0.1 port, one after the other (each server runs alone),
# and does the same to both:
#  1. The recipient's Maildir (b1@localhost) is created with tmp/ and new/ not writable by the
#     delivering user (Postfix: virtual_uid 65534; Estafeta: mail_owner), so every delivery
#     fails with a temporary error (4.2.0) and is deferred. Retry times are long
#     (minimal_backoff_time = queue_run_delay = 10000s, maximal_backoff_time = 20000s), so
#     nothing is retried during the measurement. qmgr_message_active_limit (20000) and the
#     other queue manager limits stay at their defaults in both.
#  2. inject: N messages over SMTP (bench/smtp_pipeline_load, SESSIONS sessions, 1 KiB),
#     then wait until all N are files in the deferred queue and none is elsewhere.
#  3. the logs are checked: N "status=deferred" lines with dsn=4.x.x, none bounced.
#  4. startup: the server is stopped and started again (Postfix: `postfix stop`/`start`;
#     Estafeta: SIGTERM, `start-fg` again); bench/deferred_probe.py times, from the start
#     command and from the qmgr process's own start, the first SMTP banner, the delivery of
#     a fresh message to another (writable) mailbox, b2, and "qmgr settled": the last moment
#     its CPU time grew before IDLE (3) seconds without growth; and reads the qmgr process's
#     VmRSS/VmHWM from /proc.
#  5. mailq: `postqueue -p` / `estafeta queue list`, MAILQ_REPEAT (3) times: wall time,
#     lines, messages listed.
#  6. drain: tmp/ and new/ made writable again, then `postqueue -f` / `estafeta queue
#     flush`; the time from the flush command until all N are files in b1's Maildir/new and
#     the queue is empty; msgs/s. qmgr's VmHWM after the drain.
# Prints a markdown table (for bench/RESULTS.md); the raw JSON lines stay in the output.
# Installs and builds nothing; stops what it started (by pid) and removes its temp dir.
# With --journaled-ext4 (root) both servers run on a loop-mounted ext4 image with a journal.
#
# usage: bench/deferred.sh [--count N] [--sessions N] [--build-dir DIR]
#                          [--servers postfix,estafeta] [--keep] [--journaled-ext4]
set -euo pipefail

usage() {
  sed -n '36,37p' "$0" | sed 's/^# //' >&2
  exit 2
}

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
BUILD_DIR=$REPO/build
COUNT=100000
SESSIONS=10
SERVERS=postfix,estafeta
KEEP=0
JOURNALED=0
MAILQ_REPEAT=${MAILQ_REPEAT:-3}
IDLE=${IDLE:-3}
ORIG_ARGS="$*"
while [ $# -gt 0 ]; do
  case "$1" in
    --count) COUNT=${2:?}; shift ;;
    --sessions) SESSIONS=${2:?}; shift ;;
    --build-dir) BUILD_DIR=$(cd "${2:?}" && pwd); shift ;;
    --servers) SERVERS=${2:?}; shift ;;
    --keep) KEEP=1 ;;
    --journaled-ext4) JOURNALED=1 ;;
    *) usage ;;
  esac
  shift
done

ESTAFETA=$BUILD_DIR/estafeta
LOADGEN=$BUILD_DIR/bench/smtp_pipeline_load
PY=/usr/bin/python3
PROBE="$PY $HERE/deferred_probe.py"
BENCH_NAME=deferred.sh
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

say() { echo "deferred.sh: $(date -u +%H:%M:%S) $*" >&2; }
has_server() { case ",$SERVERS," in *,"$1",*) return 0 ;; *) return 1 ;; esac; }
now() { date +%s.%N; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }
jget() { $PY -c 'import json,sys; d=json.loads(sys.argv[1]); print(eval("d"+sys.argv[2]))' "$1" "$2"; }

# ---- tools -----------------------------------------------------------------------------
bench_require_tools postfix postconf postqueue
[ -x "$LOADGEN" ] || die "$LOADGEN not found: build the bench targets (ninja -C $BUILD_DIR)"
if has_server estafeta; then
  [ -x "$ESTAFETA" ] || die "$ESTAFETA not found: build it, or pass --build-dir or --servers"
fi
[ "$(id -u)" -eq 0 ] || die "needs root (Postfix's set-permissions, the mailbox owners)"

# ---- temp dir and cleanup --------------------------------------------------------------
bench_make_tmp estafeta-deferred
EST=$TMP/estafeta

cleanup() {
  set +e
  stop_estafeta
  stop_postfix
  bench_remove_tmp
}
trap cleanup EXIT
trap 'exit 130' INT TERM

read -r PF_PORT EST_PORT < <(free_ports 2)

# Each queue file and each Maildir file takes a 4 KiB block: 2 servers x N x (2 + inodes).
need_kb=$((COUNT * 2 * 12))
avail_kb=$(df -Pk "$TMP" | awk 'NR == 2 { print $4 }')
[ "$avail_kb" -gt $((need_kb + 1048576)) ] ||
  die "need about $((need_kb / 1048576 + 2)) GiB free under $TMP, have $((avail_kb / 1048576))"

# Long retry times in both: nothing is retried while we measure.
RETRY_SETTINGS=("minimal_backoff_time = 10000s" "maximal_backoff_time = 20000s"
                "queue_run_delay = 10000s")

# make_blocked_maildir DIR UID: DIR/{cur,new,tmp}, owned by UID, tmp/ and new/ read-only
make_blocked_maildir() {
  mkdir -p "$1/cur" "$1/new" "$1/tmp"
  chown -R "$2" "$(dirname "$1")"
  chmod 700 "$(dirname "$1")" "$1" "$1/cur"
  chmod 500 "$1/new" "$1/tmp"
}
unblock_maildir() { chmod 700 "$1/new" "$1/tmp"; }

# Both servers deliver with their virtual agent as 65534 into these two mailboxes.
VMAILBOX=$(printf 'b1@localhost b1/Maildir/\nb2@localhost b2/Maildir/')

# ---- Postfix ---------------------------------------------------------------------------
setup_postfix() {
  configure_postfix "$PF_PORT" "$VMAILBOX" \
    "${RETRY_SETTINGS[@]}"
  make_blocked_maildir "$TMP/postfix/mail/b1/Maildir" 65534:65534
}
start_postfix() { start_postfix_daemon; }

# ---- Estafeta --------------------------------------------------------------------------
setup_estafeta() {
  configure_estafeta "$EST" "$EST_PORT" "$VMAILBOX" "${RETRY_SETTINGS[@]}"
  make_blocked_maildir "$EST/mail/b1/Maildir" 65534:65534
}
start_estafeta() { start_estafeta_daemon "$EST"; }

# ---- per server ------------------------------------------------------------------------
RESULTS=$TMP/results.jsonl
: >"$RESULTS"
emit() {  # emit SERVER KEY JSON
  printf '{"server": "%s", "what": "%s", "m": %s}\n' "$1" "$2" "$3" >>"$RESULTS"
  printf '%-8s %-10s %s\n' "$1" "$2" "$3" >&2
}

bench_server() {  # bench_server postfix|estafeta
  local server=$1 port maildir probe_maildir log root_arg json t0 qpid
  local -a flush_cmd list_cmd
  case $server in
    postfix)
      port=$PF_PORT; log=$TMP/postfix/maillog
      maildir=$TMP/postfix/mail/b1/Maildir; probe_maildir=$TMP/postfix/mail/b2/Maildir
      root_arg=(--pidfile "$PF_SPOOL/pid/master.pid")
      flush_cmd=(postqueue -c "$PF_CONF" -f); list_cmd=(postqueue -c "$PF_CONF" -p)
      setup_postfix; start_postfix ;;
    estafeta)
      port=$EST_PORT; log=$EST/maillog
      maildir=$EST/mail/b1/Maildir; probe_maildir=$EST/mail/b2/Maildir
      flush_cmd=("$ESTAFETA" -c "$EST/etc" queue flush)
      list_cmd=("$ESTAFETA" -c "$EST/etc" queue list)
      setup_estafeta; start_estafeta ;;
  esac
  wait_banner "$port" 60 || die "$server not answering"
  [ "$server" = estafeta ] && root_arg=(--root-pid "$EST_PID")
  local spool=$PF_SPOOL
  [ "$server" = estafeta ] && spool=$EST/spool
  local busy=("$spool/active")
  [ "$server" = postfix ] && busy+=("$spool/incoming" "$spool/maildrop")

  # 2. inject, until all are deferred
  say "$server: injecting $COUNT messages ($SESSIONS sessions)"
  sync
  t0=$(now)
  "$LOADGEN" -s "$SESSIONS" -m "$COUNT" -l 1024 -f bench@localhost -t b1@localhost \
    -M localhost "127.0.0.1:$port" >"$TMP/$server-inject.log" 2>&1 ||
    { cat "$TMP/$server-inject.log" >&2; die "$server: injection failed"; }
  local client
  client=$(awk '/^RESULT/ { for (i = 1; i <= NF; i++) if ($i ~ /^seconds=/) print substr($i, 9) }' \
    "$TMP/$server-inject.log")
  local eargs=()
  for d in "${busy[@]}"; do eargs+=(--empty "$d"); done
  json=$($PROBE wait-files --dir "$spool/deferred" --count "$COUNT" "${eargs[@]}" --t0 "$t0" \
    --stall 300) || die "$server: not all messages reached the deferred queue: $json"
  json=${json%\}}", \"client_seconds\": $client, \"count\": $COUNT}"
  emit "$server" inject "$json"

  # 3. every attempt deferred, temporarily; nothing bounced
  local deferred bounced non4 sample
  deferred=$(grep -c 'to=<b1@localhost>.*status=deferred' "$log" || true)
  non4=$(grep 'to=<b1@localhost>.*status=deferred' "$log" | grep -vc 'dsn=4\.' || true)
  bounced=$(grep -c 'status=bounced\|status=expired' "$log" || true)
  sample=$(grep -m1 'to=<b1@localhost>.*status=deferred' "$log" | sed 's/.*dsn=/dsn=/' | tr -d '"\\\\')
  emit "$server" log "{\"deferred_lines\": $deferred, \"deferred_not_4xx\": $non4, \"bounced\": $bounced, \"sample\": \"$sample\"}"
  { [ "$bounced" = 0 ] && [ "$non4" = 0 ]; } || die "$server: something bounced or failed permanently (see $log)"
  [ "$deferred" -ge "$COUNT" ] || die "$server: only $deferred deferrals logged"

  # memory of the qmgr that took them all in, before the restart
  qpid=$(jget "$($PROBE qmgr-pid "${root_arg[@]}" --timeout 10)" '["pid"]')
  emit "$server" mem-inject "$($PROBE mem "$qpid")"

  # 4. restart; start-up with N deferred
  say "$server: restart"
  case $server in
    postfix) stop_postfix ;;
    estafeta) stop_estafeta ;;
  esac
  # (warm page cache, as after a restart of the mail system; nothing is dropped: the
  # machine is shared)
  sync
  t0=$(now)
  case $server in
    postfix) start_postfix ;;
    estafeta) start_estafeta; root_arg=(--root-pid "$EST_PID") ;;
  esac
  json=$($PROBE startup "${root_arg[@]}" --t0 "$t0" --port "$port" --rcpt b2@localhost \
    --maildir "$probe_maildir" --idle "$IDLE" --timeout 900) || die "$server: start-up: $json"
  emit "$server" startup "$json"
  qpid=$(jget "$json" '["qmgr_pid"]')

  # 5. mailq
  say "$server: mailq x$MAILQ_REPEAT"
  local i out=$TMP/$server-mailq.txt
  for i in $(seq 1 "$MAILQ_REPEAT"); do
    t0=$(now)
    "${list_cmd[@]}" >"$out" 2>"$TMP/$server-mailq.err" || die "$server: mailq failed"
    local t1 lines ids summary
    t1=$(now)
    lines=$(wc -l <"$out")
    ids=$(grep -cE '^[0-9A-F]{6,}[*!]? ' "$out" || true)
    summary=$(tail -1 "$out" | tr -d '"')
    emit "$server" mailq "{\"run\": $i, \"seconds\": $(sub "$t1" "$t0"), \"lines\": $lines, \"messages\": $ids, \"summary\": \"$summary\"}"
  done

  # 6. drain
  say "$server: drain"
  unblock_maildir "$maildir"
  sync
  t0=$(now)
  "${flush_cmd[@]}" >"$TMP/$server-flush.log" 2>&1 || die "$server: flush failed"
  local tf
  tf=$(now)
  json=$($PROBE wait-files --dir "$maildir/new" --count "$COUNT" --empty "$spool/deferred" \
    "${eargs[@]}" --t0 "$t0" --stall 120) || die "$server: drain stalled: $json"
  json=${json%\}}", \"flush_command_seconds\": $(sub "$tf" "$t0"), \"rate\": $(awk -v n="$COUNT" -v s="$(jget "$json" '["seconds"]')" 'BEGIN { printf "%.1f", n / s }')}"
  emit "$server" drain "$json"
  emit "$server" mem-drain "$($PROBE mem "$qpid")"
  bounced=$(grep -c 'status=bounced\|status=expired' "$log" || true)
  [ "$bounced" = 0 ] || die "$server: $bounced bounced during the drain"

  case $server in
    postfix) stop_postfix ;;
    estafeta) stop_estafeta ;;
  esac
  # The next server starts from a quiet disk.
  sync
}

say "start: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), count $COUNT"
for server in postfix estafeta; do
  has_server "$server" || continue
  bench_server "$server"
  say "load average $(cut -d' ' -f1-3 /proc/loadavg)"
done
say "end: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
$PY "$HERE/deferred_report.py" --command "bench/deferred.sh $ORIG_ARGS" "$RESULTS"
