// Liveness locks (see liveness_lock.h). The crash-safety argument that rests on them is in
// docs/queue-format.md, section 4.
#include "queue/liveness_lock.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>
#include <utility>

namespace estafeta::queue {
namespace {

constexpr std::string_view kLockPrefix = "spool.";
// Lock files being made: .spool.<pid>.XXXXXX, locked by their maker, then linked into place.
constexpr std::string_view kTemporaryPrefix = ".spool.";
// How often take() looks again at a lock file of its pid that someone else has locked (a
// checker finding it stale removes it within microseconds; another LivenessLock of this
// process keeps it).
constexpr int kHeldRetries = 5;
// Bound on attempts spoiled by checkers that removed the temporary file being made.
constexpr int kAttempts = 100;
constexpr auto kHeldRetryPause = std::chrono::milliseconds(2);

bool same_file(int fd, const std::string& path) {
  struct stat opened, named;
  return ::fstat(fd, &opened) == 0 && ::stat(path.c_str(), &named) == 0 &&
         opened.st_ino == named.st_ino && opened.st_dev == named.st_dev;
}

// Locks `path` if nobody holds it and then removes it (when the name still is that file).
// True when it was removed or is gone; false when it is held or cannot be told.
bool remove_if_unlocked(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return errno == ENOENT;
  const bool unlocked = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
  // A process with this pid may have linked its own locked file into place since: only the
  // file examined is removed.
  if (unlocked && same_file(fd, path)) (void)::unlink(path.c_str());
  ::close(fd);
  return unlocked;
}

Error system_error(const std::string& what, const std::string& path) {
  const int code = errno;
  return make_error(fmt::format("{} {}: {}", what, path, std::strerror(code)), code);
}

}  // namespace

std::string liveness_lock_path(const std::string& queue_directory, int pid) {
  return fmt::format("{}/pid/{}{}", queue_directory, kLockPrefix, pid);
}

Result<LivenessLock> LivenessLock::take(const std::string& queue_directory) {
  const int pid = ::getpid();
  const std::string path = liveness_lock_path(queue_directory, pid);
  int held_seen = 0;
  for (int attempt = 0; attempt < kAttempts && held_seen <= kHeldRetries; ++attempt) {
    std::string temporary =
        fmt::format("{}/pid/{}{}.XXXXXX", queue_directory, kTemporaryPrefix, pid);
    const int fd = ::mkostemp(temporary.data(), O_CLOEXEC);
    if (fd < 0) return system_error("create", temporary);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {  // a checker found it unlocked a moment ago
      (void)::unlink(temporary.c_str());
      ::close(fd);
      continue;
    }
    if (::link(temporary.c_str(), path.c_str()) == 0) {
      (void)::unlink(temporary.c_str());
      return LivenessLock(path, fd);
    }
    const int link_error = errno;
    if (link_error == ENOENT) {  // a checker removed the temporary file: make another
      ::close(fd);
      continue;
    }
    if (link_error != EEXIST) {
      errno = link_error;
      Error error = system_error("link", path);
      (void)::unlink(temporary.c_str());
      ::close(fd);
      return error;
    }
    // The name exists: a dead process that had this pid left it, or it is held here.
    const int existing = ::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    const bool stale = existing >= 0 && ::flock(existing, LOCK_EX | LOCK_NB) == 0;
    if (stale && ::rename(temporary.c_str(), path.c_str()) == 0) {
      ::close(existing);
      return LivenessLock(path, fd);
    }
    if (existing >= 0) ::close(existing);
    (void)::unlink(temporary.c_str());
    ::close(fd);
    if (!stale) {
      ++held_seen;
      std::this_thread::sleep_for(kHeldRetryPause);
    }
  }
  return LivenessLock();  // held by another LivenessLock of this process
}

LivenessLock::LivenessLock(LivenessLock&& other) noexcept
    : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)) {}

LivenessLock& LivenessLock::operator=(LivenessLock&& other) noexcept {
  if (this != &other) {
    release();
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

LivenessLock::~LivenessLock() { release(); }

void LivenessLock::release() {
  if (fd_ < 0) return;
  (void)::unlink(path_.c_str());  // before the lock goes: nobody sees it unlocked and named
  ::close(fd_);
  fd_ = -1;
}

bool writer_alive(const std::string& queue_directory, int pid) {
  if (pid == ::getpid()) return true;
  return !remove_if_unlocked(liveness_lock_path(queue_directory, pid));
}

void remove_stale_liveness_locks(const std::string& queue_directory) {
  const std::string dir = queue_directory + "/pid";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with(kLockPrefix)) {
      const int pid = std::atoi(name.c_str() + kLockPrefix.size());
      if (pid > 0) (void)writer_alive(queue_directory, pid);
    } else if (name.starts_with(kTemporaryPrefix)) {
      (void)remove_if_unlocked(entry.path().string());
    }
  }
}

}  // namespace estafeta::queue
