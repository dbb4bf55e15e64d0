// Literal IP network lists, as mynetworks writes them ("127.0.0.0/8", "[::1]/128",
// "10.1.2.3"), and membership of a client address. Parsing is the cidr table's
// (maps::parse_cidr_pattern), so both accept and refuse exactly the same text. Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "maps/cidr_map.h"

namespace estafeta::policy {

class NetworkList {
 public:
  /// Parses every element; the elements that did not parse go to `bad` with the reason
  /// ("10.0.0.1/8: non-null host address bits in ..."), for diagnostics.
  static NetworkList parse(const std::vector<std::string>& items, std::vector<std::string>* bad);
  /// True if `address` (numeric IPv4 or IPv6) is in one of the networks.
  bool contains(std::string_view address) const;

 private:
  std::vector<maps::IpNetwork> networks_;
};

}  // namespace estafeta::policy
