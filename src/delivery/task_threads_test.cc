// TaskThreads: every task runs, threads are reused, the limit holds, the destructor drains.
#include "delivery/task_threads.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "delivery/test_util.h"

namespace estafeta::delivery {
namespace {

TEST(TaskThreads, RunsEveryTaskBeforeTheDestructorReturns) {
  std::atomic<int> ran{0};
  {
    TaskThreads threads(4);
    for (int i = 0; i < 1000; ++i) threads.submit([&] { ++ran; });
  }
  EXPECT_EQ(ran.load(), 1000);
}

TEST(TaskThreads, ReusesAnIdleThreadInsteadOfStartingOne) {
  TaskThreads threads(8);
  for (int i = 0; i < 50; ++i) {
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    threads.submit([&] {
      std::lock_guard lock(m);
      done = true;
      cv.notify_all();
    });
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return done; });
    // Let the thread go back to waiting before the next task arrives.
    lock.unlock();
    while (threads.thread_count() == 0) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_LE(threads.thread_count(), 2u);
}

TEST(TaskThreads, RunsBlockedTasksConcurrentlyUpToTheLimitAndQueuesTheRest) {
  testing::BlockingTasks tasks;
  {
    TaskThreads threads(3);
    for (int i = 0; i < 7; ++i) threads.submit(tasks.task());
    tasks.wait_until_running(3);  // three at once, no more threads
    EXPECT_EQ(threads.thread_count(), 3u);
    tasks.release();
  }
  EXPECT_EQ(tasks.most(), 3);
  EXPECT_EQ(tasks.finished(), 7);
}

}  // namespace
}  // namespace estafeta::delivery
