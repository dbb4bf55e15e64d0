// Tests for DestinationWindow, Postfix's concurrency feedback: slow-start growth by one after
// `window` successes, the limit, the busy + initial bound, shrinking on failures, failed
// pseudo-cohorts declaring a destination dead, and revival.
#include "qmgr/destination_window.h"

#include <gtest/gtest.h>

#include <vector>

namespace estafeta::qmgr {
namespace {

// Successes with the pipe full (busy == window), as when the scheduler refills at once.
std::vector<int> windows_after_full_successes(DestinationWindow& w, int count) {
  std::vector<int> out;
  for (int i = 0; i < count; ++i) {
    w.success(w.window());
    out.push_back(w.window());
  }
  return out;
}

TEST(DestinationWindow, SlowStartGrowsByOneAfterWindowSuccesses) {
  DestinationWindow w(5, 20, 1);
  EXPECT_EQ(w.window(), 5);
  // 5 successes at window 5 make 6; 6 more make 7; 7 more make 8.
  std::vector<int> expected = {5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 8};
  EXPECT_EQ(windows_after_full_successes(w, 18), expected);
}

TEST(DestinationWindow, GrowthStopsAtTheLimit) {
  struct Case {
    int initial;
    int limit;
    int successes;
    int window;
  };
  const std::vector<Case> cases = {
      {5, 20, 1000, 20}, {5, 6, 100, 6}, {2, 2, 50, 2},
      {1, 3, 1, 2},      {1, 3, 3, 3},   {5, 0, 5 + 6 + 7 + 8, 9},  // 0 = no limit
  };
  for (const Case& c : cases) {
    DestinationWindow w(c.initial, c.limit, 1);
    windows_after_full_successes(w, c.successes);
    EXPECT_EQ(w.window(), c.window) << c.initial << "/" << c.limit << " x" << c.successes;
  }
}

TEST(DestinationWindow, NoGrowthBeyondBusyPlusInitial) {
  DestinationWindow w(5, 20, 1);
  // One delivery at a time (busy 1): growth needs window < busy + initial = 6, so it stops at
  // 6; with nothing else in flight (busy 0) it cannot grow at all.
  for (int i = 0; i < 100; ++i) {
    w.success(1);
  }
  EXPECT_EQ(w.window(), 6);
  for (int i = 0; i < 100; ++i) {
    w.success(0);
  }
  EXPECT_EQ(w.window(), 6);
}

TEST(DestinationWindow, FailuresShrinkAndThenKill) {
  DestinationWindow w(5, 20, 1);
  // Cohorts: 1/5 + 1/4 + 1/4 + 1/4 = 0.95, then + 1/3 >= 1: dead at the fifth failure.
  // The first failure shrinks at once; the next step down comes after `window` more.
  std::vector<int> windows;
  std::vector<bool> died;
  for (int i = 0; i < 5; ++i) {
    died.push_back(w.failure());
    windows.push_back(w.window());
  }
  EXPECT_EQ(windows, (std::vector<int>{4, 4, 4, 3, 0}));
  EXPECT_EQ(died, (std::vector<bool>{false, false, false, false, true}));
  EXPECT_TRUE(w.dead());
  EXPECT_FALSE(w.failure());  // already dead
}

TEST(DestinationWindow, WindowOneDiesAtTheFirstFailure) {
  struct Case {
    int cohort_limit;
    int failures_to_die;  // 0: never
  };
  const std::vector<Case> cases = {{1, 1}, {2, 2}, {3, 3}, {0, 0}};
  for (const Case& c : cases) {
    DestinationWindow w(1, 20, c.cohort_limit);
    int died_at = 0;
    for (int i = 1; i <= 10 && died_at == 0; ++i) {
      if (w.failure()) {
        died_at = i;
      }
    }
    EXPECT_EQ(died_at, c.failures_to_die) << "cohort limit " << c.cohort_limit;
    if (c.failures_to_die == 0) {
      EXPECT_EQ(w.window(), 1);  // never below 1 while alive
    }
  }
}

TEST(DestinationWindow, SuccessResetsFailedCohorts) {
  DestinationWindow w(5, 20, 1);
  for (int i = 0; i < 4; ++i) {
    ASSERT_FALSE(w.failure());
  }
  EXPECT_NEAR(w.failed_cohorts(), 0.95, 1e-9);
  w.success(3);
  EXPECT_EQ(w.failed_cohorts(), 0);
  EXPECT_EQ(w.window(), 3);
  // At window 3 a cohort is three failures.
  EXPECT_FALSE(w.failure());
  EXPECT_FALSE(w.failure());
  EXPECT_TRUE(w.failure());
}

TEST(DestinationWindow, SuccessOrReviveBringsTheDeadBack) {
  DestinationWindow w(1, 20, 1);
  ASSERT_TRUE(w.failure());
  w.success(3);  // three were in flight when it died, one succeeded
  EXPECT_FALSE(w.dead());
  EXPECT_EQ(w.window(), 3);

  DestinationWindow v(4, 20, 1);
  for (int i = 0; i < 10 && !v.dead(); ++i) {
    v.failure();
  }
  ASSERT_TRUE(v.dead());
  v.revive(0);
  EXPECT_EQ(v.window(), 4);
  EXPECT_EQ(v.failed_cohorts(), 0);
}

}  // namespace
}  // namespace estafeta::qmgr
