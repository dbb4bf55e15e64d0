// The minimal delivery agent of issue 2 (program names estafeta/qmgr and estafeta/local):
// takes committed queue files from active/ (wake-up datagrams on public/qmgr, a scan at
// start-up and every scan_interval_seconds), delivers local recipients into Maildir, logs in
// Postfix's format, and removes the queue file once every recipient is done. Recipients in
// other domains are deferred: the file moves to deferred/ (outbound SMTP is a later issue).
// Delivery threads write and link the Maildir files; one finishing thread syncs the new/
// directories for a batch and only then removes the queue files.
// Guarantees: an acknowledged message is never lost, never delivered twice for one queue
// file (Maildir names derive from queue id + recipient index), never in part. Not the full
// queue manager: no retry schedule, no bounces yet. Thread-safe: deliver_one may run on
// several threads for different queue ids.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "delivery/fan_out.h"
#include "log/logger.h"
#include "policy/address_list.h"
#include "queue/group_sync.h"
#include "queue/queue_store.h"

namespace estafeta::delivery {

struct DeliveryAgentOptions {
  std::string queue_directory;             // absolute
  std::string mail_spool_directory;        // absolute; mail for local part L: <dir>/<L>/Maildir/
  policy::DomainList local_domains;        // mydestination (literals and tables)
  std::string myhostname;                  // for Maildir file names
  int concurrency = 8;                     // delivery threads
  /// How long a queue file may wait for others before delivery starts (unless a full round
  /// of `concurrency` files is there first): deliveries that run together share flushes.
  std::chrono::microseconds gather_window{2000};
  /// How long a delivered file (its Maildir files written, synced and linked) may wait for
  /// others before the fsync of their new/ directories and the removal of the queue files:
  /// one fsync serves all of them, and the delivery threads never wait for it.
  std::chrono::microseconds new_dir_sync_window{5000};
  int scan_interval_seconds = 60;          // periodic rescan of active/ (missed wake-ups)
};

class DeliveryAgent {
 public:
  /// Opens the queue store (an error is logged, and run() then returns 1).
  DeliveryAgent(DeliveryAgentOptions options, log::Logger qmgr_log, log::Logger local_log);
  ~DeliveryAgent();

  /// Binds public/qmgr (unix datagram), delivers everything already in active/, then serves
  /// wake-ups until SIGTERM/SIGINT arrive (blocked in the calling thread and read through a
  /// signalfd; call it before starting other threads). Takes pid/qmgr.lock so that only one
  /// agent serves a queue. Returns the process exit code: 0 after a signal, 1 on set-up
  /// failure (logged).
  int run();

  /// Delivers one queue file now (for tests and for `run`). Returns false if it stayed
  /// queued (deferred, a local delivery failed, or the file is corrupt and was moved to
  /// corrupt/); true if the file is gone (delivered, or no such file).
  bool deliver_one(const std::string& queue_id);

 private:
  /// A delivery whose Maildir files are written, synced and linked into new/; left to do:
  /// the fsync of each new/ it linked into, then its log lines and the queue file's removal.
  struct Linked {
    std::string queue_id;
    std::vector<std::string> maildirs;    // each once
    std::vector<std::string> sent_lines;  // "ID: to=<..>, ..., status=sent (...)"
    std::chrono::steady_clock::time_point linked_at;
  };
  enum class Attempt { Gone, Stays, Linked };
  /// Everything up to the links; also the whole of the rarer outcomes (deferred, corrupt,
  /// partly delivered: those sync new/ themselves).
  Attempt attempt(const std::string& queue_id, Linked& linked);
  /// Syncs each Maildir's new/ once for the batch (different Maildirs in parallel on
  /// `fan_out`), then removes every queue file whose syncs succeeded. Returns how many were
  /// removed.
  size_t finish(std::vector<Linked>& batch, FanOut& fan_out);
  /// Logs the delivery into `lines` and removes the queue file.
  bool remove_delivered(const Linked& l, log::LineBatch& lines);

  void worker();
  void finisher();
  void enqueue(const std::string& queue_id);
  void scan_active();
  policy::Match is_local_domain(std::string_view domain) const;
  Status sync_dir(const std::string& path);

  DeliveryAgentOptions options_;
  std::unique_ptr<queue::QueueStore> store_;  // null if it could not be opened
  log::Logger qmgr_log_;
  log::Logger local_log_;
  queue::GroupSync syncs_;

  /// Releases every queued entry; returns how many, so that the caller, once it has
  /// unlocked mutex_, wakes one idle thread per entry (not all of them: each needless
  /// wake-up costs two context switches). Called with mutex_ held.
  size_t release_all_locked();
  void wake_workers(size_t count);

  std::mutex mutex_;
  std::condition_variable cv_;
  struct Queued {
    std::string queue_id;
    std::chrono::steady_clock::time_point queued_at;
  };
  std::deque<Queued> work_;        // guarded by mutex_
  size_t released_ = 0;            // front entries of work_ free to take now; guarded by mutex_
  bool window_watched_ = false;    // a thread waits for the gathering deadline; by mutex_
  std::set<std::string> pending_;  // queued or being delivered; guarded by mutex_
  bool stopping_ = false;          // guarded by mutex_
  std::vector<Linked> linked_;     // waiting for finisher(); guarded by mutex_
  bool workers_gone_ = false;      // the delivery threads have exited; guarded by mutex_
  std::condition_variable finish_cv_;
  /// The finishing thread's helpers for the syncs of many Maildirs (made by run(), used
  /// by finisher() only).
  std::unique_ptr<FanOut> fan_out_;
};

/// Postfix's delay notation: seconds with at most two decimals, trailing zeros dropped
/// ("0.02", "0.1", "0", "3"); whole seconds from 100 s up.
std::string format_delay(double seconds);

}  // namespace estafeta::delivery
