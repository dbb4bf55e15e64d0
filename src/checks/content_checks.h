// Postfix's header_checks and body_checks (header_checks(5)) as a streaming, pure engine:
// the cleanup stage feeds it each logical header of the message (see message_lines.h for
// the form) and then each body line; for each it answers what to do with that line (keep,
// drop, replace, prepend a line), and it accumulates the message-level verdict (reject,
// defer, discard, hold, redirect, filter, BCC recipients) and the log lines Postfix's cleanup
// would write. Tables are maps::Map (regexp:, pcre:, or any other type); the first table of a
// list that has an answer decides, and a table that cannot answer (TempFail) defers the
// message with "451 4.3.0". Not here: MIME parsing (mime_header_checks and
// nested_header_checks are not applied; every header after the primary header section is a
// body line), PASS's turning off of Milters, the actions' delivery-side effects.
// Pure: no I/O of its own (a table's lookup may do I/O; remote tables block). One checker per
// message; thread-compatible.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "checks/check_action.h"
#include "maps/map.h"

namespace estafeta::checks {

/// Facts about the message for the log lines
/// "QUEUEID: reject: header Subject: x from host[addr]; from=<s> to=<r> proto=ESMTP helo=<h>: ...".
struct CheckContext {
  std::string queue_id;
  std::string client_name;     // "" with client_address set logs "unknown[addr]"
  std::string client_address;  // "" logs the origin as "local" (local submission)
  std::string sender;          // logged always, "" as from=<>
  std::string recipient;       // the first recipient; to=<...> left out when ""
  std::string protocol;        // "ESMTP", "SMTP"; proto= left out when ""
  std::string helo;            // helo=<...> left out when ""
};

struct CheckSettings {
  /// body_checks_size_limit: body lines that start at or after this many bytes of body
  /// (each line counted with its "\n") are not inspected; 0 means no limit.
  size_t body_size_limit = 51200;
};

/// What to do with one header or body line.
struct LineOutcome {
  enum class Disposition {
    Keep,     // output the line as it was
    Drop,     // IGNORE, STRIP, or the line that triggered REJECT/DISCARD
    Replace,  // output `replacement` instead (REPLACE)
  };
  Disposition disposition = Disposition::Keep;
  std::string replacement;
  /// A line to output before the line (or its replacement) (PREPEND). It is not part of the
  /// input: it is not inspected, rewritten, nor counted as a header the message has.
  std::optional<std::string> prepend;
  bool operator==(const LineOutcome&) const = default;
};
using HeaderOutcome = LineOutcome;
using BodyOutcome = LineOutcome;

/// The message-level result, accumulated over every line checked so far.
struct ContentVerdict {
  /// Set when the message must be refused: "550 5.7.1 ..." (REJECT), "451 4.x.x ..." (REJECT
  /// with a 4.x.x code) or "451 4.3.0 Error: queue file write error" (a table TempFail).
  /// The first one wins.
  std::optional<std::string> refusal;
  bool discard = false;  // DISCARD: claim delivery, queue nothing
  bool hold = false;     // HOLD: queue the message on hold
  /// REDIRECT (the last one wins): deliver to this address only. Postfix lets it override
  /// FILTER.
  std::optional<std::string> redirect;
  std::optional<std::string> filter;  // FILTER transport:destination (the last one wins)
  std::vector<std::string> bcc;       // BCC addresses, duplicates removed, NOTIFY=NONE
  bool operator==(const ContentVerdict&) const = default;
};

class ContentChecker {
 public:
  /// `header_checks` and `body_checks` are borrowed: the tables must live as long as the
  /// checker. Empty lists check nothing.
  ContentChecker(std::vector<const maps::Map*> header_checks,
                 std::vector<const maps::Map*> body_checks, CheckContext context,
                 CheckSettings settings = {});

  /// One logical header of the primary header section, in the form MessageLineSplitter
  /// gives ("Name: value", folding kept as "\n" plus the continuation's whitespace, no
  /// final line ending). A replacement or prepended text is a single header line.
  HeaderOutcome check_header(std::string_view logical_header);

  /// One body line without its line ending, empty lines included (they are counted toward
  /// the size limit but, as in Postfix, never looked up).
  BodyOutcome check_body_line(std::string_view line);

  /// False once REJECT, DISCARD, PASS or a TempFail ended inspection: later lines are kept
  /// without lookups.
  bool inspecting() const { return inspecting_; }

  const ContentVerdict& verdict() const { return verdict_; }

  /// Log lines produced since the last call, in order, without program prefix. Postfix's
  /// info-level lines ("QUEUEID: warning: header ...") come as they are; its warnings
  /// (unusable table values, table failures) start with "warning: ".
  std::vector<std::string> take_log_lines();

 private:
  enum class Class { Header, Body };
  LineOutcome check(Class cls, std::string_view line);
  LineOutcome apply(Class cls, std::string_view line, const CheckAction& action);
  void log_action(std::string_view action, Class cls, std::string_view line, std::string_view text);

  std::vector<const maps::Map*> header_checks_;
  std::vector<const maps::Map*> body_checks_;
  CheckContext context_;
  CheckSettings settings_;
  ContentVerdict verdict_;
  std::vector<std::string> log_;
  size_t body_offset_ = 0;
  bool inspecting_ = true;
};

}  // namespace estafeta::checks
