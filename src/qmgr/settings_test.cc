// Tests for the scheduler's settings and time rules: override resolution (Postfix's defaults
// for smtp and local), the backoff delay and its clamping, the sequence of attempt times that
// doubles until maximal_backoff_time, and message lifetimes for normal and null senders.
#include "qmgr/settings.h"

#include <gtest/gtest.h>

#include <vector>

namespace estafeta::qmgr {
namespace {

using std::chrono::hours;

TEST(Settings, DefaultLimitsFollowPostfix) {
  SchedulerSettings s;
  TransportLimits smtp = s.limits_for("smtp");
  EXPECT_EQ(smtp.destination_concurrency_limit, 20);
  EXPECT_EQ(smtp.destination_recipient_limit, 50);
  EXPECT_EQ(smtp.initial_destination_concurrency, 5);
  EXPECT_EQ(smtp.failed_cohort_limit, 1);
  EXPECT_EQ(smtp.process_limit, 100);

  TransportLimits local = s.limits_for("local");
  EXPECT_EQ(local.destination_concurrency_limit, 2);
  EXPECT_EQ(local.destination_recipient_limit, 1);
  // Capped by the concurrency limit, as Postfix's qmgr_transport_create does.
  EXPECT_EQ(local.initial_destination_concurrency, 2);
  EXPECT_EQ(local.process_limit, 100);
}

TEST(Settings, OverridesApplyPerTransport) {
  SchedulerSettings s;
  s.default_process_limit = 7;
  s.transports["smtp"] = {.destination_concurrency_limit = 0, .process_limit = 3};
  TransportLimits smtp = s.limits_for("smtp");
  EXPECT_EQ(smtp.destination_concurrency_limit, 0);    // no limit
  EXPECT_EQ(smtp.initial_destination_concurrency, 5);  // not capped by "no limit"
  EXPECT_EQ(smtp.process_limit, 3);
  EXPECT_EQ(smtp.destination_recipient_limit, 50);
  EXPECT_EQ(s.limits_for("relay").process_limit, 7);
}

TEST(Backoff, DelayIsTheAgeClamped) {
  SchedulerSettings s;  // 300 s .. 4000 s
  struct Case {
    long age;
    long delay;
  };
  const std::vector<Case> cases = {
      {-50, 300},   {0, 300},     {1, 300},     {299, 300},   {300, 300},    {301, 301},
      {1000, 1000}, {3999, 3999}, {4000, 4000}, {4001, 4000}, {86400, 4000},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(backoff_delay(s, Seconds{c.age}), Seconds{c.delay}) << "age " << c.age;
  }
}

TEST(Backoff, MinimumWinsWhenTheBoundsCross) {
  SchedulerSettings s;
  s.minimal_backoff_time = Seconds{600};
  s.maximal_backoff_time = Seconds{100};
  EXPECT_EQ(backoff_delay(s, Seconds{0}), Seconds{600});
  EXPECT_EQ(backoff_delay(s, Seconds{5000}), Seconds{600});
}

TEST(Backoff, AttemptsDoubleTheGapUntilTheMaximum) {
  SchedulerSettings s;
  TimePoint arrival{hours(1000)};
  // Each attempt happens when the previous one said; the gaps are 300, 300, 600, 1200, 2400,
  // then capped at 4000.
  const std::vector<long> expected_offsets = {300, 600, 1200, 2400, 4800, 8800, 12800, 16800};
  TimePoint attempt = arrival;
  for (long offset : expected_offsets) {
    attempt = next_attempt_time(s, arrival, attempt);
    EXPECT_EQ(attempt - arrival, Seconds{offset});
  }
}

TEST(Backoff, CustomBounds) {
  SchedulerSettings s;
  s.minimal_backoff_time = Seconds{10};
  s.maximal_backoff_time = Seconds{60};
  TimePoint arrival{hours(1)};
  TimePoint attempt = arrival;
  std::vector<long> offsets;
  for (int i = 0; i < 6; ++i) {
    attempt = next_attempt_time(s, arrival, attempt);
    offsets.push_back(std::chrono::duration_cast<Seconds>(attempt - arrival).count());
  }
  EXPECT_EQ(offsets, (std::vector<long>{10, 20, 40, 80, 140, 200}));
}

TEST(Lifetime, NormalAndNullSender) {
  struct Case {
    bool null_sender;
    long max_lifetime_h;
    long bounce_lifetime_h;
    long age_s;
    bool over;
  };
  const long day = 24 * 3600;
  const std::vector<Case> cases = {
      {false, 120, 120, 5 * day - 1, false},
      {false, 120, 120, 5 * day, true},
      {false, 120, 24, 2 * day, false},  // bounce_queue_lifetime is not for normal mail
      {true, 120, 24, day - 1, false},
      {true, 120, 24, day, true},
      {true, 24, 120, day, true},  // bounce_queue_lifetime capped at maximal_queue_lifetime
      {true, 24, 120, day - 1, false},
      {false, 0, 0, 0, true},  // lifetime 0: try once
  };
  for (const Case& c : cases) {
    SchedulerSettings s;
    s.maximal_queue_lifetime = hours(c.max_lifetime_h);
    s.bounce_queue_lifetime = hours(c.bounce_lifetime_h);
    TimePoint arrival{hours(10000)};
    EXPECT_EQ(lifetime_over(s, arrival, c.null_sender, arrival + Seconds{c.age_s}), c.over)
        << "null " << c.null_sender << " max " << c.max_lifetime_h << "h bounce "
        << c.bounce_lifetime_h << "h age " << c.age_s;
  }
}

TEST(DelayWarning, OffByDefaultAndDueAtTheAge) {
  SchedulerSettings s;
  TimePoint arrival{hours(10000)};
  EXPECT_FALSE(delay_warning_due(s, arrival, arrival + hours(1000)));
  s.delay_warning_time = hours(4);
  EXPECT_FALSE(delay_warning_due(s, arrival, arrival + hours(4) - Seconds{1}));
  EXPECT_TRUE(delay_warning_due(s, arrival, arrival + hours(4)));
}

}  // namespace
}  // namespace estafeta::qmgr
