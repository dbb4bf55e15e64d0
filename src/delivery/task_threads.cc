// A pool of reusable threads for the Maildir worker. See task_threads.h.
#include "delivery/task_threads.h"

#include <utility>

namespace estafeta::delivery {

TaskThreads::TaskThreads(size_t max_threads) : max_threads_(max_threads == 0 ? 1 : max_threads) {}

TaskThreads::~TaskThreads() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  has_work_.notify_all();
  for (auto& thread : threads_) thread.join();
}

void TaskThreads::submit(std::function<void()> task) {
  std::lock_guard lock(mutex_);
  queue_.push_back(std::move(task));
  // An idle thread may already be promised to an earlier task still in line.
  if (idle_ >= queue_.size() || threads_.size() >= max_threads_) {
    has_work_.notify_one();
    return;
  }
  threads_.emplace_back([this] { serve(); });
}

size_t TaskThreads::thread_count() const {
  std::lock_guard lock(mutex_);
  return threads_.size();
}

void TaskThreads::serve() {
  std::unique_lock lock(mutex_);
  for (;;) {
    ++idle_;
    has_work_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    --idle_;
    if (queue_.empty()) return;  // stopping, and nothing left to run
    std::function<void()> task = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    task();
    lock.lock();
  }
}

}  // namespace estafeta::delivery
