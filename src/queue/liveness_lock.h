// Liveness locks (<queue>/pid/spool.<pid>): how a Spool tells the incoming/ files of a
// writer that is gone from those of one that is alive. A writer holds an flock on its file
// while its Spool is open; the kernel lets the lock go when the process dies, even before it
// is reaped, and a process that got a dead writer's pid since does not hold the dead one's
// lock. A lock file only ever appears under its name already locked (made under a temporary
// name, locked, then linked into place), so a checker never finds a live writer's file
// unlocked and never removes it.
#pragma once

#include <string>

#include "base/result.h"

namespace estafeta::queue {

class LivenessLock {
 public:
  /// Takes pid/spool.<getpid()> (pid/ must exist). A lock file of a dead process that had
  /// this pid is replaced. When another LivenessLock of this process holds it, the result
  /// holds nothing (held() is false): the process is alive anyway, and the other one keeps
  /// the name.
  static Result<LivenessLock> take(const std::string& queue_directory);

  LivenessLock() = default;
  LivenessLock(LivenessLock&& other) noexcept;
  LivenessLock& operator=(LivenessLock&& other) noexcept;
  LivenessLock(const LivenessLock&) = delete;
  LivenessLock& operator=(const LivenessLock&) = delete;
  /// Removes the file (when held) and lets the lock go.
  ~LivenessLock();

  bool held() const { return fd_ >= 0; }

 private:
  LivenessLock(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  void release();

  std::string path_;
  int fd_ = -1;
};

/// pid/spool.<pid> of `queue_directory`.
std::string liveness_lock_path(const std::string& queue_directory, int pid);

/// Whether the process `pid` still has a Spool open on this queue: true for this process,
/// and whenever it cannot tell (a lock file it cannot open or lock). Removes the lock file of
/// a process that is gone.
bool writer_alive(const std::string& queue_directory, int pid);

/// Removes the lock files of processes that are gone, and the temporary files of lock
/// takers that died before linking theirs into place.
void remove_stale_liveness_locks(const std::string& queue_directory);

}  // namespace estafeta::queue
