// Threads taking turns at one socket. See receiving_threads.h.
#include "delivery/receiving_threads.h"

#include <system_error>
#include <utility>

namespace estafeta::delivery {

ReceivingThreads::ReceivingThreads(size_t max_threads, Receive receive)
    : max_threads_(max_threads == 0 ? 1 : max_threads), receive_(std::move(receive)) {
  threads_.reserve(max_threads_ - 1);  // starting a thread never reallocates (nor throws so)
}

void ReceivingThreads::run() {
  {
    std::lock_guard lock(mutex_);
    ++receiving_;
  }
  serve();
  // serve() returned: this thread saw the end and no thread is started any more.
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    threads.swap(threads_);
  }
  for (std::thread& t : threads) t.join();
}

size_t ReceivingThreads::thread_count() const {
  std::lock_guard lock(mutex_);
  return started_ + 1;
}

size_t ReceivingThreads::receiving() const {
  std::lock_guard lock(mutex_);
  return receiving_;
}

void ReceivingThreads::serve() {
  // receiving_ counts this thread already (its starter counted it).
  for (;;) {
    std::optional<std::function<void()>> work = receive_();
    {
      std::lock_guard lock(mutex_);
      --receiving_;
      if (!work) {
        ended_ = true;
        return;
      }
      // Someone must be receiving while this thread works: start one if nobody is.
      if (receiving_ == 0 && !ended_ && started_ + 1 < max_threads_) {
        ++receiving_;
        try {
          threads_.emplace_back([this] { serve(); });
          ++started_;
        } catch (const std::system_error&) {
          --receiving_;  // no thread to be had now: the next task waits until one is free
        }
      }
    }
    (*work)();
    std::lock_guard lock(mutex_);
    ++receiving_;
  }
}

}  // namespace estafeta::delivery
