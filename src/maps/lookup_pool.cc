// LookupPool; see lookup_pool.h.
#include "maps/lookup_pool.h"

#include "base/assert.h"

namespace estafeta::maps {

LookupPool::LookupPool(size_t threads) {
  ESTAFETA_CHECK(threads >= 1);
  for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
}

LookupPool::~LookupPool() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void LookupPool::submit(std::shared_ptr<const MapSet> set, std::string spec, std::string key,
                        Done done) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back([set = std::move(set), spec = std::move(spec), key = std::move(key),
                      done = std::move(done)] { done(set->lookup(spec, key)); });
  }
  cv_.notify_one();
}

void LookupPool::post(std::function<void()> work) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(work));
  }
  cv_.notify_one();
}

void LookupPool::run() {
  while (true) {
    std::function<void()> work;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      work = std::move(queue_.front());
      queue_.pop_front();
    }
    work();
  }
}

}  // namespace estafeta::maps
