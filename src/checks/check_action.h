// The action of a header_checks/body_checks table entry (Postfix header_checks(5)): parses a
// table's value ("REJECT text", "PREPEND X-Seen: yes", "FILTER smtp:[10.0.0.1]", ...) into a
// CheckAction. Keywords are case-insensitive; the rest of the value (after the whitespace
// that follows the keyword) is the action's text. A value that names no known action, or a
// known action without its required argument, gives a warning and acts as DUNNO, as Postfix
// does. Pure; no I/O; thread-compatible.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace estafeta::checks {

enum class ActionKind {
  Dunno,     // DUNNO, OK, or an unusable value: as if nothing matched
  Reject,    // refuse the whole message; stops inspection
  Discard,   // claim delivery and drop the message; stops inspection
  Pass,      // log "pass" and stop inspection (the message is accepted)
  Warn,      // log "warning"
  Info,      // log "info"
  Hold,      // put the message on hold
  Ignore,    // delete the line silently
  Strip,     // delete the line and log "strip"
  Prepend,   // add `text` as a line before the line
  Replace,   // put `text` in place of the line
  Redirect,  // deliver to `text` (user@domain) instead of the recipients
  Filter,    // send through content filter `text` (transport:destination)
  Bcc,       // add `text` (user@domain) as a BCC recipient (NOTIFY=NONE)
};

struct CheckAction {
  ActionKind kind = ActionKind::Dunno;
  /// The optional text or required argument, as written after the keyword. For Reject: the
  /// reason with its enhanced status code, "5.7.1 message content rejected" by default, the
  /// text with "5.7.1 " in front when it does not start with a code, or the text as given
  /// when it starts with one (x.y.z, class 4 or 5; another class is made a 4).
  std::string text;
  bool operator==(const CheckAction&) const = default;
};

struct ParsedAction {
  CheckAction action;
  /// Set when the value was unusable or had to be corrected; the text Postfix would log
  /// after "warning: " (e.g. "unknown command in header_checks map: FROB").
  std::optional<std::string> warning;
};

/// Parses a table value. `map_class` names the parameter in warnings ("header_checks",
/// "body_checks"). Never fails: see ParsedAction::warning.
ParsedAction parse_check_action(std::string_view value, std::string_view map_class);

/// True when `text` starts with an enhanced status code (RFC 3463 class.subject.detail,
/// class 2, 4 or 5, subject and detail 1 to 3 digits) followed by whitespace or the end.
bool starts_with_enhanced_code(std::string_view text);

/// The keyword Postfix uses for `kind` in its log lines ("reject", "warning", "redirect").
std::string_view action_log_name(ActionKind kind);

}  // namespace estafeta::checks
