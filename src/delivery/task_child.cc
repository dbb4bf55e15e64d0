// A delivery child's work. See task_child.h.
#include "delivery/task_child.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "delivery/command_delivery.h"
#include "delivery/maildir.h"
#include "delivery/mbox_delivery.h"
#include "delivery/task_privileges.h"
#include "message/write_failure.h"
#include "queue/group_sync.h"

namespace estafeta::delivery {
namespace {

constexpr size_t kMaxMessage = size_t(1) << 31;

Result<std::string> read_message(int fd) {
  std::string out;
  char buf[65536];
  off_t offset = 0;
  bool positional = true;
  for (;;) {
    ssize_t n = positional ? ::pread(fd, buf, sizeof buf, offset) : ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == ESPIPE && positional) {
      positional = false;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int code = errno;
      return make_error(fmt::format("read the message: {}", std::strerror(code)), code);
    }
    if (n == 0) return out;
    if (out.size() + static_cast<size_t>(n) > kMaxMessage) return make_error("message too large");
    out.append(buf, static_cast<size_t>(n));
    offset += n;
  }
}

TaskResult deliver_maildir(const DeliveryTask& task, std::string_view message,
                           queue::GroupSync& syncs) {
  std::string dir = task.path;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  auto outcome = link_into_maildir(dir, task.maildir_name, message);
  Status synced = outcome ? sync_maildir_new(dir, syncs) : Status(outcome.error());
  if (!synced.ok()) {
    const auto why = message::mailbox_write_failure(synced.error().code);
    return deferred(std::string(why.dsn),
                    fmt::format("maildir delivery failed: {}", synced.error().message),
                    synced.error().code);
  }
  const bool again = *outcome == MaildirOutcome::AlreadyDelivered;
  return TaskResult{again ? TaskStatus::AlreadyDelivered : TaskStatus::Delivered,
                    "2.0.0",
                    "delivered to maildir",
                    {},
                    0,
                    {}};
}

TaskResult maildir_failure(const Error& error) {
  const auto why = message::mailbox_write_failure(error.code);
  return deferred(std::string(why.dsn), fmt::format("maildir delivery failed: {}", error.message),
                  error.code);
}

// Runs publish(i) for each i in [first, end), the first in the calling thread and the
// others on `publishers` when given, and returns once all have run.
void publish_all(size_t first, size_t end, TaskThreads* publishers,
                 const std::function<void(size_t)>& publish) {
  if (publishers == nullptr || end - first < 2) {
    for (size_t i = first; i < end; ++i) publish(i);
    return;
  }
  std::mutex mutex;
  std::condition_variable all_done;
  size_t left = end - first - 1;
  for (size_t i = first + 1; i < end; ++i) {
    publishers->submit([&, i] {
      publish(i);
      std::lock_guard lock(mutex);
      if (--left == 0) all_done.notify_one();
    });
  }
  publish(first);
  std::unique_lock lock(mutex);
  all_done.wait(lock, [&] { return left == 0; });
}

// Every copy written (up to kMaildirCopiesWrittenAhead at a time; their writeback started
// when a round has several), then each synced and renamed into new/ (in parallel on
// `publishers`), then `published_all` told (when a copy is in new/), then each distinct new/
// synced once: a delivery is reported only once its new/ entry is durable.
TaskResult deliver_maildir_batch(const DeliveryTask& task, std::string_view message,
                                 queue::GroupSync& syncs, TaskThreads* publishers,
                                 const std::function<void()>& published_all) {
  TaskResult all{TaskStatus::Delivered, "2.0.0", "maildir batch", {}, 0, {}};
  const size_t n = task.copies.size();
  std::vector<std::string> dirs(n);
  all.parts.resize(n);
  std::vector<bool> published(n, false);
  for (size_t first = 0; first < n; first += kMaildirCopiesWrittenAhead) {
    const size_t end = std::min(n, first + kMaildirCopiesWrittenAhead);
    std::vector<std::optional<MaildirTmpFile>> written(end - first);
    for (size_t i = first; i < end; ++i) {
      const MaildirCopy& c = task.copies[i];
      std::string& dir = dirs[i];
      dir = c.path;
      while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
      if (c.offset > message.size() || c.length > message.size() - c.offset) {
        all.parts[i] = deferred("4.3.0", "copy outside the message");
        continue;
      }
      auto file = write_maildir_tmp(dir, c.maildir_name, message.substr(c.offset, c.length),
                                    /*start_writeback=*/end - first > 1);
      if (!file) {
        all.parts[i] = maildir_failure(file.error());
        continue;
      }
      written[i - first].emplace(std::move(*file));
    }
    // Each call touches only its own slots of `written`, `all.parts` and `published`
    // (std::vector<bool> packs bits: set after the join, below).
    std::vector<char> ok(end - first, 0);
    publish_all(first, end, publishers, [&](size_t i) {
      if (!written[i - first]) return;
      auto outcome = written[i - first]->publish();
      written[i - first].reset();
      if (!outcome) {
        all.parts[i] = maildir_failure(outcome.error());
        return;
      }
      const bool again = *outcome == MaildirOutcome::AlreadyDelivered;
      all.parts[i] = TaskResult{again ? TaskStatus::AlreadyDelivered : TaskStatus::Delivered,
                                "2.0.0",
                                "delivered to maildir",
                                {},
                                0,
                                {}};
      ok[i - first] = 1;
    });
    for (size_t i = first; i < end; ++i) published[i] = ok[i - first] != 0;
  }
  // Nothing in new/: the result follows at once (no sync), no need to say it early.
  if (published_all && std::find(published.begin(), published.end(), true) != published.end()) {
    published_all();
  }
  std::vector<std::string> synced;  // distinct new/ parents, in order of first use
  for (size_t i = 0; i < n; ++i) {
    if (published[i] && std::find(synced.begin(), synced.end(), dirs[i]) == synced.end()) {
      synced.push_back(dirs[i]);
    }
  }
  for (const std::string& dir : synced) {
    Status s = sync_maildir_new(dir, syncs);
    if (s.ok()) continue;
    const auto why = message::mailbox_write_failure(s.error().code);
    for (size_t i = 0; i < all.parts.size(); ++i) {
      if (dirs[i] != dir || all.parts[i].status == TaskStatus::Deferred) continue;
      // The retry finds the name taken and syncs again.
      all.parts[i] =
          deferred(std::string(why.dsn),
                   fmt::format("maildir delivery failed: {}", s.error().message), s.error().code);
    }
  }
  return all;
}

}  // namespace

TaskResult run_maildir_task(const DeliveryTask& task, int message_fd, queue::GroupSync& syncs,
                            TaskThreads* publishers, const std::function<void()>& published) {
  auto message = read_message(message_fd);
  if (!message) return deferred("4.3.0", message.error().message, message.error().code);
  if (task.kind == TaskKind::Maildir) return deliver_maildir(task, *message, syncs);
  if (task.kind == TaskKind::MaildirBatch) {
    return deliver_maildir_batch(task, *message, syncs, publishers, published);
  }
  return deferred("4.3.0", "not a Maildir task");
}

TaskResult read_file(const std::string& path, size_t read_limit) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    const int code = errno;
    std::string text = fmt::format("cannot open {}: {}", path, std::strerror(code));
    if (code == ENOENT || code == ENOTDIR) return bounced("5.3.0", std::move(text), code);
    return deferred("4.3.0", std::move(text), code);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return deferred("4.3.0", fmt::format("{} is not a regular file", path), EINVAL);
  }
  if (static_cast<uint64_t>(st.st_size) > read_limit) {
    ::close(fd);
    return deferred("4.3.0", fmt::format("{} is larger than {} bytes", path, read_limit), EFBIG);
  }
  TaskResult r{TaskStatus::Delivered, "2.0.0", "read", {}, 0, {}};
  r.file_owner = static_cast<uint32_t>(st.st_uid);
  r.file_mode = static_cast<uint32_t>(st.st_mode);
  r.content.resize(read_limit + 1);
  size_t got = 0;
  while (got < r.content.size()) {
    ssize_t n = ::read(fd, r.content.data() + got, r.content.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int code = errno;
      ::close(fd);
      return deferred("4.3.0", fmt::format("read {}: {}", path, std::strerror(code)), code);
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  if (got > read_limit) {  // grew while we read
    return deferred("4.3.0", fmt::format("{} is larger than {} bytes", path, read_limit), EFBIG);
  }
  r.content.resize(got);
  return r;
}

namespace {

// Whether the directory holding `path` is world-writable (or cannot be examined): then a
// mailbox in it is written with the recipient's rights only, never the directory owner's
// (validate_task has kept `path` directly in mail_spool_directory).
bool world_writable_parent(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  const std::string dir = slash == 0 ? std::string("/") : path.substr(0, slash);
  struct stat st {};
  return ::stat(dir.c_str(), &st) != 0 || (st.st_mode & S_IWOTH) != 0;
}

}  // namespace

TaskResult run_task_in_child(const DeliveryTask& task, int message_fd) {
  ::umask(077);
  ::signal(SIGXFSZ, SIG_IGN);  // a write over the file size limit fails with EFBIG instead
  if (task.file_size_limit != 0) {
    const rlimit limit{task.file_size_limit, task.file_size_limit};
    ::setrlimit(RLIMIT_FSIZE, &limit);
  }
  const bool spool_privileges = task.kind == TaskKind::Mbox && task.create_with_spool_privileges &&
                                running_as_root() && !world_writable_parent(task.path);
  if (!spool_privileges) {
    if (Status s = become(task.as); !s.ok()) {
      return deferred("4.3.0", s.error().message, s.error().code);
    }
  }
  if (task.kind == TaskKind::ReadFile) return read_file(task.path, task.read_limit);
  if (task.kind == TaskKind::Maildir || task.kind == TaskKind::MaildirBatch) {
    queue::GroupSync syncs;  // one task in this child: each new/ synced once
    return run_maildir_task(task, message_fd, syncs);
  }
  auto message = read_message(message_fd);
  if (!message) return deferred("4.3.0", message.error().message, message.error().code);
  switch (task.kind) {
    case TaskKind::Maildir:
    case TaskKind::MaildirBatch:
      break;
    case TaskKind::Mbox:
      // An alias to /dev/null (`root: /dev/null`) discards, as a file delivery would.
      if (task.path == "/dev/null") {
        return TaskResult{TaskStatus::Delivered, "2.0.0", "discarded", {}, 0, {}};
      }
      return deliver_to_mbox(task, *message, spool_privileges);
    case TaskKind::Command:
      return run_delivery_command(task, *message);
    case TaskKind::ReadFile:
    case TaskKind::OpenMaildirWorker:  // the spawner's own business
      break;
  }
  return deferred("4.3.0", "unknown task kind");
}

}  // namespace estafeta::delivery
