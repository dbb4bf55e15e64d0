// Scheduler settings: the queue manager's main.cf and master.cf values as plain data, with
// Postfix's defaults, and the pure time rules derived from them (retry backoff, message
// lifetime, delay warning). This module reads no configuration file: the qmgr edge fills the
// struct from config::Config and master.cf. Pure; no errors; values are taken as given (the
// config layer checks bounds).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace estafeta::qmgr {

using TimePoint = std::chrono::system_clock::time_point;
using Seconds = std::chrono::seconds;

/// Per-transport overrides, in the image of Postfix's <transport>_destination_concurrency_limit,
/// <transport>_destination_recipient_limit, <transport>_initial_destination_concurrency,
/// <transport>_destination_concurrency_failed_cohort_limit, <transport>_destination_rate_delay
/// and the transport's master.cf maxproc. An unset field takes the default from
/// SchedulerSettings. (main.cf sets the first two for local, relay, smtp and virtual:
/// daemon/scheduler_config.h.)
struct TransportOverrides {
  std::optional<int> destination_concurrency_limit = std::nullopt;
  std::optional<int> destination_recipient_limit = std::nullopt;
  std::optional<int> initial_destination_concurrency = std::nullopt;
  std::optional<int> failed_cohort_limit = std::nullopt;
  std::optional<int> process_limit = std::nullopt;
  std::optional<Seconds> rate_delay = std::nullopt;
};

/// The effective limits of one transport. For the limits, 0 means "no limit", as in Postfix.
struct TransportLimits {
  int destination_concurrency_limit = 0;
  /// 1 changes what a destination is: the recipient address instead of the next hop, so the
  /// concurrency limit then bounds parallel deliveries to one recipient (postconf(5)).
  int destination_recipient_limit = 0;
  /// Already capped by destination_concurrency_limit (Postfix qmgr_transport_create), >= 1.
  int initial_destination_concurrency = 1;
  /// Failed pseudo-cohorts before a destination is declared dead; 0 = never.
  int failed_cohort_limit = 0;
  /// Deliveries in flight at once for the whole transport (master.cf maxproc); 0 = no limit.
  int process_limit = 0;
  /// <transport>_destination_rate_delay: the pause between the end of one delivery to a
  /// destination and the start of the next; non-zero means one delivery at a time per
  /// destination (Postfix 2.5's rule). 0 = none.
  Seconds rate_delay{0};
};

struct SchedulerSettings {
  int qmgr_message_active_limit = 20000;
  Seconds minimal_backoff_time{300};
  Seconds maximal_backoff_time{4000};
  Seconds queue_run_delay{300};
  Seconds maximal_queue_lifetime{5 * 24 * 3600};
  /// For messages with the null sender (bounces); capped at maximal_queue_lifetime as Postfix's
  /// qmgr does.
  Seconds bounce_queue_lifetime{5 * 24 * 3600};
  /// 0 = no delay warnings (Postfix's default).
  Seconds delay_warning_time{0};
  int default_destination_concurrency_limit = 20;
  int default_destination_recipient_limit = 50;
  int initial_destination_concurrency = 5;
  int default_destination_concurrency_failed_cohort_limit = 1;
  int default_process_limit = 100;
  Seconds default_destination_rate_delay{0};
  /// defer_transports: recipients of these transports are deferred without an attempt
  /// ("deferred transport") unless their message comes in through a flush (MessageIn::flushed).
  std::set<std::string, std::less<>> defer_transports;
  /// By transport name. Postfix's built-in defaults for "local" are preset.
  std::map<std::string, TransportOverrides, std::less<>> transports = {
      {"local", {.destination_concurrency_limit = 2, .destination_recipient_limit = 1}}};

  /// The defaults with `transport`'s overrides applied.
  TransportLimits limits_for(std::string_view transport) const;
};

/// The delay before the next attempt for a message of this age (now - arrival): the age clamped
/// to [minimal_backoff_time, maximal_backoff_time], Postfix's rule (qmgr_active.c). Attempting
/// again after `age` doubles the age, so the gaps grow exponentially until the maximum, and no
/// attempt counter has to survive a restart. If minimal > maximal, minimal wins (as in Postfix).
Seconds backoff_delay(const SchedulerSettings& settings, Seconds age);

/// When a message that arrived at `arrival` and was deferred at `attempt` is next due.
TimePoint next_attempt_time(const SchedulerSettings& settings, TimePoint arrival,
                            TimePoint attempt);

/// maximal_queue_lifetime, or for a null-sender message min(bounce_queue_lifetime, maximal).
Seconds queue_lifetime(const SchedulerSettings& settings, bool null_sender);

/// True when a recipient deferred at `now` must be bounced instead: the message has been in the
/// queue for its lifetime or longer. (Postfix compares with '>' at one-second resolution; '>='
/// here, so that a lifetime of 0 means "try once" even on a clock that does not move.)
bool lifetime_over(const SchedulerSettings& settings, TimePoint arrival, bool null_sender,
                   TimePoint now);

/// True when a message still deferred at `now` is old enough for a delay warning
/// (delay_warning_time > 0 and now - arrival >= delay_warning_time).
bool delay_warning_due(const SchedulerSettings& settings, TimePoint arrival, TimePoint now);

}  // namespace estafeta::qmgr
