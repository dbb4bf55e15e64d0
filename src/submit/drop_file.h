// The maildrop file: what `sendmail` (running as the submitting user) hands to the pickup
// service. It carries only what the user asked for (argv and standard input); who the user
// is comes from the file's owner, never from its content, and pickup decides what to honour
// (submit_policy.h). Framed with the queue's records (queue/record.h), strict to parse, so a
// hand-made or truncated file is refused whole. Pure; fuzzed (fuzz/submit_drop_file_fuzz.cc).
//
// Layout: V "1", then any of S (requested sender; present only with -f/-r), F (full name),
// T (take recipients from the headers), N (DSN NOTIFY), X (DSN RET), E (DSN ENVID), B (body
// type), each at most once, R (a recipient as given) any number of times, then C (content)
// records in order, and Z (the content size in decimal) last.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace estafeta::submit {

struct DropRequest {
  std::optional<std::string> sender;  // -f / -r as given ("" or "<>": the null sender)
  std::string full_name;              // -F
  bool extract_recipients = false;    // -t
  std::vector<std::string> recipients;
  std::string notify;     // -N ("never", "success,delay,failure" ...), "" when not given
  std::string ret;        // -R ("full", "hdrs"), ""
  std::string envid;      // -V, ""
  std::string body_type;  // -B ("7BIT", "8BITMIME"), ""
  std::string content;    // standard input as read (LF or CRLF line ends)
};

/// The file's bytes.
std::string encode_drop_file(const DropRequest& request);

/// Parses a whole file; an error says what is wrong (a truncated or foreign file, a
/// duplicate or unknown record, a size that does not match).
Result<DropRequest> parse_drop_file(std::string_view bytes);

}  // namespace estafeta::submit
