// FanOut: a batch of blocking calls spread over helper threads. See fan_out.h.
#include "delivery/fan_out.h"

#include <algorithm>

namespace estafeta::delivery {

FanOut::FanOut(int helpers) {
  for (int i = 0; i < helpers; ++i) threads_.emplace_back([this] { helper(); });
}

FanOut::~FanOut() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : threads_) t.join();
}

bool FanOut::run_next(std::unique_lock<std::mutex>& lock) {
  if (fn_ == nullptr || next_ >= count_) return false;
  const size_t index = next_++;
  const auto* fn = fn_;
  ++running_;
  lock.unlock();
  (*fn)(index);
  lock.lock();
  --running_;
  if (next_ >= count_ && running_ == 0) done_cv_.notify_one();
  return true;
}

void FanOut::helper() {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (stopping_) return;
    if (!run_next(lock)) work_cv_.wait(lock);
  }
}

void FanOut::run(size_t n, const std::function<void(size_t)>& fn) {
  if (threads_.empty() || n <= 1) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::unique_lock lock(mutex_);
  fn_ = &fn;
  next_ = 0;
  count_ = n;
  // One helper per extra call at most; the caller takes calls too.
  const size_t wake = std::min(n - 1, threads_.size());
  lock.unlock();
  for (size_t i = 0; i < wake; ++i) work_cv_.notify_one();
  lock.lock();
  while (run_next(lock)) {
  }
  done_cv_.wait(lock, [this] { return next_ >= count_ && running_ == 0; });
  fn_ = nullptr;
}

}  // namespace estafeta::delivery
