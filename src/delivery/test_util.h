// Test helpers shared by the delivery tests of thread pools (task_threads_test.cc,
// receiving_threads_test.cc): tasks that block until released and count how many ran at
// once. Tests only; not part of any library.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <mutex>

namespace estafeta::delivery::testing {

class BlockingTasks {
 public:
  /// A task that counts itself running, blocks until release(), then counts itself done.
  std::function<void()> task() {
    return [this] {
      std::unique_lock lock(mutex_);
      ++running_;
      most_ = std::max(most_, running_);
      changed_.notify_all();
      changed_.wait(lock, [this] { return released_; });
      --running_;
      ++finished_;
    };
  }

  /// Returns once at least `n` tasks run at once (the caller checks most() for more).
  void wait_until_running(int n) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return running_ >= n; });
  }

  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    changed_.notify_all();
  }

  /// The most tasks that ran at once, and the tasks finished (read after the pool is done).
  int most() {
    std::lock_guard lock(mutex_);
    return most_;
  }
  int finished() {
    std::lock_guard lock(mutex_);
    return finished_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int running_ = 0, most_ = 0, finished_ = 0;
  bool released_ = false;
};

}  // namespace estafeta::delivery::testing
