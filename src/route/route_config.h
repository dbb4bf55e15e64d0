// main.cf -> the resolver's settings and smtpd's recipient policy: which parameters name
// tables (so a process opens them in its MapSet before dropping privileges), and the structs
// built from the config with the tables borrowed from that set. Shared by smtpd, qmgr and
// `estafeta address`, so they all decide alike. Edge (reads the machine's interface
// addresses for inet_interfaces = all).
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "config/config.h"
#include "maps/map_set.h"
#include "policy/recipient_check.h"
#include "route/route_settings.h"

namespace estafeta::route {

/// The "type:name" tables of the resolver's domain lists.
std::vector<std::string> route_table_specs(const config::Config& config);
/// The recipient tables (local_recipient_maps, virtual_alias_maps, virtual_mailbox_maps,
/// relay_recipient_maps). One that cannot be opened should not stop a daemon: open them as
/// surrogates (maps::MapSet::open), so that what needs them is deferred.
std::vector<std::string> recipient_map_specs(const config::Config& config);
/// Everything the recipient policy looks up: the two above and mynetworks' tables.
std::vector<std::string> recipient_table_specs(const config::Config& config);

/// Tables are looked up in `tables`, which must outlive the result. A spec missing from the
/// set answers every lookup with a TempFail (the supervisor checks settings without tables).
Result<RouteSettings> make_route_settings(const config::Config& config, const maps::MapSet& tables);
Result<policy::RecipientPolicy> make_recipient_policy(const config::Config& config,
                                                      const maps::MapSet& tables);

}  // namespace estafeta::route
