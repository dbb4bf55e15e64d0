// What a delivery command's end means for the recipient, as Postfix's local(8) and pipe(8)
// decide it: the <sysexits.h> table (which exit codes are temporary, their RFC 3463 codes
// and texts), "D.S.N text" output taking precedence, other exit codes, signals and the
// command time limit. Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "delivery/delivery_task.h"

namespace estafeta::delivery {

struct SysExit {
  int code;               // EX_USAGE (64) .. EX_CONFIG (78)
  std::string_view dsn;   // "5.3.0"; class 4 means a temporary failure
  std::string_view text;  // "command line usage error"
};

/// The table entry for `code`; nullopt outside 64..78.
std::optional<SysExit> sys_exit(int code);

/// How a command ended.
struct CommandEnd {
  bool timed_out = false;  // killed at the time limit
  bool signaled = false;   // killed by `signal` (not at the time limit)
  int signal = 0;
  int exit_code = 0;    // when neither
  int write_errno = 0;  // writing the message to its stdin failed (EPIPE is not a failure)
};

/// The output kept for the result: at most `limit` bytes of `raw`, control characters and
/// newlines as spaces, trailing white space removed.
std::string command_output_text(std::string_view raw, size_t limit = 1024);

/// The result (Postfix's rules):
///   exit 0                     Delivered 2.0.0 "delivered to command: <command>"
///   time limit                 Bounced 5.3.0 "Command time limit exceeded: \"<command>\""
///   signal                     Deferred 4.3.0 "Command died with signal N: \"<command>\""
///   output "4.x.y text"/"5.." that status and text (deferred for class 4, else bounced)
///   sysexits code              the table's status and text (class 4 deferred, else bounced)
///   any other exit code        Bounced 5.3.0 "Command died with status N: \"<command>\""
///   stdin write error          Bounced 5.3.0 "Command failed: <error>: \"<command>\""
/// Texts end in ". Command output: <output>" when the command wrote any.
TaskResult command_result(const CommandEnd& end, std::string_view command, std::string_view output);

}  // namespace estafeta::delivery
