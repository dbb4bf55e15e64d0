// Postfix's per-transport scheduler parameters for any master.cf transport: a name made of a
// transport (a master.cf service name) and one of the suffixes below, such as
// `slow_destination_concurrency_limit = 1` for a "slow" smtp transport of master.cf
// (postconf(5): transport_destination_concurrency_limit, transport_destination_recipient_limit,
// transport_initial_destination_concurrency, transport_destination_rate_delay). local_,
// relay_, smtp_ and virtual_ limits are ordinary parameters of parameters.def; these names
// are recognised by their shape, validated as their default_ counterpart, and read by the
// queue manager (daemon/scheduler_config.h), which warns about those naming no transport of
// master.cf. Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/parameters.h"

namespace estafeta::config {

/// What a per-transport parameter sets.
enum class TransportSetting {
  kDestinationConcurrencyLimit,    // <transport>_destination_concurrency_limit
  kDestinationRecipientLimit,      // <transport>_destination_recipient_limit
  kInitialDestinationConcurrency,  // <transport>_initial_destination_concurrency
  kDestinationRateDelay,           // <transport>_destination_rate_delay
};

struct TransportParameter {
  std::string transport;
  TransportSetting setting;
  /// The parameter whose values it takes (default_destination_concurrency_limit, ...).
  const ParamSpec* like = nullptr;
};

/// `name` read as <transport>_<suffix>, the transport a master.cf service name made of what a
/// main.cf name may hold (letters, digits, '_'; not "default"); nullopt for any other name. Only for
/// names that are not parameters of their own (find_parameter is null).
std::optional<TransportParameter> split_transport_parameter(std::string_view name);

}  // namespace estafeta::config
