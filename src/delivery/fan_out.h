// FanOut: runs the n independent, blocking calls of a batch (fn(0) .. fn(n-1)) on a few
// helper threads plus the calling thread, and returns when all are done. The delivery
// agent's finishing thread uses it to fsync the new/ directories of many different
// Maildirs at once instead of one after the other. Thread-safe for one caller at a time.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace estafeta::delivery {

class FanOut {
 public:
  /// `helpers` threads (0: every call runs on the caller's thread). They inherit the
  /// creating thread's scheduling class.
  explicit FanOut(int helpers);
  ~FanOut();
  FanOut(const FanOut&) = delete;
  FanOut& operator=(const FanOut&) = delete;

  void run(size_t n, const std::function<void(size_t)>& fn);

 private:
  void helper();
  /// Takes the next index of the current batch and runs it; false when none is left.
  /// Called with lock held; unlocks around the call.
  bool run_next(std::unique_lock<std::mutex>& lock);

  std::mutex mutex_;
  std::condition_variable work_cv_;  // helpers: a batch has indices left, or stopping
  std::condition_variable done_cv_;  // caller: the last call of the batch returned
  const std::function<void(size_t)>* fn_ = nullptr;  // the batch; guarded by mutex_
  size_t next_ = 0;                                   // next index to take
  size_t count_ = 0;                                  // indices in the batch
  size_t running_ = 0;                                // calls in progress
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace estafeta::delivery
