// virtual(5)-order address lookups. See address_search.h.
#include "maps/address_search.h"

#include <optional>

#include "base/ascii.h"
#include "maps/search_keys.h"

namespace estafeta::maps {

bool is_pattern_table(std::string_view spec) {
  for (std::string_view type : {"regexp:", "pcre:", "cidr:"}) {
    if (ascii::istarts_with(spec, type)) return true;
  }
  return false;
}

SearchTables make_search_tables(const std::vector<std::string>& specs,
                                const std::function<const Map*(std::string_view spec)>& find) {
  SearchTables tables;
  tables.reserve(specs.size());
  for (const std::string& spec : specs) {
    tables.emplace_back(find ? find(spec) : nullptr, is_pattern_table(spec));
  }
  return tables;
}

LookupResult lookup_key(const SearchTables& tables, std::string_view key, bool partial) {
  for (const SearchTable& table : tables) {
    if (partial && table.full_key_only) continue;
    if (table.map == nullptr) return LookupResult::temp_fail("table is not open");
    LookupResult r = table.map->lookup(key);
    if (r.status != LookupStatus::NotFound) return r;
  }
  return LookupResult::not_found();
}

AddressMatch find_address(const KeyLookup& lookup, std::string_view address,
                          std::string_view recipient_delimiters,
                          const DomainIsLocal& domain_is_local) {
  if (!lookup) return {};
  std::optional<LookupStatus> local;  // asked once, when the first "user" key comes
  for (VirtualKey& k : virtual_search_keys(address, recipient_delimiters)) {
    if (k.local_only) {
      if (!local) {
        local = domain_is_local ? domain_is_local(split_address(address).domain)
                                : LookupStatus::NotFound;
      }
      if (*local == LookupStatus::TempFail) {
        return AddressMatch{LookupStatus::TempFail, "local domain lookup failed", {}};
      }
      if (*local != LookupStatus::Found) continue;
    }
    LookupResult r = lookup(k.key, k.partial);
    if (r.status == LookupStatus::NotFound) continue;
    AddressMatch m{r.status, std::move(r.value), {}};
    if (m.status == LookupStatus::Found) m.extension = std::move(k.extension);
    return m;
  }
  return {};
}

AddressMatch find_address(const SearchTables& tables, std::string_view address,
                          std::string_view recipient_delimiters,
                          const DomainIsLocal& domain_is_local, TableOrder order) {
  if (order == TableOrder::TablesFirst) {
    for (const SearchTable& table : tables) {
      AddressMatch m =
          find_address(SearchTables{table}, address, recipient_delimiters, domain_is_local);
      if (m.status != LookupStatus::NotFound) return m;
    }
    return {};
  }
  return find_address(KeyLookup([&tables](std::string_view key, bool partial) {
                        return lookup_key(tables, key, partial);
                      }),
                      address, recipient_delimiters, domain_is_local);
}

}  // namespace estafeta::maps
