// The pickup service (`estafeta pickup`, a master.cf row like Postfix's): takes the ready
// files of <queue_directory>/maildrop (maildrop.h), decides who submitted them (the file's
// owner) and what may be honoured (submit_policy.h), cleans the message up
// (local_message.h) and commits it to the queue through the Spool, which wakes the queue
// manager. Then removes the drop file. A file that is not a well-formed, permitted
// submission is moved to <queue_directory>/corrupt/ with a log line, so a user can make
// pickup neither crash nor loop; one that only hits a temporary failure (disk full, a table
// that cannot answer) stays for the next scan. Scans at start, on a datagram to
// public/pickup (sent by sendmail) and every `scan_interval` (master.cf's wakeup column).
// Runs as mail_owner. Drop files owned by PickupOptions::trusted_uid (mail_owner: the local
// delivery agent's forwards) skip the submit policy.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>

#include "log/logger.h"
#include "queue/spool.h"
#include "cleanup/content_cleanup.h"
#include "route/envelope_cleanup.h"
#include "submit/submit_policy.h"

namespace estafeta::submit {

struct PickupOptions {
  std::string queue_directory;
  std::string myorigin;
  std::string myhostname;
  uint64_t message_size_limit = 10240000;  // 0: no limit
  std::chrono::seconds scan_interval{60};
  /// A file still being written after this long was abandoned by its writer.
  std::chrono::seconds abandoned_after{std::chrono::hours(24)};
  gid_t maildrop_group = 0;  // the group ready files must have
  /// The cleanup stage's envelope rewriting (canonical, virtual aliases, BCC); none: as is.
  std::shared_ptr<const route::EnvelopeCleanup> cleanup;
  /// The content half: hop count, header_checks, body_checks (tables borrowed).
  cleanup::ContentSettings content;
  /// Files owned by this user skip authorized_submit_users and local_login_sender_maps
  /// (mail_owner: the local delivery agent forwards mail through maildrop).
  std::optional<uid_t> trusted_uid;
};

class Pickup {
 public:
  Pickup(PickupOptions options, SubmitPolicy policy, queue::Spool& spool, const log::Logger& log);

  /// Takes every ready file now; returns how many messages were queued. Errors: the
  /// maildrop directory cannot be read.
  Result<int> scan();

  /// Serves until SIGTERM: scans at start, on each datagram to `wakeup_fd`, and every
  /// scan_interval. Returns the exit code.
  int serve(int wakeup_fd);

 private:
  enum class Outcome { Queued, Left, MovedAside, Gone };
  Outcome take(int dir_fd, const std::string& name);
  void move_aside(int dir_fd, const std::string& name, const std::string& why);
  Outcome submit(int dir_fd, const std::string& name, uid_t owner, const std::string& bytes);

  PickupOptions options_;
  SubmitPolicy policy_;
  queue::Spool& spool_;
  const log::Logger& log_;
};

}  // namespace estafeta::submit
