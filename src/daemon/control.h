// The control commands of `estafeta`, in Postfix's convention: start (daemonize), start-fg,
// stop, reload, status. They find the running supervisor through
// <queue_directory>/pid/master.pid (locked by the supervisor while it runs); status also
// prints the services from <queue_directory>/pid/services, one line each ("smtpd
// 127.0.0.1:2525 pid 1234"), and exits 0 when the supervisor runs.
#pragma once

#include <string>

#include "daemon/runtime.h"

namespace estafeta::daemon {

int command_start(const std::string& config_dir, const RunMode& mode = {});
int command_start_foreground(const std::string& config_dir, const RunMode& mode = {});
int command_stop(const std::string& config_dir);
int command_reload(const std::string& config_dir);
int command_status(const std::string& config_dir);

}  // namespace estafeta::daemon
