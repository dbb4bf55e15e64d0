// The command line of `sendmail` (also `estafeta sendmail`), in Sendmail's syntax with
// Postfix's reading of it: option values attached or separate ("-fuser", "-f user"),
// options first and then the recipients ("--" ends the options). Pure; unit-tested.
//   -bm (default) submit a message read from standard input; -bs SMTP on stdin/stdout;
//   -bd / -bD start the daemon (in the background / foreground); -bp list the queue;
//   -bi (also -I) rebuild aliases; -q one queue run now; -qINTERVAL (-q15m) periodic queue runs (with
//   -bd: the daemon too; alone: queue-only, no listener); -qR SITE and -qI ID (a queue run
//   of what is queued for SITE / of the queue ids containing ID).
//   Submission: -f/-r sender, -F full name, -t, -i/-oi, -N dsn, -R ret, -V envid, -B type.
//   Accepted with no effect, as in Postfix: -v, -n, -m, -U, -G, -Am/-Ac, -oX... (other than
//   -oi), -O name=value, -L label, -h hops, -p protocol.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "submit/drop_file.h"

namespace estafeta::cli {

struct SendmailOptions {
  enum class Mode { Submit, Smtp, Daemon, DaemonForeground, Print, Aliases, QueueRun };
  Mode mode = Mode::Submit;
  std::string config_dir;          // -C; "" keeps the default
  submit::DropRequest request;     // sender, full name, -t, DSN, body type, recipients
  bool dot_ends_input = true;      // cleared by -i / -oi
  std::string queue_interval;      // -q15m: "15m"
  long long queue_interval_seconds = 0;
  std::string queue_site;          // -qR
  std::string queue_id;            // -qI
};

/// Errors are usage errors, worded for the user ("-N needs a value").
Result<SendmailOptions> parse_sendmail_options(const std::vector<std::string>& args);

}  // namespace estafeta::cli
