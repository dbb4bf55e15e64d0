// cidr: tables (Postfix cidr_table(5)): "[!]network[/prefix] result" lines matched against an
// IPv4 or IPv6 client address, first match in file order, with nestable "if [!]pattern" ..
// "endif" blocks. Malformed lines are skipped with Postfix's warning ("NAME, line N: ...").
// Lookups are not linear: runs of consecutive plain rules are indexed by prefix length (one
// hash probe per distinct length), so the cost stays flat from 1,000 to 1,000,000 networks
// while the answer is still the first match in file order. Pure; immutable once built.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "maps/map.h"
#include "maps/memory_map.h"

namespace estafeta::maps {

/// An address or network: 4 (IPv4) or 16 (IPv6) significant bytes.
struct IpNetwork {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};
  int prefix = 0;  ///< 0..32 or 0..128
};

/// Parses a lookup key ("192.0.2.1", "2001:db8::1"); nullopt-like Error if not an address.
Result<IpNetwork> parse_ip_address(std::string_view text);

/// Parses a table pattern: "a.b.c.d", "a.b.c.d/len", "[addr]/len", "[addr/len]", IPv6 alike.
/// The Error message is Postfix's ("bad address pattern: \"x\"", "non-null host address
/// bits in ...", "bad mask length in ...").
Result<IpNetwork> parse_cidr_pattern(std::string_view text);

class CidrMap final : public Map {
 public:
  struct Item;  // defined in cidr_map.cc
  CidrMap(std::vector<std::string> values, std::unique_ptr<std::vector<Item>> top);
  ~CidrMap() override;
  LookupResult lookup(std::string_view key) const override;

 private:
  std::vector<std::string> values_;
  std::unique_ptr<std::vector<Item>> top_;
};

/// Builds a cidr table from the text of `file_name` (used in warnings).
BuiltMap build_cidr_map(std::string_view text, const std::string& file_name);

}  // namespace estafeta::maps
