#!/usr/bin/env bash
# Sets up and runs Estafeta on its embedded default: 127.0.0.1:2525, spool in var/spool and
# Maildirs in var/mail/<localpart>/Maildir/ under the checkout, logging to stdout.
# No configuration file is needed (a missing /etc/estafeta/main.cf means the defaults).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [ "$(id -u)" -eq 0 ]; then
  # The smtpd and delivery processes run as the unprivileged user estafeta, and the demo's
  # mailboxes are written as nobody: both must be able to reach var/ under this checkout.
  mkdir -p var
  dir=$(pwd)
  while [ "$dir" != "/" ]; do
    for user in estafeta nobody; do
      if ! runuser -u "$user" -- test -x "$dir" 2>/dev/null; then
        echo "run: chmod o+x $dir (so that $user can reach var/)"
        chmod o+x "$dir"
      fi
    done
    dir=$(dirname "$dir")
  done
fi
exec build/estafeta start-fg
