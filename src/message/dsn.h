// Delivery status notifications (RFC 3464, RFC 3462's multipart/report): the text of a
// non-delivery notice ("bounce"), a delay warning or a success notice, from MAILER-DAEMON,
// or of the postmaster's copy of one (Postfix's "Postmaster Copy: Undelivered Mail",
// "Postmaster Warning: Delayed Mail": the headers only), with a human-readable part, the
// machine-readable message/delivery-status part (per-message and per-recipient fields) and the original message or its headers (DSN RET). Pure: the
// caller supplies the time, the names and the original content; the result is CRLF text
// ready for the queue. Lines are folded or cut so that none exceeds 998 octets.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace estafeta::message {

enum class NoticeKind {
  kFailure,  // Action: failed
  kDelay,    // Action: delayed
  kSuccess,  // Action: delivered (NOTIFY=SUCCESS)
};

struct NoticeRecipient {
  std::string address;        // Final-Recipient (rfc822)
  std::string orcpt;          // the ORCPT parameter as received ("rfc822;x@y"), or ""
  std::string status;         // RFC 3463, "5.1.1"
  std::string reason;         // for the human part: "unknown user", "connect to ...: refused"
  std::string diagnostic;     // Diagnostic-Code value ("smtp; 550 5.1.1 ..."), or ""
  std::string remote_mta;     // Remote-MTA host, or ""
  int64_t last_attempt_us = 0;
  /// The Action of a success report when it is not "delivered": "expanded" (an alias or
  /// .forward with several targets), "relayed" (passed on where DSN ends); "" otherwise.
  std::string action{};
};

struct Notice {
  NoticeKind kind = NoticeKind::kFailure;
  std::string reporting_mta;   // myhostname
  std::string queue_id;        // of the original message
  int64_t arrival_us = 0;      // of the original message
  int64_t now_us = 0;          // Date: and the Message-Id
  std::string notice_queue_id; // of the notice itself (for Message-Id and the boundary)
  std::string original_sender; // "" for the null sender
  std::string to;              // who gets the notice (the sender, or the postmaster)
  std::string envid;           // DSN ENVID, or ""
  bool headers_only = false;   // RET=HDRS, or the message is larger than size_limit
  /// A notice for the postmaster (notify_classes), not for the sender: its own subject and
  /// text, and the original's headers only, whatever RET says.
  bool to_postmaster = false;
  /// For a postmaster notice about mail deferred by a problem of this system: what kind
  /// ("a resource problem", "a software error"); "" for a copy of a sender's notice.
  std::string problem;
  std::string original;        // the original message (CRLF text)
  size_t size_limit = 50000;   // bounce_size_limit: above it only the headers are returned
  std::vector<NoticeRecipient> recipients;
};

/// The notice as a CRLF message (headers and body).
std::string build_notice(const Notice& notice);

/// Whether a recipient's DSN NOTIFY ("SUCCESS,FAILURE", "NEVER", or "" when not given) asks
/// for notices of `what` ("FAILURE", "DELAY", "SUCCESS"). Without NOTIFY only failures are
/// reported (RFC 3461 section 4.1); NEVER suppresses everything.
bool wants_notice(std::string_view notify, std::string_view what);

/// RFC 5322 date-time for a time in microseconds since the epoch, in UTC:
/// "Sat, 05 Dec 2026 14:48:03 +0000".
std::string rfc5322_date(int64_t time_us);

/// The header section of a CRLF message (up to, not including, the empty line).
std::string_view header_section(std::string_view message);

}  // namespace estafeta::message
