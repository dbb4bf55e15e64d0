// One-to-one address mapping (canonical(5), Postfix cleanup_map11): the address is looked up
// (address_lookup.h key order) and replaced by the result, and the result is looked up
// again, until an address maps to itself, no entry matches, or after 10 rounds (then the
// last result stands and a warning says so, as Postfix). A multi-valued entry uses its first
// address, with a warning. A table that cannot answer defers the message. Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rewrite/tables.h"

namespace estafeta::rewrite {

inline constexpr int kCanonicalRecursionLimit = 10;

struct MappedOne {
  std::string address;                ///< the result (the input when nothing matched)
  std::vector<std::string> warnings;  ///< to log; the message is still accepted
  std::optional<Deferral> deferral;   ///< a table could not answer
};

/// Maps `address` through `tables` (named `parameter` in messages). With `propagate`, an
/// unmatched extension is carried over to the result (propagate_unmatched_extensions
/// lists `canonical`). The null address "" is never looked up.
MappedOne map_one_to_one(const TableList& tables, std::string_view parameter,
                         std::string_view address, bool propagate, const Context& context);

}  // namespace estafeta::rewrite
