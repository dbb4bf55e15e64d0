// Virtual alias expansion (see virtual_alias.h).
#include "rewrite/virtual_alias.h"

#include <fmt/format.h>

#include <set>

#include "base/ascii.h"
#include "rewrite/address_lookup.h"

namespace estafeta::rewrite {
namespace {

constexpr std::string_view kParameter = "virtual_alias_maps";

struct Pending {
  std::string address;
  int depth = 0;  // table lookups that led to it
};

AliasExpansion deferred(std::string_view address, std::string log) {
  return AliasExpansion{{std::string(address)}, alias_deferral(std::move(log))};
}

}  // namespace

AliasExpansion expand_virtual_alias(const TableList& tables, std::string_view address,
                                    const AliasLimits& limits, bool propagate,
                                    const Context& context) {
  if (tables.empty() || address.empty()) return AliasExpansion{{std::string(address)}, {}};
  // The list grows in place: a result replaces its alias, further results go to the end.
  std::vector<Pending> list{Pending{std::string(address), 0}};
  std::set<std::string> expanded_to_itself;  // lower case
  for (size_t i = 0; i < list.size(); ++i) {
    if (list.size() > static_cast<size_t>(limits.expansion_limit)) {
      return deferred(address, fmt::format("unreasonable {} map expansion size for {} -- "
                                           "message not accepted, try again later",
                                           kParameter, address));
    }
    while (!expanded_to_itself.contains(ascii::lower(list[i].address))) {
      if (list[i].depth >= limits.recursion_limit) {
        return deferred(address, fmt::format("unreasonable {} map nesting for {} -- message "
                                             "not accepted, try again later",
                                             kParameter, address));
      }
      MappedAddress m = map_address(tables, list[i].address, propagate, context);
      if (m.status == maps::LookupStatus::NotFound) break;
      if (m.status == maps::LookupStatus::TempFail) {
        return deferred(address, fmt::format("{} map lookup problem for {} -- message not "
                                             "accepted, try again later ({})",
                                             kParameter, address, m.reason));
      }
      const std::string alias = list[i].address;
      const int depth = list[i].depth + 1;
      for (size_t r = 0; r < m.addresses.size(); ++r) {
        std::string& result = m.addresses[r];
        if (result.size() > limits.address_length_limit) {
          return deferred(address, fmt::format("unreasonable {} result {:.300}... -- message not "
                                               "accepted, try again later",
                                               kParameter, result));
        }
        if (ascii::iequals(result, alias)) expanded_to_itself.insert(ascii::lower(alias));
        if (r == 0) {
          list[i] = Pending{std::move(result), depth};
        } else {
          list.push_back(Pending{std::move(result), depth});
        }
      }
    }
  }
  AliasExpansion out;
  std::set<std::string_view> seen;
  for (const Pending& p : list) {
    if (seen.insert(p.address).second) out.addresses.push_back(p.address);
  }
  return out;
}

maps::LookupStatus virtual_alias_entry(const TableList& tables, std::string_view address,
                                       const Context& context) {
  return find_address(tables, address, context).status;
}

}  // namespace estafeta::rewrite
