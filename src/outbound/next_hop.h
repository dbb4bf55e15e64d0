// The next-hop syntax of relayhost, transport_maps nexthops and smtp_fallback_relay:
// `[host]:port`, `[host]`, `host:port` or `host`. Brackets mean "this host, no MX lookup"
// (an address literal may be `[192.0.2.1]`, `[2001:db8::1]` or `[ipv6:2001:db8::1]`). The
// port is a number or a service name (smtp 25, submission 587, submissions/smtps 465).
// Pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace estafeta::outbound {

struct NextHop {
  /// Without brackets and without an `ipv6:` prefix.
  std::string host;
  uint16_t port = 25;
  /// false for a bracketed host: connect to its addresses, do not look up MX records.
  bool mx_lookup = true;
  friend bool operator==(const NextHop&, const NextHop&) = default;
};

/// Errors: empty host, unbalanced brackets, a colon in an unbracketed host, a bad port,
/// whitespace or control characters.
Result<NextHop> parse_next_hop(std::string_view text);

}  // namespace estafeta::outbound
