// FanOut tests: every index runs exactly once, the calls of a batch run at the same time
// on the helpers and the caller, batches can follow each other, and without helpers
// everything runs on the caller's thread.
#include "delivery/fan_out.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace estafeta::delivery {
namespace {

TEST(FanOut, RunsEveryIndexExactlyOnce) {
  FanOut fan(3);
  for (size_t n : {0, 1, 2, 7, 100}) {
    std::vector<std::atomic<int>> runs(n);
    fan.run(n, [&](size_t i) { runs[i]++; });
    for (size_t i = 0; i < n; ++i) EXPECT_EQ(runs[i].load(), 1) << "n=" << n << " i=" << i;
  }
}

// Three calls that each wait until all three have started: only possible if they run at
// once (two helpers and the caller). Sequential calls would each give up after the guard.
TEST(FanOut, CallsOfABatchRunConcurrently) {
  FanOut fan(2);
  std::mutex m;
  std::condition_variable cv;
  int started = 0;
  std::atomic<int> saw_all{0};
  fan.run(3, [&](size_t) {
    std::unique_lock lock(m);
    ++started;
    cv.notify_all();
    if (cv.wait_for(lock, std::chrono::seconds(30), [&] { return started == 3; })) saw_all++;
  });
  EXPECT_EQ(saw_all.load(), 3);
}

TEST(FanOut, WithoutHelpersRunsOnTheCallersThread) {
  FanOut fan(0);
  std::set<std::thread::id> threads;
  fan.run(5, [&](size_t) { threads.insert(std::this_thread::get_id()); });
  EXPECT_EQ(threads, std::set<std::thread::id>{std::this_thread::get_id()});
}

}  // namespace
}  // namespace estafeta::delivery
