// mbox delivery: open, lock, append, sync, truncate back on failure. See mbox_delivery.h.
#include "delivery/mbox_delivery.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "delivery/mbox_format.h"
#include "delivery/task_privileges.h"
#include "message/write_failure.h"

namespace estafeta::delivery {
namespace {

TaskResult failure(std::string dsn, std::string text, int code) {
  return deferred(std::move(dsn), std::move(text), code);
}

TaskResult errno_failure(std::string_view what, const std::string& path) {
  const int code = errno;
  return failure("4.2.0", fmt::format("cannot {} {}: {}", what, path, std::strerror(code)), code);
}

void sleep_seconds(int seconds) {
  timespec ts{seconds, 0};
  while (::nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

std::string parent_directory(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == 0 ? std::string("/") : path.substr(0, slash);
}

// Creates "<path>.lock" (O_EXCL), retrying; removes a stale one. Empty result: locked.
std::optional<TaskResult> take_dotlock(const DeliveryTask& task, const std::string& lock) {
  int error = 0;
  for (int attempt = 0; attempt < task.lock_attempts; ++attempt) {
    int fd = ::open(lock.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) {
      ::close(fd);
      return std::nullopt;
    }
    error = errno;
    if (error != EEXIST) break;
    struct stat st {};
    if (::lstat(lock.c_str(), &st) == 0 &&
        ::time(nullptr) - st.st_mtime > task.stale_lock_seconds) {
      ::unlink(lock.c_str());  // stale: its holder died; retry at once
      continue;
    }
    if (attempt + 1 < task.lock_attempts) sleep_seconds(task.lock_delay_seconds);
  }
  return failure(
      "4.2.0", fmt::format("unable to create lock file {}: {}", lock, std::strerror(error)), error);
}

// fcntl and/or flock on the open mailbox, each retried. Empty result: locked.
std::optional<TaskResult> take_kernel_locks(const DeliveryTask& task, int fd,
                                            const std::string& path) {
  for (MboxLock kind : {MboxLock::Fcntl, MboxLock::Flock}) {
    if ((task.mbox_locks & static_cast<unsigned>(kind)) == 0) continue;
    int error = 0;
    for (int attempt = 0; attempt < task.lock_attempts; ++attempt) {
      int rc;
      if (kind == MboxLock::Fcntl) {
        struct flock fl {};
        fl.l_type = F_WRLCK;
        fl.l_whence = SEEK_SET;
        rc = ::fcntl(fd, F_SETLK, &fl);
      } else {
        rc = ::flock(fd, LOCK_EX | LOCK_NB);
      }
      if (rc == 0) {
        error = 0;
        break;
      }
      error = errno;
      if (error != EAGAIN && error != EACCES && error != EWOULDBLOCK && error != EINTR) break;
      if (attempt + 1 < task.lock_attempts) sleep_seconds(task.lock_delay_seconds);
    }
    if (error != 0) {
      return failure("4.2.0",
                     fmt::format("unable to lock {} for exclusive access ({}): {}", path,
                                 kind == MboxLock::Fcntl ? "fcntl" : "flock", std::strerror(error)),
                     error);
    }
  }
  return std::nullopt;
}

// Opens the mailbox for appending: never through a symlink, a regular file with one link.
// `created` says whether this call made it.
Result<int> open_mailbox(const std::string& path, bool& created) {
  created = false;
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0 && errno == ENOENT) {
    fd =
        ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    created = fd >= 0;
    if (fd < 0 && errno == EEXIST) {  // another delivery created it meanwhile
      fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    }
  }
  if (fd < 0) {
    const int code = errno;
    return make_error(fmt::format("cannot open file {}: {}", path,
                                  code == ELOOP ? "it is a symbolic link" : std::strerror(code)),
                      code);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
    ::close(fd);
    return make_error(
        fmt::format("cannot deliver to file {}: not a regular file with one link", path));
  }
  ::fcntl(fd, F_SETFL, O_WRONLY | O_APPEND);  // clear O_NONBLOCK (set against FIFOs)
  return fd;
}

Status write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int code = errno;
      return make_error(std::strerror(code), code);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

// Appends; on failure truncates back to `old_size` so no partial message stays.
std::optional<TaskResult> append_message(int fd, off_t old_size, const DeliveryTask& task,
                                         std::string_view message) {
  std::tm when{};
  const time_t arrival = static_cast<time_t>(task.arrival_sec);
  ::localtime_r(&arrival, &when);
  std::string out = mbox_from_line(task.sender, when);
  append_mbox_body(out, message);
  Status s = write_all(fd, out);
  if (s.ok() && ::fsync(fd) != 0) {
    const int code = errno;
    s = make_error(std::strerror(code), code);
  }
  if (s.ok()) return std::nullopt;
  const int code = s.error().code;
  if (::ftruncate(fd, old_size) == 0) ::fsync(fd);
  auto why = message::mailbox_write_failure(code);
  return failure(std::string(why.dsn),
                 fmt::format("cannot update mailbox {}: {}", task.path, s.error().message), code);
}

}  // namespace

TaskResult deliver_to_mbox(const DeliveryTask& task, std::string_view message,
                           bool spool_privileges) {
  const std::string lock = task.path + ".lock";
  const bool dotlock = (task.mbox_locks & static_cast<unsigned>(MboxLock::Dotlock)) != 0;
  uid_t spool_uid = task.as.uid;
  gid_t spool_gid = task.as.gid;
  if (spool_privileges) {
    const std::string dir = parent_directory(task.path);
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) return errno_failure("look up directory", dir);
    spool_uid = st.st_uid;
    spool_gid = st.st_gid;
    if (Status s = become_effective(task.as, spool_uid, spool_gid); !s.ok()) {
      return failure("4.3.0", s.error().message, s.error().code);
    }
  }
  // As `as` (or the spool owner): the dot-lock, then the file.
  if (dotlock) {
    if (auto held = take_dotlock(task, lock)) return *held;
  }
  auto release_dotlock = [&] {
    if (!dotlock) return;
    if (spool_privileges) (void)become_effective(task.as, spool_uid, spool_gid);
    ::unlink(lock.c_str());
  };
  bool created = false;
  auto fd = open_mailbox(task.path, created);
  if (!fd) {
    release_dotlock();
    return failure("4.2.0", fd.error().message, fd.error().code);
  }
  std::optional<TaskResult> problem;
  if (spool_privileges) {
    // A new file belongs to the recipient; an existing one must already.
    struct stat st {};
    Status root = become_root_effective();
    if (!root.ok()) {
      problem = failure("4.3.0", root.error().message, root.error().code);
    } else if (created && ::fchown(*fd, task.as.uid, task.as.gid) != 0) {
      problem = errno_failure("change the owner of", task.path);
    } else if (::fstat(*fd, &st) != 0 || st.st_uid != task.as.uid) {
      problem = failure("4.2.0",
                        fmt::format("mailbox {} is not owned by {} (uid {})", task.path,
                                    task.as.user, task.as.uid),
                        0);
    } else if (Status s = become_effective(task.as, task.as.uid, task.as.gid); !s.ok()) {
      problem = failure("4.3.0", s.error().message, s.error().code);
    }
  }
  if (!problem) problem = take_kernel_locks(task, *fd, task.path);
  if (!problem) {
    struct stat st {};
    if (::fstat(*fd, &st) != 0) {
      problem = errno_failure("stat", task.path);
    } else {
      problem = append_message(*fd, st.st_size, task, message);
    }
  }
  ::close(*fd);  // releases the fcntl and flock locks
  release_dotlock();
  if (problem) return *problem;
  return TaskResult{TaskStatus::Delivered, "2.0.0", "delivered to mailbox", {}, 0, {}};
}

}  // namespace estafeta::delivery
