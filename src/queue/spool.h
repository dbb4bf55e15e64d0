// The durable spool: turns an accepted message into a committed queue file in active/.
// Contract (crash-safety argument in docs/queue-format.md): commit() reports success only
// after the file's data (ending in its END record) and its directory entry in active/ are on
// stable storage. Sessions never serialize on fsync: fdatasync runs on a pool of sync
// threads in parallel, and one fsync of active/ covers every rename made before it
// (queue::GroupSync). Errors are Result/Status, never exceptions. Threads: begin() and
// IncomingMessage methods on the caller's thread (one message is used by one thread at a
// time); commit() from any thread; `done` on a spool thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/result.h"
#include "message/envelope.h"
#include "net/unix_socket.h"
#include "queue/filesystem.h"
#include "queue/group_sync.h"
#include "queue/liveness_lock.h"

namespace estafeta::queue {

class Spool;

/// A message being received into incoming/<id>. Must not outlive its Spool.
class IncomingMessage {
 public:
  IncomingMessage(const IncomingMessage&) = delete;
  IncomingMessage& operator=(const IncomingMessage&) = delete;

  const std::string& queue_id() const { return queue_id_; }
  /// Appends message bytes (CRLF text). Buffered: writes happen in large blocks. After a
  /// failure every later append and the commit fail with the same error.
  Status append(std::string_view data);
  /// Content bytes appended so far.
  uint64_t size() const { return size_; }
  /// What header_checks/body_checks decided, known after the content: recorded after it
  /// (queue_file.h: the extracted segment). With `hold` the commit puts the file into hold/
  /// instead of active/. Call before commit(); a later call replaces an earlier one.
  void set_content_actions(const message::ContentActions& actions);
  /// Not committed (or the commit failed): the incoming file is removed.
  ~IncomingMessage();

 private:
  friend class Spool;
  IncomingMessage(Spool& spool, std::string queue_id, int fd, bool entry_durable,
                  std::string pending);
  Status flush(bool final);

  Spool& spool_;
  std::string queue_id_;
  int fd_;
  std::string pending_;  // encoded records not yet written
  std::string content_;  // raw content not yet encoded
  uint64_t size_ = 0;
  uint32_t checksum_ = 0;  // of the bytes written so far (the END record carries it)
  uint64_t written_ = 0;   // bytes written to the file so far
  std::string extracted_;  // the extracted segment, written just before END
  bool hold_ = false;      // committed into hold/
  bool failed_ = false;
  Error error_;
  bool entry_durable_;      // incoming/<id> was on stable storage before the first write
  bool committed_ = false;  // acknowledged (or named active/<id>): never remove it
};

class Spool {
 public:
  struct Options {
    std::string queue_directory;
    int sync_threads = 8;
    /// Borrowed; must outlive the Spool. Null: the real POSIX file system.
    Filesystem* filesystem = nullptr;
    /// Send wake-up datagrams to <queue_directory>/public/qmgr.
    bool send_wakeups = true;
    /// Empty queue files kept created ahead of need by a background thread, so that begin()
    /// on the event loop does not wait for inode allocation (0 = create in begin()).
    int precreated_files = 0;
    /// Told what the spool cannot report through a commit's result: an acknowledged file
    /// that cannot be published into active/ yet (it stays in incoming/, never removed),
    /// an unreadable file in incoming/ at start-up. Called from the spool's threads. Null:
    /// nobody is told.
    std::function<void(const std::string&)> warn = nullptr;
  };

  /// Creates incoming/ active/ deferred/ public/ pid/ if missing; cleans incoming/ up: a
  /// whole queue file whose writer is gone (or that is older than a minute) may have been
  /// acknowledged and is published into active/; any other file of a writer that is gone
  /// (and names that are not queue ids) is removed.
  static Result<std::unique_ptr<Spool>> open(Options options);

  /// Assigns envelope.queue_id (unique, uppercase hex, Postfix-log-friendly) and arrival_us,
  /// creates incoming/<id>, buffers the envelope records. Thread: the caller's (event loop).
  Result<std::unique_ptr<IncomingMessage>> begin(message::Envelope envelope);

  /// Durably commits: END record, fdatasync; then, for a pre-created file (whose name in
  /// incoming/ was made stable before it was handed out), `done(id)` at once and the file is
  /// published afterwards (link into active/, batched fsync of active/, unlink from
  /// incoming/, wake-up datagram to public/qmgr); for a file created by begin() itself:
  /// rename into active/, batched fsync of active/, `done(id)`, wake-up. A message to hold
  /// (set_content_actions) always takes the rename route, into hold/ (fsync of hold/, no
  /// wake-up). `done` runs on a spool thread with the queue id or the error; only after
  /// `done(ok)` may the caller reply 250. See docs/queue-format.md for the crash argument of
  /// the routes.
  void commit(std::unique_ptr<IncomingMessage> message,
              std::function<void(Result<std::string>)> done);

  /// Joins its threads after finishing queued work.
  ~Spool();

  /// Number of fsync(active/) calls so far (tests: shows that renames are batched).
  uint64_t directory_syncs() const { return group_sync_.syncs_done(); }
  /// Commits waiting for (or running) an fsync of active/ now (tests).
  int directory_sync_callers() const { return group_sync_.callers("active"); }
  /// Files claimed ahead of need and not yet taken by begin() (tests).
  size_t pooled_files() const;
  /// How often begin() has woken the pre-creation thread to refill the pool (tests).
  uint64_t pool_refill_requests() const { return refill_requests_.load(); }

  /// The queue id for a time and a process: 12 hex digits of microseconds, 6 of the pid.
  static std::string make_queue_id(int64_t time_us, int pid);
  /// The writer's pid encoded in a queue id; -1 if `name` is not a queue id.
  static int queue_id_pid(std::string_view name);

 private:
  friend class IncomingMessage;
  struct Job {
    std::unique_ptr<IncomingMessage> message;
    std::function<void(Result<std::string>)> done;
  };

  struct Precreated {
    std::string id;
    int fd = -1;
    bool entry_durable = false;  // incoming/<id> synced (the pre-creation thread does it)
  };
  /// What finish() did: the file is in active/ (and synced there), or it stays in incoming/
  /// until the publisher links it into active/.
  struct Finished {
    std::string queue_id;
    bool published = false;
    bool held = false;  // in hold/ (synced there): nothing for the queue manager
  };

  explicit Spool(Options options);
  Status init();
  void worker();
  /// Creates incoming/<new id>; an error after every attempt failed.
  Result<Precreated> create_queue_file();
  /// Empties and removes free/, left by the first release (see spool.cc).
  Status remove_free_directory();
  int64_t next_id_time();
  void precreate_loop();
  /// The pool size at or below which the pre-creation thread refills it.
  size_t pool_low_water() const { return size_t(options_.precreated_files) / 2; }
  Result<Finished> finish(IncomingMessage& m);
  /// rename(incoming/<id>, hold/<id>), then fsync of hold/ (HOLD: no batching, rare).
  Status move_into_hold(const std::string& queue_id);
  void wake_up(const std::string& queue_id);
  /// Links acknowledged incoming/ files into active/ in batches (one fsync of active/ per
  /// batch), unlinks them from incoming/, wakes the queue manager; retries what failed.
  void publish_loop();
  struct PublishOutcome {
    std::vector<std::string> published;  // in active/ (synced); wake the queue manager
    std::vector<std::string> retry;      // still only in incoming/: try again later
  };
  /// One batch (see spool.cc). What is in neither list was reported through warn() and is
  /// left alone: an active/ name that is another file, an incoming/ name removed by hand.
  PublishOutcome publish(std::vector<std::string> ids);
  /// Spool::open's clean-up of incoming/ (see open()).
  Status recover_incoming();
  enum class IncomingState { kWhole, kWholeHeld, kIncomplete, kUnreadable };
  /// Reads incoming/<name>: whole (END record and checksum good; then also fdatasynced, so
  /// that it may be published; kWholeHeld when it records HOLD, to go into hold/),
  /// incomplete (never acknowledged), or unreadable (an I/O error: it is left alone).
  IncomingState examine_incoming(const std::string& name);
  /// True if incoming/<name> was last written more than a minute ago.
  bool is_stranded(const std::string& name);
  /// Whole files in incoming/ that nobody published for a minute (the publisher looks
  /// every minute: a writer that died while this process lives on, a reused pid).
  std::vector<std::string> stranded_whole_files();
  void warn(const std::string& text) const;

  Options options_;
  std::unique_ptr<Filesystem> owned_fs_;
  Filesystem* fs_ = nullptr;
  int incoming_dir_ = -1;
  int active_dir_ = -1;
  int deferred_dir_ = -1;
  int hold_dir_ = -1;
  std::unique_ptr<net::DatagramSender> wakeup_;  // to public/qmgr; null without wake-ups
  std::atomic<bool> missed_wakeup_{false};
  GroupSync group_sync_;

  std::mutex id_mutex_;
  int64_t last_us_ = 0;  // guarded by id_mutex_: queue ids strictly increase per Spool

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;   // guarded by mutex_
  bool stopping_ = false;  // guarded by mutex_
  std::vector<std::thread> threads_;

  // Acknowledged files still in incoming/, for publish_thread_.
  std::mutex publish_mutex_;
  std::condition_variable publish_cv_;
  std::vector<std::string> to_publish_;  // guarded by publish_mutex_
  bool publish_stopping_ = false;        // guarded by publish_mutex_
  std::thread publish_thread_;
  // Set after a failed fsync of active/: a later successful one does not prove that the
  // links made before it are stable, so from then on no incoming/ name is removed by this
  // process (the next Spool::open publishes the twins again). Publisher thread only.
  bool keep_incoming_names_ = false;
  LivenessLock liveness_lock_;  // pid/spool.<pid> while open (see liveness_lock.h)

  // Pre-created files (Options::precreated_files), filled by precreate_thread_.
  mutable std::mutex pool_mutex_;
  std::condition_variable pool_cv_;
  std::deque<Precreated> pool_;  // guarded by pool_mutex_
  std::atomic<uint64_t> refill_requests_{0};
  bool pool_stopping_ = false;  // guarded by pool_mutex_
  std::thread precreate_thread_;
};

}  // namespace estafeta::queue
