// The supervisor ("master"): the only code that may run as root. It reads the configuration
// (root-owned files), prepares the queue and mail directories, binds the listeners, forks the
// smtpd worker and the delivery agent (which drop to mail_owner before touching the
// network), restarts them if they die, reloads on SIGHUP and stops everything on SIGTERM.
// It parses no network input.
#pragma once

#include <string>

namespace estafeta::daemon {

struct SupervisorOptions {
  std::string config_dir;
  bool foreground = true;  // start-fg: log to stdout unless maillog_file is set
  int ready_fd = -1;       // `start`: "ok\n" or the error text is written here once known
};

/// Runs until SIGTERM/SIGINT; returns the exit code (non-zero when it could not start).
int run_supervisor(SupervisorOptions options);

}  // namespace estafeta::daemon
