// GroupSync tests: every caller is covered by a sync that began after its change; errors
// reach the callers they concern; independent keys do not block each other.
#include "queue/group_sync.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace estafeta::queue {
namespace {

TEST(GroupSync, EveryCallerIsCoveredByALaterSync) {
  GroupSync gs;
  std::atomic<int> changes{0};
  std::atomic<int> synced_up_to{0};
  std::atomic<int> uncovered{0};
  std::vector<std::thread> threads;
  constexpr int kThreads = 8, kRounds = 200;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kRounds; ++i) {
        int mine = ++changes;
        Status s = gs.sync("d", [&] {
          int seen = changes.load();  // every change made before the sync began
          std::this_thread::yield();
          int prev = synced_up_to.load();
          while (prev < seen && !synced_up_to.compare_exchange_weak(prev, seen)) {
          }
          return Status();
        });
        if (!s.ok() || synced_up_to.load() < mine) ++uncovered;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(uncovered.load(), 0);
}

// The point of group commit, deterministically: callers that arrive while a sync runs are
// all served by one next sync, not one each. Without batching this makes 1 + kFollowers
// syncs; with it exactly 2.
TEST(GroupSync, CallersQueuedBehindASyncShareTheNextOne) {
  GroupSync gs;
  constexpr int kFollowers = 6;
  std::atomic<bool> release{false};
  std::atomic<int> calls{0};
  std::thread leader([&] {
    ASSERT_TRUE(gs.sync("d", [&] {
                    ++calls;
                    while (!release.load()) std::this_thread::yield();
                    return Status();
                  }).ok());
  });
  while (calls.load() == 0) std::this_thread::yield();  // the leader's sync is running
  std::vector<std::thread> followers;
  for (int i = 0; i < kFollowers; ++i) {
    followers.emplace_back([&] {
      EXPECT_TRUE(gs.sync("d", [&] {
                      ++calls;
                      return Status();
                    }).ok());
    });
  }
  while (gs.callers("d") < 1 + kFollowers) std::this_thread::yield();  // all queued
  release = true;
  leader.join();
  for (auto& t : followers) t.join();
  EXPECT_EQ(calls.load(), 2);
  EXPECT_EQ(gs.syncs_done(), 2u);
}

TEST(GroupSync, ErrorIsReported) {
  GroupSync gs;
  Status s = gs.sync("d", [] { return Status(make_error("fsync: EIO")); });
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "fsync: EIO");
  EXPECT_TRUE(gs.sync("d", [] { return Status(); }).ok());
}

TEST(GroupSync, KeysAreIndependent) {
  GroupSync gs;
  int a = 0, b = 0;
  ASSERT_TRUE(gs.sync("a", [&] {
                  ++a;
                  return Status();
                }).ok());
  ASSERT_TRUE(gs.sync("b", [&] {
                  ++b;
                  return Status();
                }).ok());
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 1);
  EXPECT_EQ(gs.syncs_done(), 2u);
}

}  // namespace
}  // namespace estafeta::queue
