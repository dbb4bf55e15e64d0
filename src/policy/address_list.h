// Postfix-style lists of domains or networks that may mix literal items and lookup tables,
// as mydestination, relay_domains and mynetworks allow ("localhost, hash:/etc/estafeta/
// domains", "127.0.0.0/8 cidr:/etc/estafeta/networks"). Matching is tri-state: a table that
// cannot answer is a temporary failure, never a "no". Pure: tables are borrowed maps::Map
// objects that must outlive the list (the MapSet kept beside it).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "maps/map.h"
#include "policy/network.h"

namespace estafeta::policy {

enum class Match { Yes, No, TempFail };

/// Splits list items into table specs ("type:name" with a known table type) and literals.
/// IPv6 networks ("2001:db8::/32", "[::1]/128") are literals, not table specs.
struct SplitList {
  std::vector<std::string> literals;
  std::vector<std::string> tables;
};
SplitList split_list_items(const std::vector<std::string>& items);

class DomainList {
 public:
  DomainList() = default;
  /// `literals` are compared case-insensitively; with `match_subdomains` an item also matches
  /// its subdomains (the features in parent_domain_matches_subdomains); without, only an item
  /// written with a leading dot (".example.com") matches subdomains.
  DomainList(std::vector<std::string> literals, std::vector<const maps::Map*> tables,
             bool match_subdomains);
  Match contains(std::string_view domain) const;
  const std::vector<std::string>& literals() const { return literals_; }
  bool has_remote_tables() const;

 private:
  std::vector<std::string> literals_;  // lower case
  std::vector<const maps::Map*> tables_;
  bool match_subdomains_ = false;
};

class NetworkSet {
 public:
  NetworkSet() = default;
  NetworkSet(NetworkList literals, std::vector<const maps::Map*> tables)
      : literals_(std::move(literals)), tables_(std::move(tables)) {}
  Match contains(std::string_view address) const;
  bool has_remote_tables() const;

 private:
  NetworkList literals_;
  std::vector<const maps::Map*> tables_;  // cidr: and friends, keyed by the client address
};

}  // namespace estafeta::policy
