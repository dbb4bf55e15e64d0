// The action of an access(5) table entry, as smtpd's check_*_access restrictions (and a
// policy service's reply) give it: "OK", "REJECT text", "450 4.7.1 text", "PREPEND X-A: b",
// "permit_mynetworks reject" (a restriction list)... Keywords are case-insensitive; the text
// is what follows the keyword and its whitespace. The order of recognition is Postfix's
// (smtpd_check.c check_table_result): an all-digit value is OK before it could be a reply
// code, "450" alone is OK, "450 text" is a reply. A value that names a keyword without its
// required argument (FILTER without transport:destination, REDIRECT/BCC without user@domain,
// PREPEND without "name: value") carries a warning and acts as DUNNO, as in Postfix. Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace estafeta::policy {

enum class AccessActionKind {
  Ok,             // OK, RELAY, or an all-digit value (pop-before-smtp time stamps)
  Reject,         // REJECT [text]: access_map_reject_code
  Defer,          // DEFER [text]: access_map_defer_code
  DeferIfReject,  // DEFER_IF_REJECT [text]
  DeferIfPermit,  // DEFER_IF_PERMIT [text]
  Reply,          // 4NN text / 5NN text: that code (421 and 521 also disconnect)
  Discard,        // DISCARD [text]
  Hold,           // HOLD [text]
  Dunno,          // DUNNO, or an unusable value (see warning)
  Prepend,        // PREPEND name: value
  Redirect,       // REDIRECT user@domain
  Filter,         // FILTER transport:destination
  Warn,           // WARN [text]
  Info,           // INFO [text]
  Bcc,            // BCC user@domain
  Restrictions,   // anything else: restriction names (and restriction class names)
  ServerError,    // a value that names a lookup table ("check_client_access hash:/x"):
                  // Postfix refuses those in access tables ("451 4.3.5 Server configuration
                  // error"); a restriction class must be used instead
};

struct AccessAction {
  AccessActionKind kind = AccessActionKind::Dunno;
  int code = 0;      ///< Reply: the three-digit code
  std::string dsn;   ///< an enhanced status code that starts the text ("5.7.0"), or ""
  std::string text;  ///< the text after the keyword (and after `dsn`), or the argument
  std::vector<std::string> restrictions;  ///< Restrictions: the words, in order
  std::string warning;  ///< why a value acts as DUNNO or ServerError, for the log; else ""
  bool operator==(const AccessAction&) const = default;
};

/// Parses one table value; never fails (see AccessAction::warning). An empty value is a
/// Restrictions action with no restriction (Postfix: OK, with a warning the evaluator logs).
AccessAction parse_access_action(std::string_view value);

/// True when `text` starts with an RFC 3463 status code usable in a reply (class 2, 4 or 5;
/// subject and detail of 1 to 3 digits) followed by whitespace or the end; `length` gets its
/// length. Postfix's dsn_split() rule.
bool starts_with_status_code(std::string_view text, size_t* length = nullptr);

/// Postfix's smtpd_dsn_fix(): an address status code (X.1.Y) is made a sender one
/// (X.1.0/7/8) when a sender is refused, a recipient one (X.1.1-6) when a recipient is, and
/// X.0.0 when something else (client, HELO, ETRN) is. `reply_class` is "Sender address",
/// "Recipient address" or anything else. Other codes are returned unchanged.
std::string fix_status_code(std::string_view dsn, std::string_view reply_class);

/// True when `text` is a header line "name: value" (name of printable non-space ASCII other
/// than ':'), as PREPEND requires.
bool is_header_line(std::string_view text);

}  // namespace estafeta::policy
