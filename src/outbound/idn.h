// Internationalized mail for the smtp agent (RFC 6531 SMTPUTF8, IDNA2008): a domain's
// U-labels as A-labels (libidn2, UTS #46 nontransitional processing) for the MX lookup and
// for a server without SMTPUTF8, and the per-message decision of what to send to a server:
// - the server offers SMTPUTF8, or every address is ASCII and the message did not ask for
//   SMTPUTF8 (MAIL FROM ... SMTPUTF8 when it came in): send as is;
// - else, when the message did not ask for SMTPUTF8 and only domains are non-ASCII (every
//   local part is ASCII): send with the envelope domains as A-labels (the headers are not
//   changed);
// - else (a UTF-8 local part, a message that asked for SMTPUTF8, a domain that is not a
//   valid IDN): the message cannot go to this server; the smtp client refuses it with
//   "550 5.6.7 SMTPUTF8 is required, but was not offered by host ..." (Postfix's wording).
// Pure computation (libidn2 only); thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace estafeta::outbound {

/// A domain in A-labels ("bücher.example" -> "xn--bcher-kva.example"). An ASCII domain is
/// returned unchanged (not lower-cased, not checked). Errors: libidn2's message (invalid
/// UTF-8, a label that IDNA2008 disallows, too long).
Result<std::string> domain_to_ascii(std::string_view domain);

/// "local@domain" with the domain in A-labels (the local part untouched; no '@': as is).
Result<std::string> address_to_ascii(std::string_view address);

/// Any octet >= 128.
bool has_non_ascii(std::string_view s);

enum class Utf8Action {
  kSendAsIs,
  kAsciiDomains,  // send `sender` and `recipients` of the decision instead
  kRefuse,        // SMTPUTF8 is required, but was not offered
};

struct Utf8Decision {
  Utf8Action action = Utf8Action::kSendAsIs;
  std::string sender;                   // kAsciiDomains: the converted sender
  std::vector<std::string> recipients;  // kAsciiDomains: the converted recipients, in order
};

/// `smtputf8_requested`: the envelope's SMTPUTF8 flag; `peer_smtputf8`: the server's EHLO.
Utf8Decision decide_smtputf8(bool peer_smtputf8, bool smtputf8_requested, std::string_view sender,
                             const std::vector<std::string>& recipients);

}  // namespace estafeta::outbound
