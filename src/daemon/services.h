// The services the supervisor starts as programs of their own (fork + exec of
// `estafeta -c DIR <service>`), so that none inherits the supervisor's memory (TLS keys,
// open tables, LMDB environments): the queue manager (`qmgr`) and the local delivery agent
// (`local`). Each loads the configuration itself, opens what it needs while still
// privileged, drops to mail_owner, and runs until SIGTERM. Logging goes where the
// supervisor's does: maillog_file if set, else standard output when the supervisor runs in
// the foreground (it sets ESTAFETA_LOG_STDOUT=1), else syslog.
#pragma once

#include <string>

namespace estafeta::daemon {

/// The environment variable by which a foreground supervisor tells its services to log to
/// standard output.
inline constexpr const char* kLogToStdoutVariable = "ESTAFETA_LOG_STDOUT";

/// `estafeta qmgr`: returns the exit code.
int run_qmgr_service(const std::string& config_dir);
/// `estafeta local`: returns the exit code.
int run_local_service(const std::string& config_dir);

}  // namespace estafeta::daemon
