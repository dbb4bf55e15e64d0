// The smtp agent's tables for a next hop, each asked through a PolicyLookup of one key: the
// TLS policy from smtp_tls_policy_maps (tls_policy_for), the SMTP AUTH credentials for a
// server from smtp_sasl_password_maps (sasl_auth_for), under Postfix's search keys, and
// whether smtp_connection_cache_destinations lists the next hop (cache_destination_listed).
// A lookup that fails temporarily is an error. Pure (the lookups are the caller's).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "maps/map.h"
#include "outbound/sasl_settings.h"
#include "outbound/tls_plan.h"
#include "outbound/tls_settings.h"
#include "smtp/client_session.h"

namespace estafeta::outbound {

/// A lookup of one key in smtp_tls_policy_maps or smtp_sasl_password_maps (NotFound when
/// there is no table).
using PolicyLookup = std::function<maps::LookupResult(const std::string& key)>;

/// The TLS policy of a next hop: the first smtp_tls_policy_maps entry found under its keys.
/// `table_entry` tells whether the table had one (MTA-STS then stays out).
Result<TlsPolicy> tls_policy_for(const ClientTlsSettings& settings, const PolicyLookup& lookup,
                                 const std::string& nexthop, bool& table_entry);

/// smtp_sasl_password_maps: the credentials for a server of a next hop, nullopt for none.
Result<std::optional<smtp::ClientAuth>> sasl_auth_for(const SaslSettings& settings,
                                                      const PolicyLookup& lookup,
                                                      const std::string& nexthop,
                                                      const std::string& server_host);

/// smtp_connection_cache_destinations, its "/file/name" items already expanded (Config): the
/// `type:table` items (a known table type before the colon: `hash:/etc/...`, `inline:{...}`)
/// and the names (`example.org`, `[relay.example]:587`, `relay.example:587`).
struct CacheDestinations {
  std::vector<std::string> names;
  std::vector<std::string> tables;
};
CacheDestinations split_cache_destinations(const std::vector<std::string>& items);

/// Whether the next hop is listed, as Postfix's string list: equal to a name (case
/// ignored), or a key of a table (looked up in lower case through `tables`; any value
/// counts). A table that cannot answer is an error (the caller keeps no connection then).
Result<bool> cache_destination_listed(const std::vector<std::string>& names,
                                      const PolicyLookup& tables, const std::string& nexthop);

}  // namespace estafeta::outbound
