// One address looked up in a parameter's tables in virtual(5) order (Postfix's
// mail_addr_find), shared by smtpd's recipient checks (policy/recipient_check.h), the
// cleanup stage's rewriting (rewrite/address_lookup.h: canonical, virtual alias, BCC maps)
// and the virtual delivery agent (delivery/virtual_plan.h). Keys, in order, until a table
// answers (search_keys.h virtual_search_keys):
//   user+ext@domain, user@domain, then when the domain is local: user+ext, user,
//   then @domain.
// Each key is tried against every table before the next key (the tables of a parameter are
// one logical table), and a pattern table (regexp:, pcre:, cidr:) is asked for the full
// address only, never for the keys derived from it, as in Postfix. The first Found or
// TempFail decides; a TempFail is never turned into "not found". Pure; tables are borrowed.
#pragma once

#include <concepts>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "maps/map.h"

namespace estafeta::maps {

/// One table of a parameter such as `virtual_alias_maps = hash:/a, regexp:/b`. A null `map`
/// (the spec could not be opened) answers every lookup with a temporary failure.
struct SearchTable {
  SearchTable() = default;
  /// Implicit: a list of table pointers is a list of fixed-key tables.
  SearchTable(const Map* table, bool full_key_only_ = false)  // NOLINT(google-explicit-constructor)
      : map(table), full_key_only(full_key_only_) {}
  const Map* map = nullptr;
  bool full_key_only = false;  ///< a pattern table: the full address only
};
using SearchTables = std::vector<SearchTable>;

/// True for the table types that match patterns rather than keys (regexp, pcre, cidr).
bool is_pattern_table(std::string_view spec);

/// The tables of "type:name" specs; `find` returns the opened table for a spec or nullptr.
SearchTables make_search_tables(const std::vector<std::string>& specs,
                                const std::function<const Map*(std::string_view spec)>& find);

/// `key` against every table in order, skipping pattern tables for a `partial` key (one
/// derived from the address): the first Found or TempFail, else NotFound.
LookupResult lookup_key(const SearchTables& tables, std::string_view key, bool partial);

/// How find_address() asks a parameter's tables for one key; `partial` as for lookup_key().
/// Made from a callable taking (key, partial), or from one taking only the key (tables
/// that answer every key the same way: no pattern tables); empty: no tables.
class KeyLookup {
 public:
  KeyLookup() = default;
  KeyLookup(std::nullptr_t) {}  // NOLINT(google-explicit-constructor)
  template <class F>
  requires std::invocable<const F&, std::string_view, bool> KeyLookup(F f)
      : lookup_(std::move(f)) {}  // NOLINT(google-explicit-constructor)
  template <class F>
  requires(std::invocable<const F&, std::string_view> &&
           !std::invocable<const F&, std::string_view, bool>)
      KeyLookup(F f)  // NOLINT(google-explicit-constructor)
      : lookup_([f = std::move(f)](std::string_view key, bool) { return f(key); }) {}

  explicit operator bool() const { return static_cast<bool>(lookup_); }
  LookupResult operator()(std::string_view key, bool partial) const {
    return lookup_(key, partial);
  }

 private:
  std::function<LookupResult(std::string_view key, bool partial)> lookup_;
};

struct AddressMatch {
  LookupStatus status = LookupStatus::NotFound;
  std::string value;      ///< Found: the table's value; TempFail: the reason
  std::string extension;  ///< Found by a key without the extension: "+ext"; else ""
};

/// Whether a domain is local for the "user" keys ($myorigin, $mydestination...): Found,
/// NotFound, or TempFail when a table behind it cannot answer. Asked only when the full
/// address and user@domain were not found; empty: no domain is local.
using DomainIsLocal = std::function<LookupStatus(std::string_view domain)>;

/// The first answer for `address` along the key order above; extensions split at any of
/// `recipient_delimiters` ("" for none). A TempFail of `domain_is_local` is a TempFail
/// ("local domain lookup failed").
AddressMatch find_address(const KeyLookup& lookup, std::string_view address,
                          std::string_view recipient_delimiters,
                          const DomainIsLocal& domain_is_local);

/// How a list of tables is searched: KeysFirst is Postfix's mail_addr_find (each key in every
/// table before the next key: the tables are one logical table). TablesFirst searches each
/// table with every key before the next table: what smtpd's recipient checks have done
/// (a table that cannot answer is not asked while an earlier one knows the address).
enum class TableOrder { KeysFirst, TablesFirst };

AddressMatch find_address(const SearchTables& tables, std::string_view address,
                          std::string_view recipient_delimiters,
                          const DomainIsLocal& domain_is_local,
                          TableOrder order = TableOrder::KeysFirst);

}  // namespace estafeta::maps
