// The Sendmail-compatible command line: `sendmail`, `mailq` and `newaliases` (by argv[0]
// or as `estafeta sendmail|mailq|newaliases`). What is built: -bs (one SMTP session on
// stdin/stdout), -bd/-bD (the daemon), -bp and mailq (the queue listing, `estafeta queue
// list`), -q alone (one queue run now: `estafeta queue flush`). What is not built yet says
// so and exits 69 (EX_UNAVAILABLE): message submission from stdin (-t -i -f -F),
// -bi/newaliases, and -q15m, -qR, -qI, which arrive with the queue manager issue.
#pragma once

#include <string>
#include <vector>

namespace estafeta::cli {

/// `name` is "sendmail", "mailq" or "newaliases".
int run_sendmail_command(const std::string& name, std::string config_dir,
                         const std::vector<std::string>& args);

}  // namespace estafeta::cli
