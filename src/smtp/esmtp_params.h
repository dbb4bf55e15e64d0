// Meaning of the MAIL and RCPT parameters we support: SIZE (RFC 1870), BODY (RFC 6152),
// SMTPUTF8 (RFC 6531), RET/ENVID (RFC 3461), AUTH= (RFC 4954; the session decides its use),
// and for RCPT NOTIFY/ORCPT (RFC 3461). Anything else is "555 5.5.4 Unsupported option: X".
// Errors are returned as the complete reply line. Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "smtp/command.h"

namespace estafeta::smtp {

struct MailParams {
  std::optional<uint64_t> size;  // SIZE=n as declared
  std::string body_type;         // "7BIT", "8BITMIME" or ""
  bool smtputf8 = false;
  std::string ret;               // "FULL", "HDRS" or ""
  std::string envid;             // xtext-decoded
  // AUTH= (RFC 4954 §5): "<>" or the xtext-decoded mailbox; nullopt when not given.
  std::optional<std::string> auth;
};

struct RcptParams {
  std::string notify;  // "NEVER" or a comma list of SUCCESS/FAILURE/DELAY, upper-cased
  std::string orcpt;   // as received: "rfc822;user@example.org"
};

/// `smtputf8_enabled`: whether SMTPUTF8 is offered (else that keyword is unsupported).
Result<MailParams> parse_mail_params(const std::vector<EsmtpParam>& params,
                                     bool smtputf8_enabled);
Result<RcptParams> parse_rcpt_params(const std::vector<EsmtpParam>& params);

/// RFC 3461 §4: xtext = *( xchar / "+" 2HEXCHAR ). Nullopt if malformed.
std::optional<std::string> decode_xtext(std::string_view text);

}  // namespace estafeta::smtp
