// Scheduler settings from main.cf. See scheduler_config.h.
#include "daemon/scheduler_config.h"

#include <array>
#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/transport_parameters.h"

namespace estafeta::daemon {
namespace {

std::chrono::seconds seconds_of(const config::Config& c, std::string_view name) {
  return std::chrono::seconds(c.get_seconds(name));
}

// The transports whose destination limits are parameters of their own (postconf(5): their
// defaults are $default_destination_concurrency_limit and
// $default_destination_recipient_limit, except local's 2 and 1).
constexpr std::array<std::string_view, 4> kTransportsWithLimits = {"local", "relay", "smtp",
                                                                   "virtual"};

// The per-transport parameters set in main.cf that are not parameters of their own (those
// of kTransportsWithLimits are), with their names.
std::vector<std::pair<std::string, config::TransportParameter>> set_transport_parameters(
    const config::Config& c) {
  std::vector<std::pair<std::string, config::TransportParameter>> out;
  for (const std::string& name : c.set_names()) {
    if (c.is_known(name)) continue;
    if (auto p = config::split_transport_parameter(name)) out.emplace_back(name, std::move(*p));
  }
  return out;
}

}  // namespace

qmgr::SchedulerSettings scheduler_settings(const config::Config& c) {
  qmgr::SchedulerSettings s;
  s.qmgr_message_active_limit = static_cast<int>(c.get_int("qmgr_message_active_limit"));
  s.minimal_backoff_time = seconds_of(c, "minimal_backoff_time");
  s.maximal_backoff_time = seconds_of(c, "maximal_backoff_time");
  s.queue_run_delay = seconds_of(c, "queue_run_delay");
  s.maximal_queue_lifetime = seconds_of(c, "maximal_queue_lifetime");
  s.bounce_queue_lifetime = seconds_of(c, "bounce_queue_lifetime");
  s.delay_warning_time = seconds_of(c, "delay_warning_time");
  s.default_destination_concurrency_limit =
      static_cast<int>(c.get_int("default_destination_concurrency_limit"));
  s.default_destination_recipient_limit =
      static_cast<int>(c.get_int("default_destination_recipient_limit"));
  s.initial_destination_concurrency =
      static_cast<int>(c.get_int("initial_destination_concurrency"));
  s.default_process_limit = static_cast<int>(c.get_int("default_process_limit"));
  s.default_destination_rate_delay = seconds_of(c, "default_destination_rate_delay");
  for (const auto& name : c.get_list("defer_transports")) s.defer_transports.insert(name);
  for (std::string_view transport : kTransportsWithLimits) {
    const std::string prefix(transport);
    qmgr::TransportOverrides& limits = s.transports[prefix];
    limits.destination_concurrency_limit =
        static_cast<int>(c.get_int(prefix + "_destination_concurrency_limit"));
    limits.destination_recipient_limit =
        static_cast<int>(c.get_int(prefix + "_destination_recipient_limit"));
  }
  // Any other transport's, as set (validated by Config like their default_ counterparts).
  for (const auto& [name, p] : set_transport_parameters(c)) {
    qmgr::TransportOverrides& limits = s.transports[p.transport];
    switch (p.setting) {
      case config::TransportSetting::kDestinationConcurrencyLimit:
        limits.destination_concurrency_limit = static_cast<int>(c.get_int(name));
        break;
      case config::TransportSetting::kDestinationRecipientLimit:
        limits.destination_recipient_limit = static_cast<int>(c.get_int(name));
        break;
      case config::TransportSetting::kInitialDestinationConcurrency:
        limits.initial_destination_concurrency = static_cast<int>(c.get_int(name));
        break;
      case config::TransportSetting::kDestinationRateDelay:
        limits.rate_delay = seconds_of(c, name);
        break;
    }
  }
  return s;
}

std::vector<std::string> transport_parameters_without_transport(
    const config::Config& c, const std::set<std::string, std::less<>>& transports) {
  std::vector<std::string> out;
  for (const auto& [name, p] : set_transport_parameters(c)) {
    if (transports.count(p.transport) == 0) out.push_back(name);
  }
  return out;
}

}  // namespace estafeta::daemon
