// The supervisor ("master"): the only code that may run as root. It reads the configuration
// (root-owned files) and the master.cf service table, prepares the queue and mail
// directories, binds the smtpd listeners, and starts every service of the table as a
// program of its own (fork + exec of `estafeta -c DIR <command> -n NAME -t TYPE -o ...`,
// see services.h), so that no service inherits its memory. It keeps no TLS key and opens no
// lookup table, and it parses no network input.
//
// A start succeeds once every service has reported that it serves (a service that cannot
// start, e.g. on a table that cannot be opened, stops the start with its reason on stderr).
// Afterwards a service that exits is started again after 1 s, doubling for each failure in
// a row up to 60 s (a process that ran a minute starts the sequence again), and each exit
// and restart is logged. SIGHUP reloads (new smtpd processes take over the listeners, the
// old ones finish their sessions; qmgr and local are stopped and started again), SIGTERM
// stops everything. <queue_directory>/pid/services lists the services and their pids for
// `estafeta status`.
#pragma once

#include <chrono>
#include <string>

#include "daemon/runtime.h"

namespace estafeta::daemon {

struct SupervisorOptions {
  std::string config_dir;
  bool foreground = true;  // start-fg: log to stdout unless maillog_file is set
  int ready_fd = -1;       // `start`: "ok\n" or the error text is written here once known
  RunMode mode;            // sendmail -q15m / -bd -q15m
};

/// Runs until SIGTERM/SIGINT; returns the exit code (non-zero when it could not start).
int run_supervisor(SupervisorOptions options);

/// The file, under the queue directory, in which the supervisor lists its services.
inline constexpr const char* kServicesFile = "pid/services";

/// How long a service waits before its restart after `failures` exits in a row (>= 1):
/// 1 s, 2 s, 4 s, ... at most 60 s.
std::chrono::seconds restart_delay(int failures);

}  // namespace estafeta::daemon
