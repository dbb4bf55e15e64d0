# bench/lib.sh: what bench/run.sh and bench/deferred.sh share, sourced by both: finding
# Postfix's tools, the temporary directory (optionally on a journaled ext4 image), free ports,
# waiting for a banner or an exit, a private Postfix configured alike in both (virtual(8) into
# Maildir, chroot off, no DNS), Estafeta's main.cf, and stopping what was started, by pid.
#
# The caller sets PY, KEEP, JOURNALED, and names its messages through BENCH_NAME; it reads
# TMP, IMAGE, PF_CONF, PF_SPOOL, PF_STARTED and EST_PID.

die() { echo "$BENCH_NAME: $*" >&2; exit 1; }

bench_require_tools() {  # bench_require_tools TOOL...: Debian's postfix package provides them
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin
    command -v "$tool" >/dev/null 2>&1 ||
      die "$tool not found: install Debian's postfix package (see README setup)"
  done
  [ -x "$PY" ] || die "$PY not found"
}

# The temporary directory TMP. With JOURNALED=1 it is the mount point of a sparse ext4 image
# (IMAGE) formatted with its journal (mkfs.ext4's default, data=ordered), as on a production
# server: this machine's own ext4 has no journal.
bench_make_tmp() {  # bench_make_tmp PREFIX
  TMP=$(mktemp -d "/tmp/$1.XXXXXX")
  IMAGE=""
  if [ "$JOURNALED" = 1 ]; then
    [ "$(id -u)" -eq 0 ] || die "--journaled-ext4 needs root (mount)"
    IMAGE=$TMP.img
    truncate -s 16G "$IMAGE"
    mkfs.ext4 -q -F "$IMAGE" || die "mkfs.ext4 $IMAGE failed"
    mount -o loop "$IMAGE" "$TMP" || die "mount -o loop $IMAGE failed"
    dumpe2fs -h "$IMAGE" 2>/dev/null | grep -q has_journal || die "$IMAGE has no journal"
  fi
  chmod 755 "$TMP"
  # Each server gets its own part of the disk, as on a machine of its own: with the "top of
  # hierarchy" flag, ext4 places the subdirectories postfix/ and estafeta/ (and so each one's
  # spool and mailboxes) in different block groups. Without it both share a group, and on
  # ext4 without a journal every inode one server deleted in the last minutes is skipped, one
  # by one, by each file the other creates. Not ext4: nothing to do.
  chattr +T "$TMP" 2>/dev/null || true
  PF_CONF=$TMP/postfix/etc
  PF_SPOOL=$TMP/postfix/spool
  PF_STARTED=0
  EST_PID=""
}

bench_remove_tmp() {
  if [ "$KEEP" = 1 ]; then
    echo "$BENCH_NAME: kept $TMP" >&2
    return 0
  fi
  rm -rf "${TMP:?}"/* 2>/dev/null
  if [ -n "$IMAGE" ]; then
    umount "$TMP"
    rm -f "$IMAGE"
  fi
  rm -rf "$TMP"
}

free_ports() {  # free_ports N: N free loopback ports, held open together so they differ
  $PY - "$1" <<'PYEOF'
import socket, sys
ss = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))
PYEOF
}

wait_gone() {  # wait_gone PID SECONDS: true once PID has exited
  local pid=$1 n=$(($2 * 10))
  while [ "$n" -gt 0 ] && kill -0 "$pid" 2>/dev/null; do sleep 0.1; n=$((n - 1)); done
  ! kill -0 "$pid" 2>/dev/null
}

wait_banner() {  # wait_banner PORT SECONDS: true once a 220 greeting arrives
  $PY - "$1" "$2" <<'PYEOF'
import socket, sys, time
port, deadline = int(sys.argv[1]), time.monotonic() + float(sys.argv[2])
while time.monotonic() < deadline:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            if s.recv(512).startswith(b"220"):
                s.sendall(b"QUIT\r\n")
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.1)
sys.exit(1)
PYEOF
}

# ---- Postfix ---------------------------------------------------------------------------
# configure_postfix PORT VMAILBOX_LINES [main.cf setting...]: a private Postfix under
# $TMP/postfix delivering with virtual(8) as uid 65534 into $TMP/postfix/mail, listening on
# 127.0.0.1:PORT (maxproc 150, as Estafeta's sessions) instead of port 25.
configure_postfix() {
  local port=$1 vmailbox=$2
  shift 2
  mkdir -p "$PF_CONF" "$PF_SPOOL" "$TMP/postfix/data" "$TMP/postfix/mail"
  chown 65534:65534 "$TMP/postfix/mail"
  chmod 755 "$TMP/postfix" "$PF_CONF" "$TMP/postfix/mail"
  cp /etc/postfix/master.cf "$PF_CONF/master.cf"
  : >"$PF_CONF/main.cf"
  printf '%s\n' "$vmailbox" >"$PF_CONF/vmailbox"
  postconf -c "$PF_CONF" -e "compatibility_level = 3.6" \
    "queue_directory = $PF_SPOOL" \
    "data_directory = $TMP/postfix/data" \
    "meta_directory = /etc/postfix" \
    "mail_owner = postfix" "setgid_group = postdrop" \
    "myhostname = bench.localdomain" "mydomain = localdomain" \
    "mydestination =" "inet_interfaces = 127.0.0.1" "inet_protocols = ipv4" \
    "mynetworks = 127.0.0.0/8" \
    "virtual_mailbox_domains = localhost" \
    "virtual_mailbox_base = $TMP/postfix/mail" \
    "virtual_mailbox_maps = texthash:$PF_CONF/vmailbox" \
    "virtual_uid_maps = static:65534" "virtual_gid_maps = static:65534" \
    "alias_maps =" "alias_database =" "local_recipient_maps =" \
    "smtp_dns_support_level = disabled" "smtpd_peername_lookup = no" \
    "maillog_file = $TMP/postfix/maillog" "maillog_file_prefixes = $TMP" \
    "biff = no" "$@"
  postconf -c "$PF_CONF" -F '*/*/chroot = n'
  postconf -c "$PF_CONF" -MX smtp/inet
  postconf -c "$PF_CONF" -Me "127.0.0.1:$port/inet = 127.0.0.1:$port inet n - n - 150 smtpd"
  postfix -c "$PF_CONF" set-permissions >/dev/null 2>&1 || true
}

start_postfix_daemon() {
  # postfix reports errors on stderr only to a terminal: run it under script(1).
  script -qec "postfix -c $PF_CONF start" /dev/null >"$TMP/postfix/start.log" 2>&1 ||
    { cat "$TMP/postfix/start.log" >&2; die "postfix did not start"; }
  PF_STARTED=1
}

stop_postfix() {
  [ "$PF_STARTED" = 1 ] || return 0
  local mpid
  mpid=$(tr -d ' ' <"$PF_SPOOL/pid/master.pid" 2>/dev/null || true)
  postfix -c "$PF_CONF" stop >/dev/null 2>&1 || true
  if [ -n "$mpid" ] && ! wait_gone "$mpid" 30; then
    kill -TERM "$mpid" 2>/dev/null || true
    wait_gone "$mpid" 5 || true
  fi
  PF_STARTED=0
}

# ---- Estafeta --------------------------------------------------------------------------
estafeta_owner() {  # the mail_owner the benchmarks run Estafeta as
  if id estafeta >/dev/null 2>&1; then echo estafeta; else echo nobody; fi
}

# configure_estafeta DIR PORT VMAILBOX_LINES [main.cf line...]: DIR/etc/main.cf and
# master.cf (one smtpd on 127.0.0.1:PORT, maxproc 150), the spool under DIR, and the same
# delivery as configure_postfix's: the virtual agent as uid/gid 65534 into the Maildirs of
# DIR/etc/vmailbox ("address Maildir/" lines) under DIR/mail, owned by 65534. Its destination
# is the domain with default_destination_concurrency_limit (20), as Postfix's virtual(8).
configure_estafeta() {
  local dir=$1 port=$2 vmailbox=$3
  shift 3
  mkdir -p "$dir/etc" "$dir/mail"
  chown 65534:65534 "$dir/mail"
  chmod 755 "$dir" "$dir/etc" "$dir/mail"
  printf '%s\n' "$vmailbox" >"$dir/etc/vmailbox"
  {
    echo "queue_directory = $dir/spool"
    echo "myhostname = bench.localdomain"
    echo "mydomain = localdomain"
    echo "mydestination ="
    echo "virtual_mailbox_domains = localhost"
    echo "virtual_mailbox_base = $dir/mail"
    echo "virtual_mailbox_maps = texthash:$dir/etc/vmailbox"
    echo "virtual_uid_maps = static:65534"
    echo "virtual_gid_maps = static:65534"
    echo "mynetworks = 127.0.0.0/8"
    echo "smtpd_peername_lookup = no"
    echo "maillog_file = $dir/maillog"
    echo "mail_owner = $(estafeta_owner)"
    [ $# -eq 0 ] || printf '%s\n' "$@"
  } >"$dir/etc/main.cf"
  echo "127.0.0.1:$port inet n - n - 150 smtpd" >"$dir/etc/master.cf"
}

start_estafeta_daemon() {  # start_estafeta_daemon DIR: start-fg in the background, EST_PID
  "$ESTAFETA" -c "$1/etc" start-fg >>"$1/stdout.log" 2>&1 &
  EST_PID=$!
}

stop_estafeta() {
  [ -n "$EST_PID" ] || return 0
  kill -TERM "$EST_PID" 2>/dev/null || true
  wait_gone "$EST_PID" 30 || kill -KILL "$EST_PID" 2>/dev/null || true
  wait "$EST_PID" 2>/dev/null || true
  EST_PID=""
}
