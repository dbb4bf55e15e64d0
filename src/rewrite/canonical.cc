// canonical(5) one-to-one mapping (see canonical.h).
#include "rewrite/canonical.h"

#include <fmt/format.h>

#include "base/ascii.h"
#include "rewrite/address_lookup.h"

namespace estafeta::rewrite {

MappedOne map_one_to_one(const TableList& tables, std::string_view parameter,
                         std::string_view address, bool propagate, const Context& context) {
  MappedOne out{std::string(address), {}, std::nullopt};
  if (address.empty() || tables.empty()) return out;
  for (int round = 0; round < kCanonicalRecursionLimit; ++round) {
    MappedAddress m = map_address(tables, out.address, propagate, context);
    if (m.status == maps::LookupStatus::NotFound) return out;
    if (m.status == maps::LookupStatus::TempFail) {
      out.deferral = table_deferral(parameter, out.address);
      out.deferral->log += fmt::format(" ({})", m.reason);
      return out;
    }
    if (m.addresses.size() > 1) {
      out.warnings.push_back(fmt::format("multi-valued {} entry for {}", parameter, out.address));
    }
    const bool to_itself = ascii::iequals(m.addresses.front(), out.address);
    out.address = std::move(m.addresses.front());
    if (to_itself) return out;
  }
  out.warnings.push_back(fmt::format("unreasonable {} map nesting for {}", parameter, address));
  return out;
}

}  // namespace estafeta::rewrite
