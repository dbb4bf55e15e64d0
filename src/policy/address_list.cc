// Domain and network lists with tables (see address_list.h).
#include "policy/address_list.h"

#include <algorithm>

#include "base/ascii.h"
#include "maps/map_spec.h"

namespace estafeta::policy {
namespace {

Match lookup_tables(const std::vector<const maps::Map*>& tables, std::string_view key) {
  for (const maps::Map* table : tables) {
    auto result = table->lookup(key);
    if (result.is_temp_fail()) return Match::TempFail;
    if (result.is_found()) return Match::Yes;
  }
  return Match::No;
}

bool any_remote(const std::vector<const maps::Map*>& tables) {
  return std::any_of(tables.begin(), tables.end(),
                     [](const maps::Map* t) { return t->is_remote(); });
}

}  // namespace

SplitList split_list_items(const std::vector<std::string>& items) {
  SplitList out;
  for (const auto& item : items) {
    auto colon = item.find(':');
    bool table = colon != std::string::npos && colon > 0 && item.front() != '[' &&
                 std::all_of(item.begin(), item.begin() + long(colon), ascii::is_alpha) &&
                 maps::parse_map_spec(item).ok();
    (table ? out.tables : out.literals).push_back(item);
  }
  return out;
}

DomainList::DomainList(std::vector<std::string> literals, std::vector<const maps::Map*> tables,
                       bool match_subdomains)
    : tables_(std::move(tables)), match_subdomains_(match_subdomains) {
  for (auto& literal : literals) literals_.push_back(ascii::lower(literal));
}

Match DomainList::contains(std::string_view domain) const {
  std::string folded = ascii::lower(domain);
  for (const auto& item : literals_) {
    if (item == folded) return Match::Yes;
    // ".example.com" matches the subdomains of example.com (Postfix, for the features not
    // in parent_domain_matches_subdomains).
    if (item.size() > 1 && item.front() == '.' && folded.size() > item.size() &&
        folded.compare(folded.size() - item.size(), item.size(), item) == 0) {
      return Match::Yes;
    }
    if (match_subdomains_ && folded.size() > item.size() &&
        folded.compare(folded.size() - item.size(), item.size(), item) == 0 &&
        folded[folded.size() - item.size() - 1] == '.') {
      return Match::Yes;
    }
  }
  return lookup_tables(tables_, folded);
}

bool DomainList::has_remote_tables() const { return any_remote(tables_); }

Match NetworkSet::contains(std::string_view address) const {
  if (literals_.contains(address)) return Match::Yes;
  return lookup_tables(tables_, address);
}

bool NetworkSet::has_remote_tables() const { return any_remote(tables_); }

}  // namespace estafeta::policy
