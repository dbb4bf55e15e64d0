// LookupPool: runs table lookups off the event loop, so a slow or hung remote table (pgsql,
// redis) never stalls other sessions. The smtpd coroutine submits a lookup and resumes when
// `done` runs; `done` runs on a pool thread, so the caller posts it back to its own loop
// (asio::post) before touching session state. Each remote table bounds its own wait with its
// `timeout`, so every submitted lookup completes. Destruction finishes queued work first.
// Edge (threads). Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "maps/map.h"
#include "maps/map_set.h"

namespace estafeta::maps {

class LookupPool {
 public:
  using Done = std::function<void(LookupResult)>;

  /// Precondition: threads >= 1.
  explicit LookupPool(size_t threads);
  ~LookupPool();
  LookupPool(const LookupPool&) = delete;
  LookupPool& operator=(const LookupPool&) = delete;

  /// Looks `key` up in `spec` of `set` on a pool thread, then calls done(result) there.
  /// The shared_ptr keeps the MapSet alive across a reload.
  void submit(std::shared_ptr<const MapSet> set, std::string spec, std::string key, Done done);

  /// Runs `work` on a pool thread: for a decision that makes several lookups, some of them
  /// in remote tables (the whole decision then stays off the caller's event loop).
  void post(std::function<void()> work);

 private:
  void run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;  // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace estafeta::maps
