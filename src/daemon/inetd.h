// inetd mode (`estafeta smtpd -bs`, `sendmail -bs`): one SMTP session on stdin/stdout, as
// seed 002 runs Sendmail under inetd and TCP wrappers. Same session code and queue as the
// daemon; the running daemon's delivery agent is woken up for each message.
#pragma once

#include <string>

namespace estafeta::daemon {

int run_inetd_session(const std::string& config_dir);

}  // namespace estafeta::daemon
