// Virtual alias expansion (virtual(5), Sendmail's virtusertable; Postfix cleanup_map1n): an
// address is looked up (address_lookup.h key order: full address, "user" for local domains,
// the "@domain" catch-all) and replaced by the result, which may name several addresses
// (commas or white space between them); each result is expanded again. An address whose
// expansion lists the address itself keeps it and it is not expanded again (no loop). An
// expansion that grows beyond virtual_alias_expansion_limit addresses, nests deeper than
// virtual_alias_recursion_limit, or yields an address longer than 1000 bytes (Postfix's
// virtual_alias_address_length_limit), or a table that cannot answer, defers the message
// ("451 4.6.0 Alias expansion error"). Duplicates (same text) are removed. Pure.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "maps/map.h"
#include "rewrite/tables.h"

namespace estafeta::rewrite {

struct AliasLimits {
  int recursion_limit = 1000;          ///< virtual_alias_recursion_limit
  int expansion_limit = 1000;          ///< virtual_alias_expansion_limit
  size_t address_length_limit = 1000;  ///< virtual_alias_address_length_limit (fixed here)
};

struct AliasExpansion {
  /// The final addresses, in expansion order, without duplicates. The input alone when it
  /// has no entry, and also when the expansion was deferred.
  std::vector<std::string> addresses;
  std::optional<Deferral> deferral;
};

/// Expands `address` through virtual_alias_maps. With `propagate` (propagate_unmatched_
/// extensions lists `virtual`) an unmatched extension is carried to every result.
AliasExpansion expand_virtual_alias(const TableList& tables, std::string_view address,
                                    const AliasLimits& limits, bool propagate,
                                    const Context& context);

/// Whether `address` has an entry, with the same key order: Found, NotFound or TempFail.
maps::LookupStatus virtual_alias_entry(const TableList& tables, std::string_view address,
                                       const Context& context);

}  // namespace estafeta::rewrite
