// One delivery step that must run as the recipient (issue 17): what it is (DeliveryTask),
// what came of it (TaskResult), and the framed binary codec that carries both between the
// local agent, the privileged spawner and the per-task child (delivery/privileged_delivery.h).
// Pure: no I/O. Every decoder takes untrusted bytes (fuzzed: fuzz/delivery_task_fuzz.cc) and
// validate_task() states exactly what the spawner accepts.
//
// Framing (queue/record.h): a request or a reply is one record whose payload is a list of
// field records, the first the protocol version; a child's result (written to a memfd) is
// the list of field records itself, a version record first, the content split in chunks.
// Unknown fields, duplicated scalars, bad numbers and oversized values are errors.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace estafeta::delivery {

/// Who the task runs as. uid and gid must not be 0 (the agent maps root to default_privs).
struct Credentials {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups; empty: just `gid`
  std::string user;           // for messages only
  std::string home;           // for messages only (Command uses working_directory)

  bool operator==(const Credentials&) const = default;
};

/// MaildirBatch: several Maildir deliveries as one owner in one child (the virtual agent's
/// recipients of one request): each copy written and fsynced, then each distinct new/
/// directory synced once; a result per copy (TaskResult::parts).
/// OpenMaildirWorker is no delivery: the spawner forks a Maildir worker with the task's
/// identity (as, file_size_limit) and answers with one end of a socket to it
/// (delivery/maildir_worker.h), on which the agent then sends that identity's Maildir and
/// MaildirBatch tasks itself.
enum class TaskKind { Maildir, Mbox, Command, ReadFile, MaildirBatch, OpenMaildirWorker };

/// One delivery of a MaildirBatch: bytes [offset, offset + length) of the message
/// descriptor (the copies of the batch, one after another) into <path>new/<maildir_name>.
struct MaildirCopy {
  std::string path;          // the Maildir directory, absolute, ends with '/'
  std::string maildir_name;  // the file name in new/ (exists already -> AlreadyDelivered)
  uint64_t offset = 0;
  uint64_t length = 0;

  bool operator==(const MaildirCopy&) const = default;
};

/// mailbox_delivery_lock, a bit set.
enum class MboxLock : unsigned { Fcntl = 1, Dotlock = 2, Flock = 4 };

struct DeliveryTask {
  TaskKind kind = TaskKind::Maildir;
  Credentials as;
  std::string path;  // Maildir directory (ends with '/'), mbox or /file path, or file to read
  std::string maildir_name;  // Maildir: the file name in new/ (exists already -> AlreadyDelivered)
  std::string sender;        // Mbox: for the "From sender date" line ("MAILER-DAEMON" for <>)
  int64_t arrival_sec = 0;   // Mbox: the From_ line's date
  unsigned mbox_locks = 0;   // bit set of MboxLock
  /// Mbox in mail_spool_directory: open or create the file and its dot-lock with the
  /// privileges of the directory's owner and group (as Postfix does when that directory is
  /// not world-writable), give a new file to `as`, then write as `as`. Ignored when the
  /// spawner is not root.
  bool create_with_spool_privileges = false;
  /// Mbox: an earlier attempt of this delivery may have been cut short after its append
  /// (qmgr/protocol.h after_restart): if the mailbox already holds exactly these bytes, the
  /// answer is AlreadyDelivered and nothing is appended.
  bool check_already_delivered = false;
  std::string command;                   // Command: run with /bin/sh -c
  std::vector<std::string> environment;  // Command: "NAME=value" (nothing else inherited)
  std::string working_directory;         // Command: chdir here (home), else "/"
  int time_limit_seconds = 1000;         // Command: command_time_limit; then kill the group
  size_t read_limit = 1 << 20;           // ReadFile: refuse larger files
  // Added fields (Postfix parameters with their defaults):
  int lock_attempts = 20;        // Mbox: deliver_lock_attempts
  int lock_delay_seconds = 1;    // Mbox: deliver_lock_delay (0 allowed: retry at once)
  int stale_lock_seconds = 500;  // Mbox: stale_lock_time (an older dot-lock is removed)
  /// mailbox_size_limit as the child's RLIMIT_FSIZE (0: no limit), for every kind (a command
  /// inherits it, as under Postfix's local); an mbox or Maildir write over it fails with
  /// EFBIG -> Deferred 4.2.2 "mailbox full", the mbox truncated back.
  uint64_t file_size_limit = 0;
  std::vector<MaildirCopy> copies;  // MaildirBatch: at least one, at most kMaxBatchCopies
  /// MaildirBatch: send a TaskReply::published once the copies are in new/, before the
  /// result (someone waits to hear it; otherwise it would cost a datagram for nothing).
  bool report_published = false;

  bool operator==(const DeliveryTask&) const = default;
};

enum class TaskStatus { Delivered, AlreadyDelivered, Deferred, Bounced };

/// What each kind answers (besides Deferred 4.3.0 "delivery refused: ..." for a task the
/// spawner does not accept and Deferred 4.3.0 when the spawner or the child fails):
///   Maildir   Delivered / AlreadyDelivered 2.0.0 "delivered to maildir"; Deferred 4.2.0,
///             4.2.2 (quota, size limit) or 4.3.1 (disk full) "maildir delivery failed: ..."
///   Mbox      Delivered 2.0.0 "delivered to mailbox"; Deferred 4.2.0 (open, lock, not a
///             regular file with one link, not the recipient's in the spool case), 4.2.2, 4.3.1
///   Command   see delivery/sys_exits.h (Delivered 2.0.0 "delivered to command: ...")
///   ReadFile  Delivered 2.0.0 with `content`; a missing file Bounced 5.3.0 with error_code
///             ENOENT or ENOTDIR; else Deferred 4.3.0 with error_code (EACCES, ELOOP for a
///             symlink, EFBIG over read_limit, EINVAL not a regular file)
///   OpenMaildirWorker  Delivered 2.0.0 with the socket passed beside the reply
///   MaildirBatch  the top-level status is Delivered when the child ran (parts say more);
///             `parts` holds one Maildir result per copy, in order. A refused or failed
///             batch has no parts: its status applies to every copy.
/// `error_code` carries the errno where a system call failed.
struct TaskResult {
  TaskStatus status = TaskStatus::Deferred;
  std::string dsn;      // "2.0.0", "4.3.0", "5.1.1"...
  std::string text;     // for the log / DSN: "delivered to mailbox", "command line usage error.
                        // Command output: ..."
  std::string content;  // ReadFile: the file's bytes
  /// Added: the errno of the system call that failed (0: none or not a system call), so
  /// the agent can tell a missing .forward (ENOENT) from an unreadable one.
  int error_code = 0;
  std::vector<TaskResult> parts;  // MaildirBatch: one per copy (never nested further)
  /// ReadFile: the owner and mode of the file actually read (fstat of the open descriptor,
  /// so a path swapped between checks cannot lend another owner's rights).
  uint32_t file_owner = 0;
  uint32_t file_mode = 0;

  bool operator==(const TaskResult&) const = default;
};

/// Convenience constructors.
TaskResult deferred(std::string dsn, std::string text, int error_code = 0);
TaskResult bounced(std::string dsn, std::string text, int error_code = 0);

/// The largest encoded request (one SOCK_SEQPACKET datagram).
inline constexpr size_t kMaxTaskRequestBytes = 60 * 1024;
/// The most copies in one MaildirBatch (the request must also fit kMaxTaskRequestBytes).
inline constexpr size_t kMaxBatchCopies = 256;
/// The largest read_limit (a ReadFile's content travels in the result).
inline constexpr size_t kMaxReadLimit = 16 << 20;

/// The most supplementary groups a task carries (the agent keeps a user's first ones).
inline constexpr size_t kMaxTaskGroups = 256;

/// What a spawner accepts beyond the form of a task, told to it when it starts (before it
/// forks anything; delivery/privileged_delivery.h).
struct TaskPolicy {
  /// Uids no task may run as, besides 0 (the daemons' mail_owner).
  std::set<uid_t> forbidden_uids;
  /// Tasks with a smaller uid are refused (virtual_minimum_uid for the virtual agent's).
  uid_t minimum_uid = 1;
  /// mail_spool_directory, absolute, without a trailing '/': create_with_spool_privileges
  /// is accepted only for a file directly in it. Empty: never.
  std::string spool_directory;
};

/// Why `task` must not run; nullopt when it may. Checks every field: uid, gid and every
/// supplementary group not 0, at most kMaxTaskGroups groups; the uid not in
/// `policy.forbidden_uids` nor below `policy.minimum_uid`; absolute paths without NUL, empty
/// or ".." components; a Maildir name without '/' (not "." or ".."); create_with_spool_privileges
/// only for an Mbox directly in `policy.spool_directory`; a non-empty command; NAME=value
/// environment entries; positive limits within bounds; a MaildirBatch's copies each as a
/// Maildir task's path and name, 1 to kMaxBatchCopies of them. Pure.
std::optional<std::string> validate_task(const DeliveryTask& task, const TaskPolicy& policy = {});

/// An absolute path without NUL, empty, "." or ".." components (a trailing '/' is fine), at
/// most 4096 bytes: what validate_task() accepts as a task's path. Pure.
bool is_clean_absolute_path(std::string_view path);

/// agent -> spawner: a task tagged with a request id (the message fd travels beside it).
struct TaskRequest {
  uint64_t id = 0;
  DeliveryTask task;
  bool operator==(const TaskRequest&) const = default;
};

/// spawner -> agent: the result for request `id`, inline, or (result_in_fd) in a memfd
/// passed beside the reply that holds an encoded result (encode_result).
struct TaskReply {
  uint64_t id = 0;
  bool result_in_fd = false;
  TaskResult result;  // when !result_in_fd and !published
  /// Not the result yet: a MaildirBatch's copies are all renamed into new/ or failed (at
  /// least one in new/) and only the sync of their new/ directories is left; the result
  /// follows in another reply with the same id. Carries no result.
  bool published = false;
  bool operator==(const TaskReply&) const = default;
};

std::string encode_request(const TaskRequest& request);
/// One whole datagram; an error says why it is not a request. Does not validate_task().
/// Lenient where that is harmless: limits over their maxima are clamped to them, and groups
/// beyond kMaxTaskGroups are dropped (fewer rights, never more).
Result<TaskRequest> decode_request(std::string_view bytes);
/// The id of a request that decode_request() refused, when its framing still shows one (so
/// that the spawner can answer that request alone); nullopt otherwise.
std::optional<uint64_t> request_id_of(std::string_view bytes);

std::string encode_reply(const TaskReply& reply);
Result<TaskReply> decode_reply(std::string_view bytes);

/// The child's result, as written into the result memfd.
std::string encode_result(const TaskResult& result);
Result<TaskResult> decode_result(std::string_view bytes);

}  // namespace estafeta::delivery
