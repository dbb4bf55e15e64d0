// The bounce service's decisions, without I/O: for one request of the queue manager (a
// failure, delay, success or postmaster error notice about one queued message) and that
// message's envelope, which notices to write, to whom and from whom, following Postfix's
// bounce(8) and notify_classes:
//   failure   to the sender, from <>; with `bounce`, a copy (headers only) to
//             bounce_notice_recipient. A failed notice (null sender) goes to
//             2bounce_notice_recipient with `bounce` or `2bounce`, else it is discarded. A
//             failed postmaster notice (from double-bounce@myhostname) is discarded: nothing
//             ever loops.
//   delay     to the sender; with `delay`, a copy to delay_notice_recipient (for a null
//             sender, only that copy).
//   success   to the sender (never about a notice).
//   resource, software
//             with that class, to error_notice_recipient (never about a postmaster notice).
// Postmaster notices come from double-bounce@myhostname. Pure; the caller adds the
// original's content, the notice's queue id and the time (message/dsn.h builds the text).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "message/dsn.h"
#include "message/envelope.h"
#include "message/notify_classes.h"
#include "qmgr/protocol.h"

namespace estafeta::bounce {

struct NoticeSettings {
  std::string myhostname;
  message::NotifyClasses notify_classes;
  std::string bounce_notice_recipient = "postmaster";
  std::string double_bounce_recipient = "postmaster";  // 2bounce_notice_recipient
  std::string delay_notice_recipient = "postmaster";
  std::string error_notice_recipient = "postmaster";
  size_t bounce_size_limit = 50000;
  /// smtputf8_enable and smtputf8_autodetect_classes list `bounce`: a notice whose sender
  /// or recipient address has UTF-8 is flagged SMTPUTF8 (its own headers are ASCII; the
  /// returned message travels in its body).
  bool smtputf8_autodetect = false;
};

struct PlannedNotice {
  std::string envelope_sender;  // "" or double-bounce@myhostname
  std::string recipient;        // who gets it
  /// Complete but for `original`, `notice_queue_id` and `now_us`.
  message::Notice notice;
  /// For the log line "ID: <what>: NEWID": "sender non-delivery notification".
  std::string what;
  /// A required notice that cannot be written fails the request (the queue manager keeps
  /// the recipients pending and asks again); a postmaster copy that cannot is only logged
  /// (Postfix: "postmaster notice failed").
  bool required = true;
  /// NoticeSettings::smtputf8_autodetect, for the writer.
  bool smtputf8_autodetect = false;
};

struct NoticePlan {
  std::vector<PlannedNotice> notices;  // required ones first
  /// When nothing is sent and the log should say why ("undeliverable postmaster
  /// notification discarded"); "" when there is nothing to say.
  std::string discarded;
  bool discarded_is_warning = false;
};

/// The sender of postmaster notices, double-bounce@myhostname.
std::string double_bounce_sender(const NoticeSettings& settings);

/// What to write for `request` about the message whose envelope is `original`.
NoticePlan plan_notices(const qmgr::BounceRequest& request, const message::Envelope& original,
                        const NoticeSettings& settings);

}  // namespace estafeta::bounce
