// The smtp agent's TLS policy and SASL password lookups; see next_hop_tables.h.
#include "outbound/next_hop_tables.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/ascii.h"
#include "maps/map_spec.h"

namespace estafeta::outbound {

Result<TlsPolicy> tls_policy_for(const ClientTlsSettings& settings, const PolicyLookup& lookup,
                                 const std::string& nexthop, bool& table_entry) {
  if (lookup) {
    for (const std::string& key : tls_policy_lookup_keys(nexthop)) {
      maps::LookupResult r = lookup(key);
      if (r.is_temp_fail()) {
        return make_error(fmt::format("smtp_tls_policy_maps lookup of {}: {}", key, r.value));
      }
      table_entry = r.is_found();
      if (r.is_found()) return tls_policy_from_table(settings, std::string_view(r.value));
    }
  }
  return tls_policy_from_table(settings, std::nullopt);
}

Result<std::optional<smtp::ClientAuth>> sasl_auth_for(const SaslSettings& settings,
                                                      const PolicyLookup& lookup,
                                                      const std::string& nexthop,
                                                      const std::string& server_host) {
  if (!settings.enable || !lookup) return std::optional<smtp::ClientAuth>();
  for (const std::string& key : sasl_password_keys(nexthop, server_host)) {
    maps::LookupResult r = lookup(key);
    if (r.is_temp_fail()) {
      return make_error(fmt::format("smtp_sasl_password_maps lookup of {}: {}", key, r.value));
    }
    if (!r.is_found()) continue;
    SaslCredentials c = parse_sasl_credentials(r.value);
    return std::optional<smtp::ClientAuth>(
        smtp::ClientAuth{std::move(c.username), std::move(c.password), settings.mechanisms,
                         settings.plaintext_in_clear, settings.plaintext_with_tls});
  }
  return std::optional<smtp::ClientAuth>();
}

CacheDestinations split_cache_destinations(const std::vector<std::string>& items) {
  CacheDestinations out;
  for (const std::string& item : items) {
    const size_t colon = item.find(':');
    // "[relay]:587" and "relay.example:587" are names; "hash:/x" and "inline:{...}" tables.
    const bool table = colon != std::string::npos && colon > 0 && item.front() != '[' &&
                       std::all_of(item.begin(), item.begin() + long(colon), ascii::is_alpha) &&
                       maps::parse_map_spec(item).ok();
    (table ? out.tables : out.names).push_back(item);
  }
  return out;
}

Result<bool> cache_destination_listed(const std::vector<std::string>& names,
                                      const PolicyLookup& tables, const std::string& nexthop) {
  for (const std::string& name : names) {
    if (ascii::iequals(name, nexthop)) return true;
  }
  if (!tables) return false;
  const std::string key = ascii::lower(nexthop);
  maps::LookupResult r = tables(key);
  if (r.is_temp_fail()) {
    return make_error(fmt::format("smtp_connection_cache_destinations lookup of {}: {}", key,
                                  r.value));
  }
  return r.is_found();
}

}  // namespace estafeta::outbound
