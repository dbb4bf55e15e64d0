// RFC 5321 §4.1.2 domains and address literals, as they appear after the "@" of a mailbox or
// in a source route. Pure syntax checks: no DNS, no IDNA mapping (a U-label is accepted as
// well-formed UTF-8 letters when SMTPUTF8 is in effect, RFC 6531 §3.3).
// Errors are returned as Status with a short human reason ("domain label too long").
#pragma once

#include <string_view>

#include "base/result.h"

namespace estafeta::address {

constexpr size_t kMaxDomainLength = 255;  // RFC 5321 §4.5.3.1.2
constexpr size_t kMaxLabelLength = 63;    // RFC 1035 §2.3.4

/// Domain = sub-domain *("." sub-domain); with `utf8`, non-ASCII UTF-8 counts as a letter.
Status check_domain(std::string_view domain, bool utf8);

/// address-literal = "[" (IPv4 / "IPv6:" IPv6) "]". General literals are refused.
Status check_address_literal(std::string_view literal);

/// Dotted quad, each part 1-3 digits with value 0-255.
bool valid_ipv4(std::string_view s);

/// RFC 4291 §2.2 text forms, including "::" compression and an IPv4 tail.
bool valid_ipv6(std::string_view s);

}  // namespace estafeta::address
