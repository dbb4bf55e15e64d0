// The privileged part of local delivery (issue 17): every mailbox write, command and
// .forward read runs as the recipient, never as mail_owner or root.
//
// PrivilegedDelivery::start() forks a "spawner" that keeps root: a tiny single-threaded
// process that reads typed requests (delivery/delivery_task.h) from a SOCK_SEQPACKET
// socketpair, each a DeliveryTask plus the message as a file descriptor (SCM_RIGHTS), and
// validates them (validate_task with the TaskPolicy given to start(): never uid or gid 0,
// nor mail_owner's uid, spool privileges only directly in mail_spool_directory). A request
// it cannot decode is answered Deferred 4.3.0 when it shows its id; only a request without
// one makes the spawner exit. For each task it forks a child that
// sets the supplementary groups, setresgid, setresuid (checking that setuid(0) then fails),
// performs the task (delivery/task_child.h) and writes its TaskResult into a memfd the
// spawner passes back beside the reply. Maildir and MaildirBatch tasks go instead to a
// long-lived worker per identity (delivery/maildir_worker.h), which the spawner forks on the
// agent's request (an OpenMaildirWorker task, validated like any other) and which drops
// privileges the same way once: the spawner hands the agent one end of a socket to it, and
// the agent sends that identity's tasks there itself (no relay through the spawner); the
// worker validates each with the same TaskPolicy and runs it in a thread, sharing new/ syncs.
// The agent closes a worker's socket after kMaildirWorkerIdleSeconds without a task (looked
// at on each run()); the worker finishes what it holds and exits. The spawner reaps its
// children, relays results tagged with the request id, and exits when the socketpair closes
// (the agent died or the object was destroyed), killing nothing: children in flight finish
// and are reaped by init.
//
// Started by a non-root process (tests, `estafeta start-fg` run by a user), it works the
// same for tasks whose uid and gid are the process's own; others get Deferred 4.3.0.
//
// Thread contract: run() is thread-safe and blocking; replies are matched to callers by id
// (delivery/task_link.h). If the spawner dies, every run() in progress or later returns
// Deferred 4.3.0 (never hangs), and exit_fd() reports it: the agent then exits so that master
// starts it (and a new spawner) again. A worker that dies defers only what it held; the next
// task for that identity gets a new worker. Errors are results; nothing throws.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "delivery/delivery_task.h"
#include "delivery/maildir_batcher.h"
#include "delivery/maildir_worker.h"
#include "delivery/task_link.h"

namespace estafeta::delivery {

class PrivilegedDelivery {
 public:
  /// Forks the spawner, which accepts only the tasks `policy` allows (delivery_task.h).
  /// Call it while still root (if ever) and before starting threads (it forks); drop
  /// privileges afterwards. An error: socketpair or fork failed.
  static Result<std::unique_ptr<PrivilegedDelivery>> start(TaskPolicy policy = {});

  /// Runs `task` as `task.as` with the message from `message_fd` (borrowed: only read,
  /// passed to the child, never closed here; -1 for ReadFile). Blocks until the result
  /// comes (the child ended, or the Maildir worker answered).
  /// The message: the final copy with LF line endings (Return-Path:, Delivered-To: in it),
  /// e.g. a sealed memfd; it is read with pread from offset 0 when the fd allows.
  /// `published`: as TaskLink::run's (a MaildirBatch's copies are in new/, the syncs left).
  TaskResult run(const DeliveryTask& task, int message_fd,
                 const std::function<void()>& published = {});

  /// Runs MaildirBatch `task` (its copies' offsets into `bytes`, the final copies one after
  /// another) through the worker for its identity, together with the copies other threads
  /// hand in for that worker meanwhile (delivery/maildir_batcher.h: one task, one sealed
  /// memfd, one sync of each new/ for all of them). One result per copy of `task`, in order.
  /// Limits of MaildirBatcher::run apply. `published` (when set) is called once the copies
  /// are renamed into new/ and only the new/ syncs are left, before this returns, from the
  /// thread of the batch's leader (maybe another caller's): it must be thread-safe.
  std::vector<TaskResult> run_maildir_copies(const DeliveryTask& task, std::string_view bytes,
                                             const std::function<void()>& published = {});

  /// Closes the socketpair; the spawner exits and is reaped. Precondition: no run() in
  /// progress.
  ~PrivilegedDelivery();
  PrivilegedDelivery(const PrivilegedDelivery&) = delete;
  PrivilegedDelivery& operator=(const PrivilegedDelivery&) = delete;

  /// The spawner's process id (for tests and logs).
  pid_t spawner_pid() const { return pid_; }
  /// Whether the spawner runs as root (can run tasks as any non-root user).
  bool privileged() const { return privileged_; }
  /// A descriptor to poll with no events: POLLHUP (or POLLERR) once the spawner is gone
  /// or no longer trusted; from then on every run() is deferred. Owned by this object.
  int exit_fd() const { return spawner_.socket(); }

 private:
  PrivilegedDelivery(int socket, pid_t pid, bool privileged);

  // The link to the worker for `task`'s identity, opened through the spawner if there is
  // none (or it died); nullptr with `*refusal` set when the spawner refuses or fails.
  std::shared_ptr<TaskLink> worker_for(const DeliveryTask& task, TaskResult* refusal);
  // Closes the links of workers idle for kMaildirWorkerIdleSeconds. Under workers_mutex_.
  void close_idle_workers();

  TaskLink spawner_;
  const pid_t pid_;
  const bool privileged_;
  std::mutex workers_mutex_;  // held while a worker is opened (rare), not during tasks
  std::map<MaildirWorkerKey, std::shared_ptr<TaskLink>> workers_;  // guarded by workers_mutex_
  // One batcher per worker identity, kept while it is in use or its worker lives.
  std::map<MaildirWorkerKey, std::shared_ptr<MaildirBatcher>> batchers_;  // workers_mutex_
  std::chrono::steady_clock::time_point next_idle_check_{};          // guarded by workers_mutex_
};

}  // namespace estafeta::delivery
