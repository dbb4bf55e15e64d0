// SMTP command lines (RFC 5321 §4.1, RFC 3030 BDAT, RFC 3207 STARTTLS) -> Command.
// Input is one line without its CRLF. Only the shape of the line is checked here (verb,
// "FROM:"/"TO:", the angle-bracketed path, ESMTP keyword[=value] syntax, BDAT size); what
// the path and parameters mean is checked by the session (address/, esmtp_params.h).
// Errors are returned as the complete reply line to send, e.g.
// "501 5.5.4 Syntax: MAIL FROM:<address>". Pure, no state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace estafeta::smtp {

enum class Verb {
  Helo, Ehlo, StartTls, Auth, Mail, Rcpt, Data, Bdat, Rset, Noop, Vrfy, Expn, Etrn, Help,
  Quit,
  NonSmtp,  // GET, POST, CONNECT: an HTTP client or a proxy abuse attempt
  Unknown,
};

/// One "keyword[=value]" of MAIL/RCPT (RFC 5321 §4.1.2 esmtp-param).
struct EsmtpParam {
  std::string keyword;  // upper-cased
  std::string value;    // raw value; "" when there was no '='
  bool has_value = false;
};

struct Command {
  Verb verb = Verb::Unknown;
  std::string name;       // the verb as sent, upper-cased ("MAIL")
  std::string argument;   // everything after the verb, trimmed
  std::string path;       // MAIL/RCPT: "<...>"; brackets added when the client left them out
  std::vector<EsmtpParam> params;  // MAIL/RCPT
  uint64_t chunk_size = 0;         // BDAT
  bool last = false;               // BDAT ... LAST
};

/// Parses a command line (without CRLF). Unknown verbs are not an error (Verb::Unknown);
/// a known verb with bad arguments is, and the Error message is the reply line to send.
Result<Command> parse_command(std::string_view line);

/// The verb of a line without checking its arguments (for statistics after a syntax error).
Verb classify_verb(std::string_view line);

/// Lower-case name used in Postfix's "disconnect from" statistics ("ehlo", "unknown").
std::string_view stats_name(Verb verb);

}  // namespace estafeta::smtp
