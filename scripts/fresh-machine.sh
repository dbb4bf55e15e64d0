#!/usr/bin/env bash
# Proves the README's two commands on a machine where nothing was installed by hand: builds a
# minimal Debian 12 root with mmdebstrap from the host's own apt sources, copies a clean clone
# of this repository into it with ../shared beside it, and there runs the README's test command
# (scripts/test.sh), then the run command (scripts/run.sh) with one message sent through it.
# Prints the test runner's summary. Run it as root before resolving any issue that changes
# what is installed or how tests start their peers; it is not part of CI (it takes a while).
#
#   scripts/fresh-machine.sh [--keep] [--root DIR] [--tests-only]
#
# The root is a plain chroot sharing the host's network namespace: tests bind only loopback
# on free ports, so they do not collide with the host. Services that Debian's packages would
# start at installation (PostgreSQL, Redis) are kept from starting by a policy-rc.d, as in any
# chroot; the tests start their own instances.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
shared="$repo/../shared"

keep=0
tests_only=0
root=""
while [ $# -gt 0 ]; do
  case "$1" in
    --keep) keep=1 ;;
    --tests-only) tests_only=1 ;;
    --root) root="$2"; shift ;;
    *) echo "usage: $0 [--keep] [--root DIR] [--tests-only]" >&2; exit 2 ;;
  esac
  shift
done

if [ "$(id -u)" -ne 0 ]; then
  echo "fresh-machine: must run as root (mmdebstrap, chroot and mounts)" >&2
  exit 1
fi
[ -d "$shared" ] || { echo "fresh-machine: ../shared not found beside the repository" >&2; exit 1; }
command -v mmdebstrap >/dev/null || apt-get install -y mmdebstrap ||
  { apt-get update && apt-get install -y mmdebstrap; }

[ -n "$root" ] || root=$(mktemp -d /var/tmp/estafeta-fresh-XXXXXX)
log="$root.log"
echo "fresh-machine: root $root, log $log"

unmount_all() {
  for m in dev sys proc; do
    mountpoint -q "$root/$m" && umount -R -l "$root/$m" || true
  done
}
finish() {
  local status=$?
  if [ -n "${run_pid:-}" ]; then kill -- -"$run_pid" 2>/dev/null || true; fi
  unmount_all
  if [ "$keep" -eq 0 ]; then rm -rf --one-file-system "$root"; fi
  exit "$status"
}
trap finish EXIT

# The host's apt sources, each file as it stands (one-line or deb822 format).
sources=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  [ -s "$f" ] && sources+=("$f")
done
[ ${#sources[@]} -gt 0 ] || { echo "fresh-machine: the host has no apt sources" >&2; exit 1; }

echo "fresh-machine: mmdebstrap --variant=minbase bookworm (sources: ${sources[*]})"
mmdebstrap --variant=minbase bookworm "$root" "${sources[@]}" >>"$log" 2>&1

# What a booted machine has that a bare root lacks: name resolution for apt, /etc/hosts,
# and (chroot only) no service starts during package installation.
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp /etc/hosts "$root/etc/hosts"
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"

mkdir -p "$root/work"
git clone -q "$repo" "$root/work/estafeta"
cp -a "$shared" "$root/work/shared"

mount -t proc proc "$root/proc"
mount -t sysfs sys "$root/sys"
mount --rbind /dev "$root/dev"
mount --make-rslave "$root/dev"

# Runs a command line in the fresh root from the checkout, with a login-like environment.
in_root() {
  chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    /bin/bash -c "cd /work/estafeta && $1"
}

echo "fresh-machine: README test command (./scripts/test.sh) in the fresh root (log: $log)"
test_status=0
in_root ./scripts/test.sh >>"$log" 2>&1 || test_status=$?
summary=$(grep -E 'tests passed, [0-9]+ tests failed' "$log" | tail -1 || true)
echo "fresh-machine: test command exit status $test_status: ${summary:-no summary (see $log)}"
sed -n '/^The following tests FAILED:/,/^Errors while running CTest/p' "$log"

run_status=0
if [ "$tests_only" -eq 0 ]; then
  echo "fresh-machine: README run command (./scripts/run.sh) and one message through it"
  if (exec 3<>/dev/tcp/127.0.0.1/2525) 2>/dev/null; then
    echo "fresh-machine: 127.0.0.1:2525 is already in use on this host; run check skipped" >&2
    run_status=1
  else
    # Its own process group, so that stopping it stops everything it started.
    setsid chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 \
      PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      /bin/bash -c "cd /work/estafeta && exec ./scripts/run.sh" >>"$log" 2>&1 &
    run_pid=$!
    # run.sh rebuilds first (setup.sh turns -Werror off again after the test command), which
    # takes more than 10 minutes on a busy 2-core machine.
    for _ in $(seq 1800); do
      (exec 3<>/dev/tcp/127.0.0.1/2525) 2>/dev/null && break
      kill -0 "$run_pid" 2>/dev/null || break
      sleep 1
    done
    in_root "swaks --server 127.0.0.1:2525 --to alice@localhost --from bob@example.org" \
      >>"$log" 2>&1 || run_status=1
    delivered=0
    for _ in $(seq 30); do
      if [ -n "$(ls -A "$root/work/estafeta/var/mail/alice/Maildir/new" 2>/dev/null)" ]; then
        delivered=1
        break
      fi
      sleep 1
    done
    [ "$delivered" -eq 1 ] || run_status=1
    kill -- -"$run_pid" 2>/dev/null || true
    wait "$run_pid" 2>/dev/null || true
    run_pid=""
    echo "fresh-machine: run command: $([ "$run_status" -eq 0 ] &&
      echo "mail delivered to var/mail/alice/Maildir/new" || echo "FAILED (see $log)")"
  fi
fi

[ "$test_status" -eq 0 ] && [ "$run_status" -eq 0 ]
