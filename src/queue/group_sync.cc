// GroupSync: leader/follower group commit for fsync. See group_sync.h.
#include "queue/group_sync.h"

namespace estafeta::queue {

Status GroupSync::sync(const std::string& key, const std::function<Status()>& do_sync) {
  std::unique_lock lock(mutex_);
  Target& t = targets_[key];  // std::map: references stay valid while other keys change
  ++t.users;
  // We need a sync that starts after now: the next generation.
  const uint64_t needed = t.started + 1;
  bool led = false;
  while (t.completed < needed) {
    if (t.in_progress) {
      cv_.wait(lock);
      continue;
    }
    // Lead: a sync begun now serves us and everyone who arrived before it.
    t.in_progress = true;
    const uint64_t gen = ++t.started;
    lock.unlock();
    Status s = do_sync();
    lock.lock();
    ++syncs_done_;
    t.completed = gen;
    if (s.ok()) {
      t.ok_up_to = gen;
    } else {
      t.last_error = s.error();
    }
    t.in_progress = false;
    led = true;
  }
  // Generations complete in order, so "needed" succeeded iff a sync >= needed succeeded or,
  // failing that, the one that served us failed.
  Status result;
  if (t.ok_up_to < needed) result = t.last_error;
  if (--t.users == 0 && !t.in_progress) targets_.erase(key);
  lock.unlock();
  // Woken after the unlock, the waiters do not block again at once on the mutex.
  if (led) cv_.notify_all();
  return result;
}

int GroupSync::callers(const std::string& key) const {
  std::lock_guard lock(mutex_);
  auto it = targets_.find(key);
  return it == targets_.end() ? 0 : it->second.users;
}

uint64_t GroupSync::syncs_done() const {
  std::lock_guard lock(mutex_);
  return syncs_done_;
}

}  // namespace estafeta::queue
