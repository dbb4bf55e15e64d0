// IP networks for mynetworks-style lists ("127.0.0.0/8", "[::1]/128", "10.1.2.3"): parsing
// and membership. Pure: inet_pton only, no sockets.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace estafeta::policy {

/// An address as 16 bytes; IPv4 is stored as an IPv4-mapped IPv6 address (::ffff:a.b.c.d).
using IpBytes = std::array<uint8_t, 16>;

std::optional<IpBytes> parse_ip(std::string_view text);  // "1.2.3.4", "::1", "[::1]"

struct Network {
  IpBytes base{};
  int prefix_bits = 128;  // over the 16-byte form (IPv4 /8 is stored as /104)
  bool contains(const IpBytes& address) const;
};

/// "a.b.c.d/n", "a.b.c.d", "[v6]/n", "v6/n". Host bits set in base are cleared.
std::optional<Network> parse_network(std::string_view text);

class NetworkList {
 public:
  /// Parses every element; returns the elements that did not parse in `bad` (for diagnostics).
  static NetworkList parse(const std::vector<std::string>& items, std::vector<std::string>* bad);
  bool contains(std::string_view address) const;

 private:
  std::vector<Network> networks_;
};

}  // namespace estafeta::policy
