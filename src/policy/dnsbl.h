// DNS black- and allowlist helpers for reject_rbl_client, reject_rhsbl_*, permit_dnswl_client
// and permit_rhswl_client: the query names (reversed IPv4 octets or IPv6 nibbles, or a domain,
// followed by the list's zone) and the "=d.d.d.d" reply filters, where each d is a number or
// a "[...]" pattern of ';'-separated numbers and "n..m" ranges ("127.0.0.[2..4;10]"), as in
// Postfix 2.8 and later. Estafeta also accepts several whole addresses separated by ';'
// ("127.0.0.2;127.0.0.3") as alternatives. Pure.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace estafeta::policy {

class DnsblFilter {
 public:
  /// No filter: any A record is a listing.
  DnsblFilter() = default;
  /// Parses the text after '='; an Error names what is wrong ("bad DNSBL reply filter ...").
  static Result<DnsblFilter> parse(std::string_view text);
  /// True when `reply` (a dotted-quad A record) matches; always true without a filter.
  bool matches(std::string_view reply) const;
  bool empty() const { return patterns_.empty(); }

 private:
  struct Range {
    int low = 0;
    int high = 0;
  };
  using Octet = std::vector<Range>;  // any of these ranges
  using Pattern = std::array<Octet, 4>;
  std::vector<Pattern> patterns_;  // any of these patterns
};

/// "zone" and "filter" of a restriction argument "zone=filter" (filter "" when absent).
struct DnsblArgument {
  std::string zone;
  std::string filter;
};
DnsblArgument split_dnsbl_argument(std::string_view argument);

/// The query name for a client address: "2.0.0.127.zone" for 127.0.0.2, the 32 reversed
/// nibbles for IPv6; nullopt when `address` is not an IP address.
std::optional<std::string> dnsbl_address_query(std::string_view address, std::string_view zone);

/// The query name for a domain: "domain.zone"; for an email address its domain. nullopt for
/// an empty domain or an address literal ("[192.0.2.1]"), which Postfix does not look up.
std::optional<std::string> dnsbl_domain_query(std::string_view name_or_address,
                                              std::string_view zone);

}  // namespace estafeta::policy
