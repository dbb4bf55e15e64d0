// The body of a delivery child (delivery/privileged_delivery.h): forked by the spawner for
// one task, it becomes the task's user (delivery/task_privileges.h) and performs the task:
// Maildir (delivery/maildir.h, then an fsync of new/), Mbox (delivery/mbox_delivery.h),
// Command (delivery/command_delivery.h) or ReadFile (below). Single-threaded child only.
#pragma once

#include <cstddef>
#include <functional>

#include "delivery/delivery_task.h"
#include "delivery/task_threads.h"
#include "queue/group_sync.h"

namespace estafeta::delivery {

/// Performs `task` (already validated) with the message read from `message_fd` (-1 for
/// ReadFile; read with pread from offset 0 when the fd allows it, so the sender's file
/// offset does not matter). Switches identity first; when that fails, returns Deferred
/// 4.3.0 without touching anything.
TaskResult run_task_in_child(const DeliveryTask& task, int message_fd);

/// A batch's copies written into tmp/ before any is synced (each holds a descriptor until
/// then); the rest follow in further rounds of this size.
inline constexpr size_t kMaildirCopiesWrittenAhead = 64;

/// A Maildir or MaildirBatch task as the current identity (no switch), the message read
/// from `message_fd` as above. The new/ syncs go through `syncs`, so concurrent calls (a
/// Maildir worker's threads, delivery/maildir_worker.h) share them; each result is reported
/// only after its file's fsync and a sync of its new/ begun after the rename. A batch's
/// copies are written one after another, then synced and renamed into new/ in parallel on
/// `publishers` when given (concurrent fsyncs share the file system's commits and the
/// device's cache flushes; one after another, each waits for its own). For a MaildirBatch,
/// `published` (when set) is called once every copy is renamed into new/ or failed, before
/// the new/ syncs, if at least one is in new/: the caller may say so early
/// (TaskReply::published). Thread-safe.
TaskResult run_maildir_task(const DeliveryTask& task, int message_fd, queue::GroupSync& syncs,
                            TaskThreads* publishers = nullptr,
                            const std::function<void()>& published = {});

/// ReadFile as the current identity: open O_NOFOLLOW, a regular file of at most
/// `read_limit` bytes. Delivered 2.0.0 with the bytes; a missing file is Bounced 5.3.0 with
/// error_code ENOENT (or ENOTDIR); anything else Deferred 4.3.0 with the errno.
TaskResult read_file(const std::string& path, size_t read_limit);

}  // namespace estafeta::delivery
