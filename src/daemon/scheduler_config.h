// The queue manager's scheduler settings from main.cf, by Postfix's parameter names: the
// queue lifetimes and backoff times, the default destination limits and the per-transport
// ones Postfix declares (local_, relay_, smtp_ and virtual_destination_concurrency_limit and
// _destination_recipient_limit). Pure.
#pragma once

#include "config/config.h"
#include "qmgr/settings.h"

namespace estafeta::daemon {

qmgr::SchedulerSettings scheduler_settings(const config::Config& c);

}  // namespace estafeta::daemon
