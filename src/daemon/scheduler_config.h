// The queue manager's scheduler settings from main.cf, by Postfix's parameter names: the
// queue lifetimes and backoff times, the default destination limits and the per-transport
// ones, those Postfix declares (local_, relay_, smtp_ and virtual_destination_concurrency_limit
// and _destination_recipient_limit) and those of any other master.cf transport
// (config/transport_parameters.h: <transport>_destination_concurrency_limit,
// _destination_recipient_limit, _initial_destination_concurrency, _destination_rate_delay).
// Pure.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "config/config.h"
#include "qmgr/settings.h"

namespace estafeta::daemon {

qmgr::SchedulerSettings scheduler_settings(const config::Config& c);

/// The per-transport parameters set in main.cf whose transport is none of `transports` (the
/// queue manager's agents): nothing reads them, so the queue manager warns about each.
std::vector<std::string> transport_parameters_without_transport(
    const config::Config& c, const std::set<std::string, std::less<>>& transports);

}  // namespace estafeta::daemon
