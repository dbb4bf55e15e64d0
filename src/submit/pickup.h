// The pickup service (`estafeta pickup`, a master.cf row like Postfix's): takes the ready
// files of <queue_directory>/maildrop (maildrop.h), decides who submitted them (the file's
// owner) and what may be honoured (submit_policy.h), cleans the message up
// (local_message.h, then the cleanup stage: route/envelope_cleanup.h, cleanup/
// content_cleanup.h) and commits it to the queue through the Spool, which wakes the queue
// manager. Then removes the drop file. What happens to a file that is not queued:
//   unreadable, malformed, not permitted (authorized_submit_users, local_login_sender_maps)
//       moved to <queue_directory>/corrupt/ with a log line, so a user can make pickup
//       neither crash nor loop;
//   refused permanently by the cleanup stage (5xx: header_checks or body_checks REJECT,
//       hopcount_limit, too many virtual alias expansions)
//       the sender gets a non-delivery notice with the reply, as Postfix bounces a local
//       submission that its cleanup refuses; the file is removed;
//   a temporary failure (4xx: a table that cannot answer; disk full)
//       stays in maildrop/ with a log line and is not taken again before `scan_interval`.
// Scans at start, on a datagram to public/pickup (sent by sendmail) and every
// `scan_interval` (master.cf's wakeup column). Runs as mail_owner. Drop files owned by
// PickupOptions::trusted_uid (mail_owner: the local delivery agent's forwards) skip the
// submit policy.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "bounce/notice_plan.h"
#include "cleanup/content_cleanup.h"
#include "log/logger.h"
#include "message/envelope.h"
#include "message/smtputf8_autodetect.h"
#include "queue/spool.h"
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
  /// maximal_queue_lifetime: a file refused temporarily for longer than this since it was
  /// written is refused for good (bounced), as a queued message would expire.
  std::chrono::seconds maximal_lifetime{std::chrono::hours(24 * 5)};
  gid_t maildrop_group = 0;  // the group ready files must have
  /// The cleanup stage's envelope rewriting (canonical, virtual aliases, BCC); none: as is.
  std::shared_ptr<const route::EnvelopeCleanup> cleanup;
  /// The content half: hop count, header_checks, body_checks (tables borrowed).
  cleanup::ContentSettings content;
  /// Files owned by this user skip authorized_submit_users and local_login_sender_maps
  /// (mail_owner: the local delivery agent forwards mail through maildrop).
  std::optional<uid_t> trusted_uid;
  /// Who gets the notice of a permanently refused message, besides its sender
  /// (notify_classes, bounce_notice_recipient...), as for the bounce service.
  bounce::NoticeSettings notices;
  /// smtputf8_enable and smtputf8_autodetect_classes: files of `trusted_uid` are of the
  /// `forward` class, the others `sendmail`.
  message::Smtputf8Autodetect smtputf8_autodetect;
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
  // Left: not ready yet, look again at the next scan. Deferred: a temporary failure, not
  // taken again before scan_interval has passed.
  enum class Outcome { Queued, Left, Deferred, MovedAside, Gone };
  Outcome take(int dir_fd, const std::string& name);
  void move_aside(int dir_fd, const std::string& name, const std::string& why);
  Outcome submit(int dir_fd, const std::string& name, uid_t owner, const std::string& bytes,
                 std::chrono::system_clock::time_point written);
  /// The cleanup stage refused the message with `reply`: a temporary refusal defers the
  /// file, a permanent one bounces it to the sender (`envelope`, with the recipients as
  /// submitted; `original` is the content as rendered, `id` its queue id). A temporary
  /// refusal of a file `written` longer than maximal_lifetime ago is made permanent.
  Outcome refused(int dir_fd, const std::string& name, uid_t owner, std::string reply,
                  const message::Envelope& envelope, std::string_view original,
                  const std::string& id, std::chrono::system_clock::time_point written);
  /// Removes a drop file whose message (or notice) is queued.
  void remove_drop_file(int dir_fd, const std::string& name, const std::string& id);

  PickupOptions options_;
  SubmitPolicy policy_;
  queue::Spool& spool_;
  const log::Logger& log_;
  /// Deferred drop files and when they may be taken again.
  std::map<std::string, std::chrono::steady_clock::time_point> retry_at_;
};

}  // namespace estafeta::submit
