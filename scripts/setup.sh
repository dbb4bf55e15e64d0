#!/usr/bin/env bash
# Installs what Estafeta needs from Debian 12's packages, creates the mail_owner user when
# run as root, and builds into build/ (and, with --fuzz, the libFuzzer targets into
# build-fuzz/ with clang). Warnings are errors only with --werror (development and CI:
# scripts/test.sh); the user's build (scripts/run.sh) never fails on a warning.
# Idempotent: run it as often as you like.
#
#   scripts/setup.sh [--fuzz] [--werror]
set -euo pipefail
cd "$(dirname "$0")/.."

fuzz=0
werror=OFF
for arg in "$@"; do
  case "$arg" in
    --fuzz) fuzz=1 ;;
    --werror) werror=ON ;;
    *) echo "usage: $0 [--fuzz] [--werror]" >&2; exit 2 ;;
  esac
done

PACKAGES=(
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  libasio-dev libfmt-dev libssl-dev liblmdb-dev lmdb-utils libpcre2-dev libpq-dev
  libhiredis-dev libc-ares-dev libidn2-dev libgtest-dev libgmock-dev zlib1g-dev
  python3 openssl swaks libnet-ssleay-perl libio-socket-ssl-perl
  postfix postfix-pcre postfix-lmdb sasl2-bin libsasl2-modules pflogsumm dnsmasq-base
  ldnsutils nsd unbound redis-server postgresql procps bsd-mailx util-linux procmail passwd
  postgrey
  dovecot-core
)
# Every program and Perl module a test runs is listed with its package in
# tests/integration/tools.py; test_tools checks that each of those packages is named above.

# Packages of peers that enable a system service on installation: the tests start their own
# instances (free ports, their own configuration: tests/integration/postgrey.py, dovecot.py),
# never those. Each entry: the package, its service (init script) and its systemd units.
# Stopped and disabled only when this script installed the package: a service the machine
# already ran is left alone.
PEER_SERVICES=(
  "postgrey postgrey postgrey.service"
  "dovecot-core dovecot dovecot.service dovecot.socket"
)

# Stops a service and keeps it from starting at boot, under systemd or SysV init alike
# (systemctl disable also works where systemd is not running, e.g. in a container).
keep_service_off() {  # service, then its systemd units
  local service=$1
  shift
  invoke-rc.d "$service" stop >/dev/null 2>&1 || true
  if command -v systemctl >/dev/null 2>&1; then
    if [ -d /run/systemd/system ]; then
      systemctl disable --now "$@" >/dev/null 2>&1 || true
    else
      systemctl disable "$@" >/dev/null 2>&1 || true
    fi
  fi
  update-rc.d "$service" disable >/dev/null 2>&1 || true
}

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing packages (run as root to install): ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  # Postfix's package must not start or configure a system instance for us.
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  apt-get install -y --no-install-recommends "${missing[@]}" ||
    { apt-get update && apt-get install -y --no-install-recommends "${missing[@]}"; }
  for entry in "${PEER_SERVICES[@]}"; do
    read -r package service units <<<"$entry"
    if [[ " ${missing[*]} " == *" $package "* ]]; then
      # shellcheck disable=SC2086  # the units are words
      keep_service_off "$service" $units
    fi
  done
fi

# The unprivileged user that every network-facing process runs as (mail_owner).
if [ "$(id -u)" -eq 0 ] && ! id estafeta >/dev/null 2>&1; then
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin estafeta
fi

# ESTAFETA_WERROR is given either way: the cache of build/ must not keep a value that
# scripts/test.sh set.
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DESTAFETA_WERROR="$werror" \
  >/dev/null
ninja -C build

if [ "$fuzz" -eq 1 ]; then
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DESTAFETA_FUZZ=ON -DESTAFETA_WERROR="$werror" >/dev/null
  ninja -C build-fuzz $(cd fuzz && ls *_fuzz.cc 2>/dev/null | sed 's/\.cc$//')
fi
