// The queue store: every change of state of a committed queue file goes through here
// (OpenSMTPD's queue_backend is the precedent). Creating and committing a file is the
// Spool's part (queue/spool.h); this interface reads committed files (the envelope with its
// status, or the whole message), records per-recipient outcomes in the message's status
// log, moves files between the queues, removes them, and lists a queue. The states and
// the legal transitions, each with its crash argument, are in docs/queue-format.md.
//
// Only the queue manager (and, until it exists as its own process, the delivery agent
// acting for it) changes state; queue tools ask it to. Thread-safe: calls for different
// queue ids may run concurrently; calls for one queue id must not overlap.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "message/envelope.h"
#include "queue/filesystem.h"
#include "queue/group_sync.h"
#include "queue/queue_file.h"
#include "queue/status_log.h"

namespace estafeta::queue {

/// The queues of a committed message (incoming/ holds files being received: the Spool's).
enum class QueueName { kActive, kDeferred, kHold, kCorrupt };

/// The directory name of a queue: "active", "deferred", "hold", "corrupt".
std::string_view queue_dir_name(QueueName queue);

/// Why a read found no usable file.
enum class ReadFailure {
  kGone,     // no such file (already removed, or moved to another queue)
  kCorrupt,  // the file does not decode: incomplete, torn or damaged
  kError,    // an I/O error (permission, EIO): try again later
};

template <class T>
struct StoreRead {
  bool ok() const { return value.has_value(); }
  std::optional<T> value;                    // set on success
  ReadFailure failure = ReadFailure::kGone;  // why not, when !ok()
  std::string reason;                        // for a human, when !ok()
};

/// What the queue manager needs of a message, read without its content.
struct StoredEnvelope {
  message::Envelope envelope;
  int version = 2;
  uint64_t content_size = 0;
  StatusLog status;
  /// Parallel to envelope.recipients: the status log folded (done, last deferral).
  std::vector<RecipientState> recipients;
};

/// A whole message with its status (what a delivery agent reads).
struct StoredMessage {
  QueueFile file;
  StatusLog status;
  /// Parallel to file.envelope.recipients: the status log folded (done, last deferral).
  std::vector<RecipientState> recipients;
};

class QueueStore {
 public:
  struct Options {
    std::string queue_directory;
    /// Borrowed; must outlive the store. Null: the real POSIX file system.
    Filesystem* filesystem = nullptr;
  };

  /// Opens (creating if missing) active/ deferred/ hold/ corrupt/ and status/.
  static Result<std::unique_ptr<QueueStore>> open(Options options);
  ~QueueStore();
  QueueStore(const QueueStore&) = delete;
  QueueStore& operator=(const QueueStore&) = delete;

  /// Queue ids in a queue (names that are not queue ids are left out).
  Result<std::vector<std::string>> list(QueueName queue);

  /// The envelope, content size and status of a message, reading only the start and the
  /// END record of the queue file (version 1 files: the whole file, their in-place done
  /// marks reported as delivered). A file whose I record is not its name is corrupt.
  StoreRead<StoredEnvelope> read_envelope(QueueName queue, const std::string& queue_id);

  /// The whole message, checksums verified, with its status.
  StoreRead<StoredMessage> read_message(QueueName queue, const std::string& queue_id);

  /// Appends outcomes to the message's status log and makes them durable (fdatasync; the
  /// first append also syncs status/ for the new name) before returning. A torn tail left by
  /// a crash is cut off first.
  Status record(const std::string& queue_id, const std::vector<StatusEntry>& entries);

  /// rename(from/<id>, to/<id>), never replacing, then fsync of both directories: when it
  /// returns the file is durably in `to` only.
  Status move(const std::string& queue_id, QueueName from, QueueName to);

  /// One file of move_many() or remove_many() that could not be moved or removed.
  struct BatchFailure {
    std::string queue_id;
    Error error;
  };

  /// move() for many files with one sync of each directory in all (postqueue -f of a large
  /// deferred queue would otherwise make two directory syncs per message): renames each file
  /// (never replacing), skipping ids gone meanwhile (ENOENT), then fsyncs `to` and `from`.
  /// When it returns OK, every file renamed is durably in `to` only; the crash argument is
  /// move()'s (until the syncs each file is under its old or its new name, or both, and the
  /// queue manager keeps one). Renames that failed otherwise are returned; a failed sync is
  /// the Error.
  Result<std::vector<BatchFailure>> move_many(const std::vector<std::string>& queue_ids,
                                              QueueName from, QueueName to);

  /// Removes queue/<id> only, never the status log, and syncs the queue: for a message found
  /// under a second name after a crash (the copy that stays keeps the log).
  Status drop_duplicate(QueueName queue, const std::string& queue_id);

  /// True if the message has a status log (some outcome was recorded).
  bool has_status_log(const std::string& queue_id);

  /// Removes the queue file, then its status log, if it has one, once the file's removal is
  /// durable (a crash in between leaves an orphan log, which remove_orphan_status_logs
  /// cleans, never a file without its log). A file without a status log (every recipient
  /// done at the first attempt) is only unlinked: that removal is durable after the next
  /// sync() of the queue; until then a crash may bring it back, to be delivered again.
  Status remove(QueueName queue, const std::string& queue_id);

  /// remove() for many files of one queue with one sync of its directory in all (the queue
  /// manager removes what one turn of its loop finished; one sync per message bounded the
  /// drain of a large queue): unlinks each file, then, if any of them has a status log, syncs
  /// the queue once and unlinks those logs. Same crash argument as remove(). Files gone from
  /// the queue (moved by a queue tool meanwhile) are returned as failures and keep their logs;
  /// a failed sync is the Error (the logs stay, as orphans removed at start-up).
  Result<std::vector<BatchFailure>> remove_many(QueueName queue,
                                                const std::vector<std::string>& queue_ids);

  /// A deferred message's next attempt, kept as its file's modification time (Postfix's
  /// way): set when it is deferred, read by the deferred queue scan. Not synced.
  Status set_next_attempt(QueueName queue, const std::string& queue_id, int64_t time_us);
  Result<int64_t> next_attempt(QueueName queue, const std::string& queue_id);

  /// fsync of a queue's directory: every move into and removal from it made before the
  /// call is durable when it returns. Concurrent callers share one fsync (group commit).
  Status sync(QueueName queue);

  /// Removes status logs whose message is in no queue (and no longer in incoming/).
  /// Returns how many went. Only while nothing else changes the queue (start-up): a file
  /// being moved is briefly in no queue. Lists each queue once (not a lookup per log and
  /// queue: 100,000 deferred messages made 300,000 of them at every start); a log whose
  /// message is in no listing is looked up again by name before it goes.
  Result<size_t> remove_orphan_status_logs();

 private:
  QueueStore(Options options, std::unique_ptr<Filesystem> owned, Filesystem* fs);
  Status init();
  int dir(QueueName queue) const { return queue_dirs_[static_cast<size_t>(queue)]; }
  Result<StatusLog> read_status(const std::string& queue_id);
  /// The status log of `queue_id` with version 1 done marks (`done`) added as entries.
  Result<StatusLog> read_status_with_marks(const std::string& queue_id, int64_t arrival_us,
                                           const std::vector<bool>& done);
  /// Opens queue/<id> for reading; on failure fills `failure` (gone, or an error).
  template <class T>
  int open_message(QueueName queue, const std::string& queue_id, StoreRead<T>& failure);

  Options options_;
  std::unique_ptr<Filesystem> owned_fs_;
  Filesystem* fs_;
  int queue_dirs_[4] = {-1, -1, -1, -1};
  int status_dir_ = -1;
  int incoming_dir_ = -1;
  GroupSync syncs_;
};

}  // namespace estafeta::queue
