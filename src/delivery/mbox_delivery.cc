// mbox delivery: open, lock, append, sync, truncate back on failure. See mbox_delivery.h.
#include "delivery/mbox_delivery.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <optional>

#include "delivery/mbox_format.h"
#include "delivery/mbox_journal.h"
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

// This boot's id ("" when unknown): a lock journal from another boot has a dead holder.
std::string boot_id() {
  std::string id;
  if (FILE* f = std::fopen("/proc/sys/kernel/random/boot_id", "re")) {
    char buf[64] = {};
    if (std::fgets(buf, sizeof buf, f)) id = buf;
    std::fclose(f);
  }
  while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
  return id;
}

// Whether the journal's holder still runs: this boot, a process with its pid, and not a
// zombie (killed, its parent gone, not yet reaped by init).
bool holder_alive(const MboxJournal& journal, const std::string& boot) {
  if (!boot.empty() && journal.boot_id != boot) return false;
  if (::kill(journal.pid, 0) != 0 && errno != EPERM) return false;
  std::string stat;
  if (FILE* f = std::fopen(fmt::format("/proc/{}/stat", journal.pid).c_str(), "re")) {
    char buf[512];
    const size_t n = std::fread(buf, 1, sizeof buf, f);
    stat.assign(buf, n);
    std::fclose(f);
  }
  // "pid (comm) S ...": the state follows the last ')'.
  const size_t paren = stat.rfind(')');
  if (paren != std::string::npos && paren + 2 < stat.size()) {
    const char state = stat[paren + 2];
    if (state == 'Z' || state == 'X' || state == 'x') return false;
  }
  return true;
}

// A write lock on the whole of `fd`'s file, held by its open file description (F_OFD_SETLK):
// unlike a classic fcntl lock it is not released when this process closes another
// descriptor of the same file (the mailbox is opened again to read it), and it conflicts
// with other programs' fcntl locks all the same. Kernels before 3.15: a classic one.
bool take_write_lock(int fd) {
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  if (::fcntl(fd, F_OFD_SETLK, &fl) == 0) return true;
  if (errno != EINVAL) return false;
  return ::fcntl(fd, F_SETLK, &fl) == 0;
}

// Writes `journal` over the lock's content: the new line first, then the file cut to its
// length, so a delivery killed in between leaves a journal (the new line, whole, perhaps
// followed by the old line's tail, which the parser ignores) rather than an empty lock, which
// would look like another program's and block the mailbox until stale_lock_time.
Status write_journal(int fd, const MboxJournal& journal) {
  const std::string line = encode_mbox_journal(journal);
  if (::pwrite(fd, line.data(), line.size(), 0) != static_cast<ssize_t>(line.size()) ||
      ::ftruncate(fd, static_cast<off_t>(line.size())) != 0) {
    const int code = errno;
    return make_error(std::strerror(code), code);
  }
  return {};
}

// Creates the dot-lock `lock` in `dir` holding `journal` from its first moment: an unnamed
// file (O_TMPFILE) written, then linked to the name, which fails with EEXIST when the lock
// exists. A delivery killed while taking the lock thus never leaves an empty one. Where that
// fails for any other reason (no O_TMPFILE on the file system, no /proc, a security policy),
// created with O_EXCL and written after. Either way the file carries this delivery's write
// lock (take_write_lock) for as long as it holds it: another delivery never takes over the
// lock of a live holder, however old. -1 with errno on failure.
int create_dotlock(const std::string& lock, const std::string& dir, const MboxJournal& journal) {
  const std::string line = encode_mbox_journal(journal);
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) {
    const std::string self = fmt::format("/proc/self/fd/{}", fd);
    const bool written = take_write_lock(fd) && ::pwrite(fd, line.data(), line.size(), 0) ==
                                                    static_cast<ssize_t>(line.size());
    if (written &&
        ::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, lock.c_str(), AT_SYMLINK_FOLLOW) == 0) {
      return fd;
    }
    const int code = written ? errno : EIO;
    ::close(fd);
    if (code == EEXIST) {
      errno = code;
      return -1;
    }
  }
  fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd >= 0) {
    (void)take_write_lock(fd);
    (void)write_journal(fd, journal);
  }
  return fd;
}

// Syncs the mailbox's directory, open as `dir_fd` (opened early: as the spool owner when
// the delivery has its privileges, since a user may not be allowed to read the spool
// directory). -1 (a directory that cannot be opened for reading, e.g. mode 1733): skipped.
Status sync_directory(int dir_fd, const std::string& dir) {
  if (dir_fd >= 0 && ::fsync(dir_fd) != 0) {
    const int code = errno;
    return make_error(fmt::format("cannot sync directory {}: {}", dir, std::strerror(code)), code);
  }
  return {};
}

// The dot-lock this delivery holds: its descriptor (the journal is written through it) and,
// when it was taken over from a dead holder, that holder's journal (delivery/mbox_journal.h).
struct HeldDotlock {
  int fd = -1;
  std::optional<MboxJournal> inherited;
};

// The lock file exists: takes it over when its holder is dead (a journal of another boot or
// of no live process) or it is older than stale_lock_seconds, and nobody holds its write lock
// (every Estafeta holder and taker keeps one: a live one is never displaced, however old its
// lock). Only the file still at that name. False: busy, or gone meanwhile; try again.
bool take_over_dotlock(const DeliveryTask& task, const std::string& lock, const std::string& boot,
                       HeldDotlock& held) {
  const int fd = ::open(lock.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    // Not ours to open (another program's, another owner's): removed once stale, as before.
    struct stat st {};
    if (errno != ENOENT && ::lstat(lock.c_str(), &st) == 0 &&
        ::time(nullptr) - st.st_mtime > task.stale_lock_seconds) {
      ::unlink(lock.c_str());
    }
    return false;
  }
  struct stat by_fd {
  }, by_name{};
  if (!take_write_lock(fd) || ::fstat(fd, &by_fd) != 0 || ::lstat(lock.c_str(), &by_name) != 0 ||
      by_fd.st_ino != by_name.st_ino || by_fd.st_dev != by_name.st_dev || !S_ISREG(by_fd.st_mode)) {
    ::close(fd);
    return false;
  }
  char buf[256];
  const ssize_t n = ::pread(fd, buf, sizeof buf, 0);
  std::optional<MboxJournal> journal =
      n > 0 ? parse_mbox_journal(std::string_view(buf, static_cast<size_t>(n))) : std::nullopt;
  const bool stale = ::time(nullptr) - by_fd.st_mtime > task.stale_lock_seconds;
  if (!stale && (!journal || holder_alive(*journal, boot))) {
    ::close(fd);
    return false;
  }
  // A dead holder's journal stays in the file until this delivery has undone that holder's
  // append (the write lock keeps other takers out meanwhile; deliver_to_mbox then writes its
  // own); a foreign lock's content becomes this delivery's journal at once.
  const bool taken = journal
                         ? ::futimens(fd, nullptr) == 0
                         : write_journal(fd, MboxJournal{boot, ::getpid(), std::nullopt, 0}).ok();
  if (!taken) {
    ::close(fd);
    return false;
  }
  held.fd = fd;
  held.inherited = std::move(journal);
  return true;
}

// Creates "<path>.lock" with a journal naming this process (create_dotlock), retrying;
// takes over a dead holder's. Empty result: locked.
std::optional<TaskResult> take_dotlock(const DeliveryTask& task, const std::string& lock,
                                       const std::string& dir, const std::string& boot,
                                       HeldDotlock& held) {
  int error = 0;
  for (int attempt = 0; attempt < task.lock_attempts; ++attempt) {
    const int fd = create_dotlock(lock, dir, MboxJournal{boot, ::getpid(), std::nullopt, 0});
    if (fd >= 0) {
      held.fd = fd;
      return std::nullopt;
    }
    error = errno;
    if (error != EEXIST) break;
    if (take_over_dotlock(task, lock, boot, held)) return std::nullopt;
    if (attempt + 1 < task.lock_attempts) sleep_seconds(task.lock_delay_seconds);
  }
  return failure(
      "4.2.0", fmt::format("unable to create lock file {}: {}", lock, std::strerror(error)), error);
}

// The mailbox at `path` opened again for reading (the delivery's own descriptor is
// write-only, for appending), when it is still the file open as `fd`; else -1.
int open_for_reading(const std::string& path, int fd) {
  const int in = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  struct stat a {
  }, b{};
  if (in >= 0 && (::fstat(in, &a) != 0 || ::fstat(fd, &b) != 0 || a.st_ino != b.st_ino ||
                  a.st_dev != b.st_dev)) {
    ::close(in);
    return -1;
  }
  return in;
}

// Whether the mailbox at `path` (the file open as `fd`) has "From " at `offset`.
bool starts_message_at(const std::string& path, int fd, uint64_t offset) {
  const int in = open_for_reading(path, fd);
  char head[5];
  const bool found = in >= 0 && ::pread(in, head, sizeof head, static_cast<off_t>(offset)) == 5 &&
                     std::string_view(head, 5) == "From ";
  if (in >= 0) ::close(in);
  return found;
}

// Whether the mailbox at `path` (the file open as `fd`, `size` bytes) already holds `entry`
// as a message of its own (at its start or after a newline).
bool mailbox_holds(const std::string& path, int fd, size_t size, std::string_view entry) {
  if (entry.empty() || size < entry.size()) return false;
  const int in = open_for_reading(path, fd);
  if (in < 0) return false;
  bool found = false;
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, in, 0);
  if (map != MAP_FAILED) {
    const std::string_view text(static_cast<const char*>(map), size);
    for (size_t at = text.find(entry); at != std::string_view::npos && !found;
         at = text.find(entry, at + 1)) {
      found = at == 0 || text[at - 1] == '\n';
    }
    ::munmap(map, size);
  }
  ::close(in);
  return found;
}

// Taking over a dead holder's lock: cuts the mailbox back to where that holder began
// appending when its journal says so (mbox_cut_back_size). Empty result: done.
std::optional<TaskResult> recover_interrupted_append(const MboxJournal& journal,
                                                     const std::string& boot, int fd,
                                                     const std::string& path, struct stat& st) {
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  const bool starts =
      journal.offset && size > *journal.offset && starts_message_at(path, fd, *journal.offset);
  const auto cut =
      mbox_cut_back_size(journal, size, starts, !boot.empty() && journal.boot_id == boot);
  if (!cut) return std::nullopt;
  if (::ftruncate(fd, static_cast<off_t>(*cut)) != 0 || ::fsync(fd) != 0) {
    return errno_failure("cut back the interrupted delivery in", path);
  }
  st.st_size = static_cast<off_t>(*cut);
  return std::nullopt;
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
        rc = take_write_lock(fd) ? 0 : -1;
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

// The bytes appended: the From_ line and the quoted message.
std::string mbox_entry(const DeliveryTask& task, std::string_view message) {
  std::tm when{};
  const time_t arrival = static_cast<time_t>(task.arrival_sec);
  ::localtime_r(&arrival, &when);
  std::string out = mbox_from_line(task.sender, when);
  append_mbox_body(out, message);
  return out;
}

// Appends; on failure truncates back to `old_size` so no partial message stays.
std::optional<TaskResult> append_message(int fd, off_t old_size, const DeliveryTask& task,
                                         std::string_view out) {
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
  const std::string dir = parent_directory(task.path);
  if (spool_privileges) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) return errno_failure("look up directory", dir);
    spool_uid = st.st_uid;
    spool_gid = st.st_gid;
    if (Status s = become_effective(task.as, spool_uid, spool_gid); !s.ok()) {
      return failure("4.3.0", s.error().message, s.error().code);
    }
  }
  // As `as` (or the spool owner): the directory (to sync it), the dot-lock, then the file.
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct DirCloser {
    int fd;
    ~DirCloser() {
      if (fd >= 0) ::close(fd);
    }
  } dir_closer{dir_fd};
  const std::string boot = boot_id();
  HeldDotlock held;
  if (dotlock) {
    if (auto busy = take_dotlock(task, lock, dir, boot, held)) return *busy;
  }
  bool inherited_pending = held.inherited.has_value();  // a dead holder's append not yet undone
  auto release_dotlock = [&] {
    if (!dotlock) return;
    if (spool_privileges) (void)become_effective(task.as, spool_uid, spool_gid);
    if (!inherited_pending) {  // else the dead holder's journal, still in it, stays
      ::unlink(lock.c_str());
    }
    ::close(held.fd);
  };
  bool created = false;
  auto fd = open_mailbox(task.path, created);
  if (!fd) {
    release_dotlock();
    return failure("4.2.0", fd.error().message, fd.error().code);
  }
  std::optional<TaskResult> problem;
  if (spool_privileges) {
    // A new file belongs to the recipient; an existing one must already, unless it is what a
    // delivery killed between creating and handing it over leaves: empty, mode 0600, the
    // spool directory owner's.
    struct stat st {};
    Status root = become_root_effective();
    const bool hand_over =
        created || (::fstat(*fd, &st) == 0 && st.st_size == 0 && st.st_uid == spool_uid &&
                    st.st_uid != task.as.uid && (st.st_mode & 07777) == 0600);
    if (!root.ok()) {
      problem = failure("4.3.0", root.error().message, root.error().code);
    } else if (hand_over && ::fchown(*fd, task.as.uid, task.as.gid) != 0) {
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
  struct stat st {};
  if (!problem && ::fstat(*fd, &st) != 0) problem = errno_failure("stat", task.path);
  if (!problem && held.inherited) {
    problem = recover_interrupted_append(*held.inherited, boot, *fd, task.path, st);
    inherited_pending = problem.has_value();
    // Undone: the journal names this delivery now, so that a taker after a crash from here
    // on does not apply the dead holder's again.
    if (!inherited_pending) {
      (void)write_journal(held.fd, MboxJournal{boot, ::getpid(), std::nullopt, 0});
    }
  }
  const std::string entry = problem ? std::string() : mbox_entry(task, message);
  bool already = false;
  if (!problem && task.check_already_delivered) {
    already = mailbox_holds(task.path, *fd, static_cast<size_t>(st.st_size), entry);
  }
  if (already) {
    ::close(*fd);
    release_dotlock();
    return TaskResult{TaskStatus::AlreadyDelivered, "2.0.0", "delivered to mailbox", {}, 0, {}};
  }
  if (!problem && dotlock) {
    // The journal (where this append begins, how long it is) is on disk before the append.
    const MboxJournal mine{boot, ::getpid(), static_cast<uint64_t>(st.st_size), entry.size()};
    Status s = write_journal(held.fd, mine);
    if (s.ok() && ::fdatasync(held.fd) != 0) s = make_error(std::strerror(errno), errno);
    if (s.ok()) s = sync_directory(dir_fd, dir);
    if (!s.ok()) {
      problem = failure("4.2.0", "cannot write lock file " + lock + ": " + s.error().message,
                        s.error().code);
    }
  }
  if (!problem) problem = append_message(*fd, st.st_size, task, entry);
  if (!problem && created && !dotlock) {
    // A new mailbox's name is durable too (with a dot-lock, the journal's sync did it).
    if (Status s = sync_directory(dir_fd, dir); !s.ok()) {
      problem = failure("4.2.0", s.error().message, s.error().code);
    }
  }
  ::close(*fd);  // releases the fcntl and flock locks
  release_dotlock();
  if (problem) return *problem;
  return TaskResult{TaskStatus::Delivered, "2.0.0", "delivered to mailbox", {}, 0, {}};
}

}  // namespace estafeta::delivery
