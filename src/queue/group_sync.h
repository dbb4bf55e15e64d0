// Group commit for directory (or file) syncs: many threads that each changed a directory
// need "an fsync that started after my change"; one fsync serves all of them. The first
// caller becomes the leader and syncs; callers that arrive during that sync wait and are
// served by the next one, which one of them leads. Keys name independent targets
// ("active", a Maildir's new/). Thread-safe; blocking (call it from worker threads only).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "base/result.h"

namespace estafeta::queue {

class GroupSync {
 public:
  /// Returns after some call of `do_sync` for `key` that began after this call began has
  /// finished; returns its Status (an error if the first such sync failed). `do_sync` may
  /// be any waiter's function: all of them must sync the same target.
  Status sync(const std::string& key, const std::function<Status()>& do_sync);

  /// How many do_sync calls were made in all (for tests: shows batching).
  uint64_t syncs_done() const;
  /// Callers inside sync() for `key` now, the leader included (for tests: lets a test wait
  /// until callers are queued behind a sync in progress).
  int callers(const std::string& key) const;

 private:
  struct Target {
    uint64_t started = 0;    // generation of the latest sync begun
    uint64_t completed = 0;  // generation of the latest sync finished
    uint64_t ok_up_to = 0;   // latest generation that succeeded
    Error last_error;
    bool in_progress = false;
    int users = 0;
  };
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::map<std::string, Target> targets_;
  uint64_t syncs_done_ = 0;
};

}  // namespace estafeta::queue
