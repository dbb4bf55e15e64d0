// Scheduler settings: override resolution and the backoff / lifetime / warning time rules.
#include "qmgr/settings.h"

#include <algorithm>

namespace estafeta::qmgr {

TransportLimits SchedulerSettings::limits_for(std::string_view transport) const {
  TransportLimits limits;
  limits.destination_concurrency_limit = default_destination_concurrency_limit;
  limits.destination_recipient_limit = default_destination_recipient_limit;
  limits.initial_destination_concurrency = initial_destination_concurrency;
  limits.failed_cohort_limit = default_destination_concurrency_failed_cohort_limit;
  limits.process_limit = default_process_limit;
  limits.rate_delay = default_destination_rate_delay;
  if (auto it = transports.find(transport); it != transports.end()) {
    const TransportOverrides& o = it->second;
    limits.destination_concurrency_limit =
        o.destination_concurrency_limit.value_or(limits.destination_concurrency_limit);
    limits.destination_recipient_limit =
        o.destination_recipient_limit.value_or(limits.destination_recipient_limit);
    limits.initial_destination_concurrency =
        o.initial_destination_concurrency.value_or(limits.initial_destination_concurrency);
    limits.failed_cohort_limit = o.failed_cohort_limit.value_or(limits.failed_cohort_limit);
    limits.process_limit = o.process_limit.value_or(limits.process_limit);
    limits.rate_delay = o.rate_delay.value_or(limits.rate_delay);
  }
  // Postfix qmgr_transport_create: the initial window never exceeds the limit.
  if (limits.destination_concurrency_limit > 0 &&
      limits.initial_destination_concurrency > limits.destination_concurrency_limit) {
    limits.initial_destination_concurrency = limits.destination_concurrency_limit;
  }
  limits.initial_destination_concurrency = std::max(limits.initial_destination_concurrency, 1);
  return limits;
}

Seconds backoff_delay(const SchedulerSettings& settings, Seconds age) {
  // Same order as Postfix: the maximum first, then the minimum (which wins if they cross).
  Seconds delay = std::min(age, settings.maximal_backoff_time);
  return std::max(delay, settings.minimal_backoff_time);
}

TimePoint next_attempt_time(const SchedulerSettings& settings, TimePoint arrival,
                            TimePoint attempt) {
  auto age = std::chrono::duration_cast<Seconds>(attempt - arrival);
  return attempt + backoff_delay(settings, age);
}

Seconds queue_lifetime(const SchedulerSettings& settings, bool null_sender) {
  if (null_sender) {
    return std::min(settings.bounce_queue_lifetime, settings.maximal_queue_lifetime);
  }
  return settings.maximal_queue_lifetime;
}

bool lifetime_over(const SchedulerSettings& settings, TimePoint arrival, bool null_sender,
                   TimePoint now) {
  return now - arrival >= queue_lifetime(settings, null_sender);
}

bool delay_warning_due(const SchedulerSettings& settings, TimePoint arrival, TimePoint now) {
  return settings.delay_warning_time > Seconds{0} && now - arrival >= settings.delay_warning_time;
}

}  // namespace estafeta::qmgr
