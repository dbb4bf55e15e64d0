// The protocol between the queue manager and its delivery agents (Postfix's qmgr-to-local
// and qmgr-to-smtp requests; OpenSMTPD's versioned imsg): typed messages, framed binary
// ("don't parse", qmail), over a unix stream socket. The queue manager sends a
// AgentRequest naming a queued message and the recipients to try; the agent opens
// the queue file read-only, delivers, and answers with one AgentReply carrying an outcome
// per recipient (before it, a Maildir agent may say that the request no longer holds its
// destination: AgentReply::results_follow). Agents never change queue state: the queue
// manager records the outcomes.
// The same framing carries the queue manager's requests to the bounce service (Postfix's
// bounce/defer/trace requests): a BounceRequest names a message, its queue, the kind of
// notice and the facts of each recipient; the service writes the notice into the queue and
// answers with a BounceReply holding the new queue ids, or a temporary error.
//
// Framing: each message is one record (queue/record.h): type 'D' (request) or 'A' (reply),
// 'B' (bounce request) or 'b' (bounce reply), payload = fields as records, the first one the
// protocol version. A peer that sees another
// version, an unknown field or a malformed message drops the connection: the requests in
// flight on it are then deferred by the queue manager ("delivery agent failed"). Pure: no
// I/O; the decoders take bytes as they arrive and say when a whole message is there.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace estafeta::qmgr {

inline constexpr std::string_view kProtocolVersion = "1";

struct AgentRecipient {
  uint32_t index = 0;   // the recipient's index in the queue file
  std::string address;  // "user@example.org"
  std::string orcpt;    // DSN ORCPT as received, or ""
  std::string notify;   // DSN NOTIFY, or ""
  /// Final deliveries of this recipient already made in an earlier attempt (an alias or
  /// .forward expansion partly deferred): the agent's keys, as it answered them in
  /// RecipientReply::done_actions. The agent does not repeat them.
  std::vector<std::string> done_actions{};

  bool operator==(const AgentRecipient&) const = default;
};

struct AgentRequest {
  uint64_t id = 0;          // chosen by the queue manager, echoed in the reply
  std::string queue_id;     // the message
  std::string queue = "active";  // the queue it is in: "active" or "deferred"
  std::string transport;    // master.cf service name: "local", "smtp"
  std::string next_hop;     // "example.org", "[192.0.2.1]:25"; for local, the recipient
  std::vector<AgentRecipient> recipients;
  /// The message was queued before the queue manager started (a crash may have cut an
  /// attempt short after a delivery was made and before its outcome was recorded): an agent
  /// that can tell whether a delivery is already there checks before repeating it.
  bool after_restart = false;
  /// The queue manager has more mail waiting for this transport and next hop: the smtp
  /// agent may keep its connection open for it (smtp_connection_cache_on_demand).
  bool more_mail = false;
  /// At least a full window of mail waits for this destination: an agent that can tell when
  /// the request no longer holds the destination, before its results, says so
  /// (AgentReply::results_follow). Otherwise that early reply would cost turns for nothing.
  bool release_wanted = false;

  bool operator==(const AgentRequest&) const = default;
};

enum class RecipientOutcome : char {
  kDelivered = 'd',
  kDeferred = 'f',  // temporary failure: try again later
  kBounced = 'b',   // permanent failure: a notice goes to the sender
};

struct RecipientReply {
  uint32_t index = 0;
  RecipientOutcome outcome = RecipientOutcome::kDeferred;
  std::string status;      // RFC 3463: "2.0.0", "4.2.0", "5.1.1"
  std::string reason;      // as logged: "delivered to maildir", "connect to ...: refused"
  std::string diagnostic;  // RFC 3464 Diagnostic-Code, e.g. "smtp; 550 5.1.1 ...", or ""
  std::string relay;       // "local", "mx.example.org[192.0.2.1]:25"
  /// For a delivered recipient, the Action of its success report (RFC 3464) when not
  /// "delivered": "expanded" (several targets: alias, .forward), "relayed" (forwarded where
  /// DSN ends); "passed": handed with its DSN request to an MTA that supports DSN, which
  /// reports success itself (RFC 3461 5.2.2): no success report here; "" otherwise.
  std::string action{};
  /// For a deferred recipient: the keys of the final deliveries that did succeed in this
  /// attempt (an agent's own names, e.g. a hash of the target), recorded by the queue
  /// manager and handed back in AgentRecipient::done_actions next time. Empty otherwise.
  std::vector<std::string> done_actions{};

  bool operator==(const RecipientReply&) const = default;
};

struct AgentReply {
  uint64_t id = 0;  // the request's
  std::vector<RecipientReply> recipients;
  /// The destination itself failed (connection refused, greeting 4xx): feedback for the
  /// queue manager's concurrency window. Empty when it did not.
  std::string destination_failure;
  /// Not the results yet: the agent no longer needs the destination for this request (its
  /// Maildir copies are renamed into new/; only the directory syncs are left), so the queue
  /// manager may start another delivery there. The results follow in another reply with
  /// this id; until then the queue file stays as it is. No recipients, no failure.
  bool results_follow = false;

  bool operator==(const AgentReply&) const = default;
};

/// What the bounce service is asked to write (RFC 3464 notices, and the postmaster's).
enum class NoticeRequestKind : char {
  kFailure = 'f',   // non-delivery notice (and the copies notify_classes asks for)
  kDelay = 'd',     // delay warning
  kSuccess = 's',   // NOTIFY=SUCCESS delivery report
  kResource = 'r',  // to error_notice_recipient: deferred by a resource problem
  kSoftware = 'w',  // to error_notice_recipient: deferred by a software error
};

/// One recipient of a notice: the facts the queue manager knows (the rest, ORCPT and the
/// message, the service reads from the queue file).
struct NoticeFacts {
  uint32_t index = 0;        // the recipient's index in the queue file
  std::string address;
  std::string status;        // RFC 3463
  std::string reason;        // for the human-readable part
  std::string diagnostic;    // RFC 3464 Diagnostic-Code, or ""
  std::string remote_mta;    // RFC 3464 Remote-MTA, or ""
  int64_t last_attempt_us = 0;
  std::string action{};      // a success report's Action when not "delivered", or ""

  bool operator==(const NoticeFacts&) const = default;
};

struct BounceRequest {
  uint64_t id = 0;               // chosen by the queue manager, echoed in the reply
  std::string queue_id;          // the message the notice is about
  std::string queue = "active";  // the queue it is in: "active" or "deferred"
  NoticeRequestKind kind = NoticeRequestKind::kFailure;
  std::vector<NoticeFacts> recipients;  // at least one

  bool operator==(const BounceRequest&) const = default;
};

struct BounceReply {
  uint64_t id = 0;  // the request's
  /// The queue ids of the notices written (durably), in order; empty when there was nothing
  /// to send (a notice about a notice that notify_classes discards).
  std::vector<std::string> notice_ids;
  /// Non-empty: nothing was written, try again later (the queue manager keeps the
  /// recipients pending).
  std::string error;

  bool operator==(const BounceReply&) const = default;
};

std::string encode_request(const AgentRequest& request);
std::string encode_reply(const AgentReply& reply);

/// Takes the first whole request off the front of `buffer` (bytes read so far); nullopt when
/// more bytes are needed. An error means the peer is broken: drop the connection.
Result<std::optional<AgentRequest>> take_request(std::string& buffer);
Result<std::optional<AgentReply>> take_reply(std::string& buffer);

std::string encode_bounce_request(const BounceRequest& request);
std::string encode_bounce_reply(const BounceReply& reply);
Result<std::optional<BounceRequest>> take_bounce_request(std::string& buffer);
Result<std::optional<BounceReply>> take_bounce_reply(std::string& buffer);

}  // namespace estafeta::qmgr
