// Group commit of Maildir copies for one Maildir worker (issue 17: "batch the fsyncs of
// several deliveries without timer windows"). Threads of an agent hand in the copies of
// their requests; at most `tasks_in_flight` MaildirBatch tasks are with the worker at once,
// and the copies that arrive meanwhile wait and leave together as the next task: one
// message descriptor, one datagram, one wake-up of the worker and one sync of each new/
// directory for all of them. No timer: a copy that finds a free slot leaves at once, so
// batches grow only while the worker is busy.
//
// Thread contract: run() is thread-safe and blocks until the caller's copies have their
// results. The caller whose copies are first in line sends the batch (leader/follower);
// the others sleep on their own condition variable until their results are filed. Pure of
// I/O: the sending is the callback's (PrivilegedDelivery::run_maildir_copies).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string_view>
#include <vector>

#include "delivery/delivery_task.h"

namespace estafeta::delivery {

/// MaildirBatch tasks one worker holds at once: a few, so that the worker writes one batch
/// while others sync (measured: 1 and 2 left the file system idle between batches).
inline constexpr size_t kMaildirBatchesInFlight = 4;
/// A batch's encoded task stays well under kMaxTaskRequestBytes: the copies' paths and names
/// plus this much per copy are counted against kMaildirBatchRequestBytes.
inline constexpr size_t kMaildirCopyOverheadBytes = 64;
inline constexpr size_t kMaildirBatchRequestBytes = 40 * 1024;
/// Message bytes one batch carries at most (a single caller's copies may exceed it alone).
inline constexpr size_t kMaildirBatchMessageBytes = 16 << 20;

/// The request bytes `copy` counts against kMaildirBatchRequestBytes.
size_t maildir_copy_request_bytes(const MaildirCopy& copy);

class MaildirBatcher {
 public:
  /// Called when a batch's copies are renamed into new/ and only its new/ syncs are left
  /// (TaskReply::published).
  using Published = std::function<void()>;
  /// Sends one MaildirBatch task whose copies' offsets point into `bytes`, calls `published`
  /// when the worker says so (in its own thread, before it returns; `published` is empty
  /// when no caller of the batch listens: then the worker need not say it), and returns its
  /// result (TaskResult::parts: one per copy when the worker answered them one by one).
  using Send = std::function<TaskResult(const DeliveryTask& task, std::string_view bytes,
                                        const Published& published)>;

  explicit MaildirBatcher(size_t tasks_in_flight = kMaildirBatchesInFlight)
      : tasks_in_flight_(tasks_in_flight == 0 ? 1 : tasks_in_flight) {}

  /// Delivers the copies of `task` (a MaildirBatch: its as and file_size_limit the same for
  /// every caller of this batcher; at most kMaxBatchCopies copies and
  /// kMaildirBatchRequestBytes of request bytes; offsets into `bytes`), maybe in one task
  /// with other callers' copies, sent through `send` (by whichever caller leads). Returns
  /// one result per copy of `task`, in order. `bytes` must stay valid until it returns.
  /// `published` (when set) is called at most once, before run() returns, when the batch
  /// that holds the caller's copies is published: in the thread of the batch's leader, which
  /// tells every caller of the batch one after another while each waits in run() (their
  /// early replies leave together, and no caller is woken for it).
  std::vector<TaskResult> run(const DeliveryTask& task, std::string_view bytes, const Send& send,
                              const Published& published = {});

  /// Callers waiting for a batch to take their copies (for tests).
  size_t waiting_callers();

 private:
  struct Pending {
    const DeliveryTask* task = nullptr;
    std::string_view bytes;
    std::vector<TaskResult> results;
    const Published* published = nullptr;  // its caller's callback, if any
    bool done = false;
    std::condition_variable woken;
  };

  // Takes the pendings of the next batch off the front of waiting_ (at least one). Under
  // mutex_.
  std::vector<Pending*> take_batch();
  // Sends `batch` as one task and files each pending's results. When the worker says the
  // batch is published, calls each pending's `published` (in this, the leader's, thread).
  // Without mutex_.
  void send_batch(const std::vector<Pending*>& batch, const Send& send);
  // Calls the `published` of each pending of `batch` that has one. Without mutex_.
  void tell_published(const std::vector<Pending*>& batch);

  const size_t tasks_in_flight_;
  std::mutex mutex_;
  std::deque<Pending*> waiting_;  // guarded by mutex_
  size_t in_flight_ = 0;          // batches being sent; guarded by mutex_
};

/// Splits a MaildirBatch `result` for `copies` copies into one result per copy: its parts
/// when there is one per copy; otherwise the whole result for each when it is a deferral,
/// and a deferral ("answered without a result per copy") when it is not. Pure.
std::vector<TaskResult> results_per_copy(const TaskResult& result, size_t copies);

}  // namespace estafeta::delivery
