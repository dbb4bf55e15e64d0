// Spool: incoming/<id> (its name synced ahead of need) -> (END, fdatasync) -> done(id) ->
// link to active/<id> -> batched fsync(active/) -> unlink incoming/<id> -> wake-up datagram.
// A file created on demand instead: (END, fdatasync) -> rename to active/<id> -> batched
// fsync(active/) -> done(id) -> wake-up. See spool.h; the crash-safety argument is in
// docs/queue-format.md.
#include "queue/spool.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <vector>

#include "base/assert.h"
#include "base/clock.h"
#include "queue/background_thread.h"
#include "queue/queue_file.h"

namespace estafeta::queue {
namespace {

// Content is written in blocks of about this size (few large writes).
constexpr size_t kWriteBlock = 64 * 1024;
constexpr size_t kQueueIdLength = 18;
constexpr int kMaxIdAttempts = 64;
}  // namespace

// ---- IncomingMessage ----

IncomingMessage::IncomingMessage(Spool& spool, std::string queue_id, int fd, bool entry_durable,
                                 std::string pending)
    : spool_(spool),
      queue_id_(std::move(queue_id)),
      fd_(fd),
      pending_(std::move(pending)),
      entry_durable_(entry_durable) {}

IncomingMessage::~IncomingMessage() {
  if (fd_ >= 0) spool_.fs_->close(fd_);
  if (!committed_) {
    // Not acknowledged: nothing may survive. A failure here leaves a leftover that the
    // next Spool::open removes.
    (void)spool_.fs_->unlink(spool_.incoming_dir_, queue_id_);
  }
}

Status IncomingMessage::append(std::string_view data) {
  if (failed_) return error_;
  content_.append(data);
  size_ += data.size();
  if (content_.size() >= kWriteBlock) return flush(false);
  return {};
}

void IncomingMessage::set_content_actions(const message::ContentActions& actions) {
  extracted_ = encode_extracted(actions);
  hold_ = actions.hold;
}

Status IncomingMessage::flush(bool final) {
  if (failed_) return error_;
  pending_ += encode_content(content_);
  content_.clear();
  std::optional<uint64_t> extracted_at;
  if (final && !extracted_.empty()) {
    extracted_at = written_ + pending_.size();
    pending_ += extracted_;
  }
  checksum_ = update_checksum(checksum_, pending_);
  if (final) pending_ += encode_end(checksum_, size_, extracted_at);
  Status s = spool_.fs_->write_all(fd_, pending_);
  written_ += pending_.size();
  pending_.clear();
  if (!s.ok()) {
    failed_ = true;
    error_ = s.error();
  }
  return s;
}

// ---- Spool ----

std::string Spool::make_queue_id(int64_t time_us, int pid) {
  return fmt::format("{:012X}{:06X}", static_cast<uint64_t>(time_us) & 0xFFFFFFFFFFFFull,
                     static_cast<unsigned>(pid) & 0xFFFFFFu);
}

int Spool::queue_id_pid(std::string_view name) {
  if (name.size() != kQueueIdLength) return -1;
  int pid = 0;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    int v = (c >= '0' && c <= '9') ? c - '0' : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
    if (v < 0) return -1;
    if (i >= 12) pid = pid * 16 + v;
  }
  return pid;
}

Spool::Spool(Options options) : options_(std::move(options)) {
  if (options_.filesystem == nullptr) {
    owned_fs_ = make_posix_filesystem();
    fs_ = owned_fs_.get();
  } else {
    fs_ = options_.filesystem;
  }
}

Result<std::unique_ptr<Spool>> Spool::open(Options options) {
  if (options.queue_directory.empty()) return make_error("queue_directory is empty");
  if (options.sync_threads < 1) options.sync_threads = 1;
  std::unique_ptr<Spool> spool(new Spool(std::move(options)));  // private constructor
  Status s = spool->init();
  if (!s.ok()) return s.error();
  return spool;
}

Status Spool::init() {
  const std::string& q = options_.queue_directory;
  if (Status s = fs_->make_dir(q, 0755); !s.ok()) return s;
  for (const char* sub : {"incoming", "active", "deferred", "hold", "public", "pid"}) {
    if (Status s = fs_->make_dir(q + "/" + sub, 0700); !s.ok()) return s;
  }
  if (Status s = remove_free_directory(); !s.ok()) return s;
  auto incoming = fs_->open_dir(q + "/incoming");
  if (!incoming) return incoming.error();
  incoming_dir_ = *incoming;
  auto active = fs_->open_dir(q + "/active");
  if (!active) return active.error();
  active_dir_ = *active;
  auto deferred = fs_->open_dir(q + "/deferred");
  if (!deferred) return deferred.error();
  deferred_dir_ = *deferred;
  auto hold = fs_->open_dir(q + "/hold");
  if (!hold) return hold.error();
  hold_dir_ = *hold;

  if (options_.send_wakeups) {
    wakeup_ = std::make_unique<net::DatagramSender>(q + "/public/qmgr");
  }
  auto lock = LivenessLock::take(q);
  if (!lock) {
    warn(fmt::format("{}; other processes may take this one for dead after a minute",
                     lock.error().message));
  } else {
    liveness_lock_ = std::move(*lock);
  }
  if (Status s = recover_incoming(); !s.ok()) return s;
  remove_stale_liveness_locks(q);
  for (int i = 0; i < options_.sync_threads; ++i) {
    threads_.emplace_back([this] { worker(); });
  }
  publish_thread_ = std::thread([this] { publish_loop(); });
  if (options_.precreated_files > 0) {
    precreate_thread_ = std::thread([this] { precreate_loop(); });
  }
  return {};
}

// The first release kept finished queue files in free/ to reuse their inodes. Reuse is gone
// (it rested on the stale bytes after END being harmless and on another file's sync making
// an overwrite stable); what is left there holds nothing acknowledged.
Status Spool::remove_free_directory() {
  const std::string path = options_.queue_directory + "/free";
  auto dir = fs_->open_dir(path);
  if (!dir) return {};  // none (the usual case)
  auto names = fs_->list_dir(*dir);
  Status result;
  if (names) {
    for (const std::string& name : *names) {
      if (Status s = fs_->unlink(*dir, name); !s.ok()) result = s;
    }
  }
  fs_->close(*dir);
  if (!result.ok()) return result;
  return fs_->remove_dir(path);
}

// Keeps the pool full. A pre-created file is an empty incoming/ file of this process: if the
// process dies, the next Spool::open removes it like any unacknowledged leftover. It sleeps
// until the pool is down to half (begin() wakes it only then: one wake-up per several
// messages, not one per message), then creates the files that fill it up and makes their
// names stable with one fsync of incoming/ before handing them out: a message written
// into such a file is acknowledged after the sync of its data alone (see finish()).
void Spool::precreate_loop() {
  (void)make_current_thread_background();
  for (;;) {
    size_t wanted = 0;
    {
      std::unique_lock lock(pool_mutex_);
      pool_cv_.wait(lock, [this] { return pool_stopping_ || pool_.size() <= pool_low_water(); });
      if (pool_stopping_) return;
      wanted = size_t(options_.precreated_files) - pool_.size();
    }
    std::vector<Precreated> batch;
    while (batch.size() < wanted) {
      auto file = create_queue_file();
      if (!file) break;  // begin() creates its own file then, and reports the error
      batch.push_back(std::move(*file));
    }
    // Not synced: still usable, through the rename route (entry_durable stays false).
    const bool synced = !batch.empty() && fs_->sync_dir(incoming_dir_).ok();
    std::unique_lock lock(pool_mutex_);
    for (Precreated& file : batch) {
      file.entry_durable = synced;
      pool_.push_back(std::move(file));  // the destructor closes what is left in the pool
    }
    if (batch.size() < wanted) {
      // begin() falls back to creating files itself, and reports the error then.
      pool_cv_.wait_for(lock, std::chrono::seconds(1), [this] { return pool_stopping_; });
      if (pool_stopping_) return;
    }
  }
}

Spool::~Spool() {
  {
    std::lock_guard lock(pool_mutex_);
    pool_stopping_ = true;
  }
  pool_cv_.notify_all();
  if (precreate_thread_.joinable()) precreate_thread_.join();
  for (const auto& file : pool_) {
    fs_->close(file.fd);
    (void)fs_->unlink(incoming_dir_, file.id);
  }
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  // After the workers: every acknowledged file has been handed to the publisher, which
  // makes one last attempt at what is left (anything still in incoming/ then is published
  // by the next Spool::open).
  {
    std::lock_guard lock(publish_mutex_);
    publish_stopping_ = true;
  }
  publish_cv_.notify_all();
  if (publish_thread_.joinable()) publish_thread_.join();
  for (int fd : {incoming_dir_, active_dir_, deferred_dir_, hold_dir_}) {
    if (fd >= 0) fs_->close(fd);
  }
  liveness_lock_ = LivenessLock();
}

int64_t Spool::next_id_time() {
  std::lock_guard lock(id_mutex_);
  last_us_ = std::max(system_now_us(), last_us_ + 1);
  return last_us_;
}

Result<Spool::Precreated> Spool::create_queue_file() {
  Error last = make_error("no queue id attempted");
  for (int attempt = 0; attempt < kMaxIdAttempts; ++attempt) {
    // Ids are unique by construction (time strictly increasing per process, plus the pid).
    // Against a clock stepped backwards onto a pid reused since: the rename into active/
    // never replaces (the client gets 451 and retries), nor does the one into deferred/.
    std::string id = make_queue_id(next_id_time(), ::getpid());
    // A queued message with this id (possible only after the clock went back onto a reused
    // pid): the publisher's link would find it; take the next microsecond instead.
    if (fs_->exists(active_dir_, id) || fs_->exists(deferred_dir_, id)) continue;
    auto fd = fs_->create_file(incoming_dir_, id);
    if (!fd) {
      last = fd.error();
      if (fs_->exists(incoming_dir_, id)) continue;  // EEXIST: try the next microsecond
      return last;
    }
    return Precreated{std::move(id), *fd};
  }
  return make_error(fmt::format("cannot create a queue file: {}", last.message), last.code);
}

size_t Spool::pooled_files() const {
  std::lock_guard lock(pool_mutex_);
  return pool_.size();
}

Result<std::unique_ptr<IncomingMessage>> Spool::begin(message::Envelope envelope) {
  std::optional<Precreated> file;
  bool wake_precreator = false;
  if (options_.precreated_files > 0) {
    std::lock_guard lock(pool_mutex_);
    if (!pool_.empty()) {
      file = std::move(pool_.front());
      pool_.pop_front();
    }
    wake_precreator = pool_.size() <= pool_low_water();
  }
  if (wake_precreator) {
    ++refill_requests_;
    pool_cv_.notify_one();
  }
  if (!file) {
    auto created = create_queue_file();
    if (!created) return created.error();
    file = std::move(*created);
  }
  envelope.queue_id = file->id;
  envelope.arrival_us = system_now_us();
  return std::unique_ptr<IncomingMessage>(new IncomingMessage(
      *this, std::move(file->id), file->fd, file->entry_durable, encode_envelope(envelope)));
}

void Spool::commit(std::unique_ptr<IncomingMessage> message,
                   std::function<void(Result<std::string>)> done) {
  ESTAFETA_CHECK(message != nullptr);
  ESTAFETA_CHECK(&message->spool_ == this);
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(Job{std::move(message), std::move(done)});
  }
  cv_.notify_one();
}

void Spool::worker() {
  (void)make_current_thread_background();
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping, and all queued work is finished
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    Result<Finished> r = finish(*job.message);
    job.message.reset();  // closes; removes incoming/<id> unless acknowledged
    if (!r.ok()) {
      if (job.done) job.done(r.error());
      continue;
    }
    if (job.done) job.done(r->queue_id);
    // After `done`: the 250 waits neither for the publication nor for the wake-up (the file
    // is durable under one name or the other; a lost datagram is repaired by the scan).
    if (r->held) continue;  // nothing for the queue manager until a release
    if (r->published) {
      wake_up(r->queue_id);
    } else {
      {
        std::lock_guard lock(publish_mutex_);
        to_publish_.push_back(std::move(r->queue_id));
      }
      publish_cv_.notify_one();
    }
  }
}

Result<Spool::Finished> Spool::finish(IncomingMessage& m) {
  // Step 1: the whole file, END last, then its data (and its size) on stable storage.
  if (Status s = m.flush(true); !s.ok()) return s.error();
  if (Status synced = fs_->sync_data(m.fd_); !synced.ok()) return synced.error();
  if (m.entry_durable_) {
    // Its name must still be there: removed from outside meanwhile, the data would be
    // stable under no name at all.
    auto identity = fs_->identify_open(m.fd_);
    if (!identity) return identity.error();
    if (identity->links == 0) {
      return make_error(fmt::format("incoming/{}: removed while it was written", m.queue_id_),
                        ENOENT);
    }
  }
  fs_->close(m.fd_);
  m.fd_ = -1;
  if (m.hold_) {
    // HOLD: the rename route, into hold/. Until hold/ is synced the file is whole under one
    // name or the other; Spool::open moves a whole held file found in incoming/ into hold/.
    if (Status s = fs_->rename(incoming_dir_, m.queue_id_, hold_dir_, m.queue_id_); !s.ok()) {
      return s.error();
    }
    m.committed_ = true;
    // XXX: as for active/ below, a failed sync leaves the file in hold/ though the client is
    // told 4xx (a duplicate, never a loss).
    if (Status s = fs_->sync_dir(hold_dir_); !s.ok()) return s.error();
    return Finished{m.queue_id_, true, true};
  }
  if (m.entry_durable_) {
    // Its name in incoming/ was stable before the first write, its data is now: the message
    // is on stable storage and may be acknowledged. The publisher moves it into active/.
    m.committed_ = true;
    return Finished{m.queue_id_, false};
  }
  // Step 2: publish. From here on the file is complete, so the delivery agent may take it.
  if (Status s = fs_->rename(incoming_dir_, m.queue_id_, active_dir_, m.queue_id_); !s.ok()) {
    return s.error();
  }
  m.committed_ = true;
  // Step 3: the directory entry on stable storage; one fsync serves a whole batch.
  // XXX: if this fails the file stays in active/ and may be delivered although the client
  // is told 4xx and may send it again (a duplicate, never a loss).
  Status s = group_sync_.sync("active", [this] { return fs_->sync_dir(active_dir_); });
  if (!s.ok()) return s.error();
  return Finished{m.queue_id_, true};
}

Status Spool::move_into_hold(const std::string& queue_id) {
  if (Status s = fs_->rename(incoming_dir_, queue_id, hold_dir_, queue_id); !s.ok()) return s;
  return fs_->sync_dir(hold_dir_);
}

void Spool::wake_up(const std::string& queue_id) {
  if (!wakeup_) return;
  // A lost wake-up (full socket buffer) is repaired by an empty datagram: "rescan active/".
  if (missed_wakeup_.exchange(false) && !wakeup_->send("")) {
    missed_wakeup_ = true;
    return;
  }
  if (!wakeup_->send(queue_id) && (errno == EAGAIN || errno == ENOBUFS)) missed_wakeup_ = true;
}

}  // namespace estafeta::queue
