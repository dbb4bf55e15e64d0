// Appending one message to an mbox file (a mailbox in mail_spool_directory, home_mailbox
// without '/', or an alias's /file target), in a delivery child that runs as the recipient
// (delivery/privileged_delivery.h). Opens with O_APPEND|O_NOFOLLOW (creating 0600 when
// missing), refuses anything but a regular file with one link, locks as the task asks
// (dot-lock "<path>.lock" first, then fcntl and/or flock, each retried lock_attempts times
// lock_delay_seconds apart; a dot-lock older than stale_lock_seconds is removed), appends
// the From_ line and the quoted message (delivery/mbox_format.h), fsyncs, and on any write
// or sync failure truncates the file back to its old size. Unlocks and removes the dot-lock.
#pragma once

#include <string_view>

#include "delivery/delivery_task.h"

namespace estafeta::delivery {

/// Delivers `message` (LF line endings) per `task` (kind Mbox). The caller has switched to
/// `task.as` already, except when `spool_privileges` (then the caller is root and this
/// switches: the spool directory's owner to open or create the file and the dot-lock, `as`
/// to lock and write). Results: Delivered 2.0.0 "delivered to mailbox"; Deferred 4.2.0
/// (lock, open, not a regular file), 4.2.2 (EDQUOT, EFBIG), 4.3.1 (ENOSPC).
TaskResult deliver_to_mbox(const DeliveryTask& task, std::string_view message,
                           bool spool_privileges);

}  // namespace estafeta::delivery
