// The smtp agent's tables for a next hop, each asked through a PolicyLookup of one key: the
// TLS policy from smtp_tls_policy_maps (tls_policy_for) and the SMTP AUTH credentials for a
// server from smtp_sasl_password_maps (sasl_auth_for), under Postfix's search keys. A lookup
// that fails temporarily is an error. Pure (the lookups are the caller's).
#pragma once

#include <functional>
#include <optional>
#include <string>

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

}  // namespace estafeta::outbound
