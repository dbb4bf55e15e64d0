// The file-system queue store. See queue_store.h and docs/queue-format.md.
#include "queue/queue_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>

#include "queue/spool.h"

namespace estafeta::queue {
namespace {

constexpr std::array<QueueName, 4> kQueues = {QueueName::kActive, QueueName::kDeferred,
                                              QueueName::kHold, QueueName::kCorrupt};
// The first read of a queue file: enough for the envelope of almost every message.
constexpr size_t kFirstEnvelopeRead = 4096;
// No envelope is larger (smtpd_recipient_limit recipients of at most 512 bytes each, with
// their DSN parameters, fit easily); a file claiming more is damaged.
constexpr size_t kMaxEnvelopeRead = 64 << 20;
constexpr size_t kMaxStatusLog = 16 << 20;

// Closes a descriptor of `fs` at the end of a scope.
class ScopedFd {
 public:
  ScopedFd(Filesystem& fs, int fd) : fs_(fs), fd_(fd) {}
  ~ScopedFd() {
    if (fd_ >= 0) fs_.close(fd_);
  }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  int get() const { return fd_; }

 private:
  Filesystem& fs_;
  int fd_;
};

// A read that found no usable file, for `reason`.
template <class T>
StoreRead<T> failed(ReadFailure kind, std::string reason) {
  StoreRead<T> r;
  r.failure = kind;
  r.reason = std::move(reason);
  return r;
}

}  // namespace

std::string_view queue_dir_name(QueueName queue) {
  switch (queue) {
    case QueueName::kActive: return "active";
    case QueueName::kDeferred: return "deferred";
    case QueueName::kHold: return "hold";
    case QueueName::kCorrupt: return "corrupt";
  }
  return "?";
}

QueueStore::QueueStore(Options options, std::unique_ptr<Filesystem> owned, Filesystem* fs)
    : options_(std::move(options)), owned_fs_(std::move(owned)), fs_(fs) {}

Result<std::unique_ptr<QueueStore>> QueueStore::open(Options options) {
  if (options.queue_directory.empty()) return make_error("queue_directory is empty");
  std::unique_ptr<Filesystem> owned;
  Filesystem* fs = options.filesystem;
  if (fs == nullptr) {
    owned = make_posix_filesystem();
    fs = owned.get();
  }
  std::unique_ptr<QueueStore> store(new QueueStore(std::move(options), std::move(owned), fs));
  if (Status s = store->init(); !s.ok()) return s.error();
  return store;
}

Status QueueStore::init() {
  const std::string& q = options_.queue_directory;
  if (Status s = fs_->make_dir(q, 0755); !s.ok()) return s;
  auto open_sub = [&](std::string_view name) -> Result<int> {
    const std::string path = fmt::format("{}/{}", q, name);
    if (Status s = fs_->make_dir(path, 0700); !s.ok()) return s.error();
    return fs_->open_dir(path);
  };
  for (QueueName queue : kQueues) {
    auto fd = open_sub(queue_dir_name(queue));
    if (!fd) return fd.error();
    queue_dirs_[static_cast<size_t>(queue)] = *fd;
  }
  auto status = open_sub("status");
  if (!status) return status.error();
  status_dir_ = *status;
  auto incoming = open_sub("incoming");
  if (!incoming) return incoming.error();
  incoming_dir_ = *incoming;
  return {};
}

QueueStore::~QueueStore() {
  for (int fd : queue_dirs_) {
    if (fd >= 0) fs_->close(fd);
  }
  for (int fd : {status_dir_, incoming_dir_}) {
    if (fd >= 0) fs_->close(fd);
  }
}

Result<std::vector<std::string>> QueueStore::list(QueueName queue) {
  auto names = fs_->list_dir(dir(queue));
  if (!names) return names.error();
  std::erase_if(*names, [](const std::string& n) { return Spool::queue_id_pid(n) < 0; });
  std::sort(names->begin(), names->end());  // arrival order: ids begin with the time
  return names;
}

template <class T>
int QueueStore::open_message(QueueName queue, const std::string& queue_id,
                             StoreRead<T>& failure) {
  auto fd = fs_->open_read(dir(queue), queue_id);
  if (fd) return *fd;
  if (!fs_->exists(dir(queue), queue_id)) {
    failure.failure = ReadFailure::kGone;
    failure.reason = fmt::format("{}/{}: no such file", queue_dir_name(queue), queue_id);
  } else {
    failure.failure = ReadFailure::kError;
    failure.reason = fd.error().message;
  }
  return -1;
}

StoreRead<StoredMessage> QueueStore::read_message(QueueName queue,
                                                  const std::string& queue_id) {
  StoreRead<StoredMessage> out;
  ScopedFd fd(*fs_, open_message(queue, queue_id, out));
  if (fd.get() < 0) return out;
  auto size = fs_->file_size(fd.get());
  if (!size) return failed<StoredMessage>(ReadFailure::kError, size.error().message);
  auto bytes = fs_->read_at(fd.get(), 0, *size);
  if (!bytes) return failed<StoredMessage>(ReadFailure::kError, bytes.error().message);
  auto file = decode_queue_file(*bytes);
  if (!file) return failed<StoredMessage>(ReadFailure::kCorrupt, file.error().message);
  if (file->envelope.queue_id != queue_id) {
    return failed<StoredMessage>(ReadFailure::kCorrupt, 
        fmt::format("the file's queue id is {}, not its name", file->envelope.queue_id));
  }
  auto status = read_status_with_marks(queue_id, file->envelope.arrival_us, file->recipient_done);
  if (!status) return failed<StoredMessage>(ReadFailure::kError, status.error().message);
  StoredMessage m;
  m.recipients = fold_status(*status, file->envelope.recipients.size());
  m.status = std::move(*status);
  m.file = std::move(*file);
  out.value = std::move(m);
  return out;
}

Result<StatusLog> QueueStore::read_status_with_marks(const std::string& queue_id,
                                                     int64_t arrival_us,
                                                     const std::vector<bool>& done) {
  StatusLog merged;
  for (size_t i = 0; i < done.size(); ++i) {
    if (done[i]) {
      merged.entries.push_back(StatusEntry{StatusKind::kDelivered, uint32_t(i), arrival_us,
                                           "2.0.0", "", "done before the upgrade"});
    }
  }
  auto log = read_status(queue_id);
  if (!log) return log.error();
  for (StatusEntry& e : log->entries) merged.entries.push_back(std::move(e));
  merged.valid_length = log->valid_length;
  merged.torn_reason = std::move(log->torn_reason);
  return merged;
}

StoreRead<StoredEnvelope> QueueStore::read_envelope(QueueName queue,
                                                    const std::string& queue_id) {
  StoreRead<StoredEnvelope> out;
  ScopedFd fd(*fs_, open_message(queue, queue_id, out));
  if (fd.get() < 0) return out;
  auto size = fs_->file_size(fd.get());
  if (!size) return failed<StoredEnvelope>(ReadFailure::kError, size.error().message);

  StoredEnvelope stored;
  std::string prefix;
  for (size_t want = kFirstEnvelopeRead;; want *= 2) {
    auto bytes = fs_->read_at(fd.get(), 0, std::min<uint64_t>(want, *size));
    if (!bytes) return failed<StoredEnvelope>(ReadFailure::kError, bytes.error().message);
    auto head = decode_envelope(*bytes);
    if (!head && head.error().message.find("version 1") != std::string::npos) {
      // A file of the first release: no envelope checksum, so read and check all of it.
      auto whole = read_message(queue, queue_id);
      if (!whole.ok()) {
        StoreRead<StoredEnvelope> failed;
        failed.failure = whole.failure;
        failed.reason = whole.reason;
        return failed;
      }
      stored.envelope = std::move(whole.value->file.envelope);
      stored.version = 1;
      stored.content_size = whole.value->file.content.size();
      stored.status = std::move(whole.value->status);
      stored.recipients = std::move(whole.value->recipients);
      out.value = std::move(stored);
      return out;
    }
    if (!head) return failed<StoredEnvelope>(ReadFailure::kCorrupt, head.error().message);
    if (head->has_value()) {
      stored.envelope = std::move((*head)->envelope);
      const uint64_t tail_size = std::min<uint64_t>(*size, kLongEndRecordSize);
      auto tail = fs_->read_at(fd.get(), *size - tail_size, tail_size);
      if (!tail) return failed<StoredEnvelope>(ReadFailure::kError, tail.error().message);
      auto end = decode_end_tail(*tail);
      if (!end) {
        return failed<StoredEnvelope>(ReadFailure::kCorrupt,
                                      fmt::format("no END record: {}", end.error().message));
      }
      stored.content_size = end->content_size;
      if (end->extracted_at) {
        // header_checks/body_checks actions, recorded after the content.
        const uint64_t at = *end->extracted_at, stop = *size - end->record_size;
        if (at < (*head)->length || at >= stop) {
          return failed<StoredEnvelope>(ReadFailure::kCorrupt, "bad extracted segment offset");
        }
        auto segment = fs_->read_at(fd.get(), at, stop - at);
        if (!segment) return failed<StoredEnvelope>(ReadFailure::kError, segment.error().message);
        auto actions = decode_extracted(*segment);
        if (!actions) {
          return failed<StoredEnvelope>(
              ReadFailure::kCorrupt, fmt::format("extracted segment: {}", actions.error().message));
        }
        apply_content_actions(stored.envelope, std::move(*actions));
      }
      break;
    }
    if (bytes->size() >= *size || want >= kMaxEnvelopeRead) {
      return failed<StoredEnvelope>(ReadFailure::kCorrupt, "incomplete envelope");
    }
  }
  if (stored.envelope.queue_id != queue_id) {
    return failed<StoredEnvelope>(ReadFailure::kCorrupt, 
        fmt::format("the file's queue id is {}, not its name", stored.envelope.queue_id));
  }
  auto status = read_status(queue_id);
  if (!status) return failed<StoredEnvelope>(ReadFailure::kError, status.error().message);
  stored.status = std::move(*status);
  stored.recipients = fold_status(stored.status, stored.envelope.recipients.size());
  out.value = std::move(stored);
  return out;
}

Result<StatusLog> QueueStore::read_status(const std::string& queue_id) {
  auto fd = fs_->open_read(status_dir_, queue_id);
  if (!fd) {
    if (!fs_->exists(status_dir_, queue_id)) return StatusLog{};
    return fd.error();
  }
  ScopedFd closer(*fs_, *fd);
  // As much as the log holds, not kMaxStatusLog: read_at allocates what it is asked for, and
  // a 16 MiB buffer per read made every envelope read of a deferred message (mailq, the
  // queue manager's admission and records) cost milliseconds.
  auto size = fs_->file_size(*fd);
  if (!size) return size.error();
  auto bytes = fs_->read_at(*fd, 0, std::min<uint64_t>(*size, kMaxStatusLog));
  if (!bytes) return bytes.error();
  return decode_status_log(*bytes);
}

Status QueueStore::record(const std::string& queue_id, const std::vector<StatusEntry>& entries) {
  if (entries.empty()) return {};
  auto log = fs_->open_append(status_dir_, queue_id);
  if (!log) return log.error();
  ScopedFd fd(*fs_, log->fd);
  if (!log->created) {
    // A crash may have left a torn entry at the end (an append whose fdatasync never
    // returned, so nothing acted on it): cut it off, or it would hide what follows.
    auto current = read_status(queue_id);
    if (!current) return current.error();
    auto size = fs_->file_size(fd.get());
    if (!size) return size.error();
    if (current->valid_length != *size) {
      if (Status s = fs_->truncate(fd.get(), current->valid_length); !s.ok()) return s;
    }
  }
  std::string bytes;
  for (const StatusEntry& e : entries) bytes += encode_status_entry(e);
  if (Status s = fs_->write_all(fd.get(), bytes); !s.ok()) return s;
  if (Status s = fs_->sync_data(fd.get()); !s.ok()) return s;
  if (log->created) {
    // The new name must be as durable as what it holds.
    return syncs_.sync("status", [this] { return fs_->sync_dir(status_dir_); });
  }
  return {};
}

Status QueueStore::move(const std::string& queue_id, QueueName from, QueueName to) {
  if (Status s = fs_->rename(dir(from), queue_id, dir(to), queue_id); !s.ok()) return s;
  // Both entries durable: the new name, and the old name's absence (else a later removal
  // from `to` could be undone by the old name coming back after a crash). A crash between
  // the two syncs may leave both names: the queue manager keeps one at start-up.
  if (Status s = sync(to); !s.ok()) return s;
  return sync(from);
}

Result<std::vector<QueueStore::BatchFailure>> QueueStore::move_many(
    const std::vector<std::string>& queue_ids, QueueName from, QueueName to) {
  std::vector<BatchFailure> failed;
  size_t moved = 0;
  for (const std::string& id : queue_ids) {
    Status s = fs_->rename(dir(from), id, dir(to), id);
    if (s.ok()) {
      ++moved;
    } else if (s.error().code != ENOENT) {
      failed.push_back({id, s.error()});
    }
  }
  if (moved == 0) return failed;
  // As in move(): the new names first, then the old names' absence.
  if (Status s = sync(to); !s.ok()) return s.error();
  if (Status s = sync(from); !s.ok()) return s.error();
  return failed;
}

Result<std::vector<QueueStore::BatchFailure>> QueueStore::remove_many(
    QueueName queue, const std::vector<std::string>& queue_ids) {
  std::vector<BatchFailure> failed;
  std::vector<const std::string*> logs;  // removed files with a status log
  for (const std::string& id : queue_ids) {
    if (!fs_->exists(dir(queue), id)) {
      failed.push_back(
          {id, make_error(fmt::format("{}/{}: no such file", queue_dir_name(queue), id), ENOENT)});
      continue;
    }
    if (Status s = fs_->unlink(dir(queue), id); !s.ok()) {
      failed.push_back({id, s.error()});
      continue;
    }
    if (fs_->exists(status_dir_, id)) logs.push_back(&id);
  }
  if (logs.empty()) return failed;
  // As in remove(): the files' removal durable before their logs go.
  if (Status s = sync(queue); !s.ok()) return s.error();
  for (const std::string* id : logs) {
    if (Status s = fs_->unlink(status_dir_, *id); !s.ok()) failed.push_back({*id, s.error()});
  }
  return failed;
}

Status QueueStore::remove(QueueName queue, const std::string& queue_id) {
  // Gone from this queue (moved by a queue tool meanwhile): its status log stays with it.
  if (!fs_->exists(dir(queue), queue_id)) {
    return make_error(fmt::format("{}/{}: no such file", queue_dir_name(queue), queue_id));
  }
  if (Status s = fs_->unlink(dir(queue), queue_id); !s.ok()) return s;
  if (!fs_->exists(status_dir_, queue_id)) return {};
  // The queue file's removal must be durable before its status log's: a queue file that
  // came back without its log would be delivered again to every recipient.
  if (Status s = sync(queue); !s.ok()) return s;
  return fs_->unlink(status_dir_, queue_id);
}

Status QueueStore::set_next_attempt(QueueName queue, const std::string& queue_id,
                                    int64_t time_us) {
  return fs_->set_modified_time(dir(queue), queue_id, time_us);
}

Result<int64_t> QueueStore::next_attempt(QueueName queue, const std::string& queue_id) {
  return fs_->modified_time(dir(queue), queue_id);
}

Status QueueStore::drop_duplicate(QueueName queue, const std::string& queue_id) {
  if (Status s = fs_->unlink(dir(queue), queue_id); !s.ok()) return s;
  return sync(queue);
}

bool QueueStore::has_status_log(const std::string& queue_id) {
  return fs_->exists(status_dir_, queue_id);
}

Status QueueStore::sync(QueueName queue) {
  return syncs_.sync(std::string(queue_dir_name(queue)),
                     [this, queue] { return fs_->sync_dir(dir(queue)); });
}

Result<size_t> QueueStore::remove_orphan_status_logs() {
  auto names = fs_->list_dir(status_dir_);
  if (!names) return names.error();
  if (names->empty()) return size_t{0};
  // Every queue listed once, after status/ (a log is made only for a committed message).
  std::vector<std::string> queued;
  for (int d : {incoming_dir_, dir(QueueName::kActive), dir(QueueName::kDeferred),
                dir(QueueName::kHold), dir(QueueName::kCorrupt)}) {
    auto listed = fs_->list_dir(d);
    if (!listed) return listed.error();
    queued.insert(queued.end(), std::make_move_iterator(listed->begin()),
                  std::make_move_iterator(listed->end()));
  }
  std::sort(queued.begin(), queued.end());
  size_t removed = 0;
  for (const std::string& name : *names) {
    if (std::binary_search(queued.begin(), queued.end(), name)) continue;
    // Not in any listing: look again by name (a queue tool may have moved it between two
    // listings).
    bool found = fs_->exists(incoming_dir_, name);
    for (QueueName queue : kQueues) found = found || fs_->exists(dir(queue), name);
    if (found) continue;
    if (Status s = fs_->unlink(status_dir_, name); !s.ok()) return s.error();
    ++removed;
  }
  return removed;
}

}  // namespace estafeta::queue
