// The Sendmail-compatible command line: `sendmail`, `mailq` and `newaliases` (by argv[0]
// or as `estafeta sendmail|mailq|newaliases`); options in sendmail_options.h.
//   submission (-bm, the default): reads the message from standard input (a line "." alone
//     ends it unless -i/-oi), checks it as pickup will (recipients, DSN options, size, the
//     submit policy) and writes it to the maildrop directory for pickup (submit/maildrop.h);
//     exit 0 once it is on stable storage, 64 for a usage error, 65 for a bad message, 77
//     when the user may not submit or use that sender, 75 when it cannot be written now.
//   -bs: one SMTP session on stdin/stdout; -bd/-bD: the daemon; -bp and mailq: the queue
//     listing; -q: one queue run now (`estafeta queue flush`), -qR SITE / -qI ID: one of
//     what is queued for SITE / of the queue ids containing ID; -q15m: the daemon in
//     queue-only mode (no listener), every 15 minutes a queue run; -bd -q15m: the daemon with
//     queue runs every 15 minutes.
//   -bi / newaliases: not built yet (the aliases issue); says so and exits 69.
#pragma once

#include <string>
#include <vector>

namespace estafeta::cli {

/// `name` is "sendmail", "mailq" or "newaliases".
int run_sendmail_command(const std::string& name, std::string config_dir,
                         const std::vector<std::string>& args);

}  // namespace estafeta::cli
