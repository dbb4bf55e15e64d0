// The queue manager <-> delivery agent protocol codec. See protocol.h.
#include "qmgr/protocol.h"

#include <fmt/format.h>

#include <cstdint>

#include "queue/record.h"

namespace estafeta::qmgr {
namespace {

using queue::next_record;
using queue::parse_decimal;
using queue::put_record;
using queue::Record;

constexpr char kRequest = 'D';
constexpr char kReply = 'A';
constexpr char kBounceRequest = 'B';
constexpr char kBounceReply = 'b';
// Message fields.
constexpr char kFieldVersion = 'v';
constexpr char kFieldId = 'n';
constexpr char kFieldQueueId = 'q';
constexpr char kFieldQueue = 'u';
constexpr char kFieldTransport = 't';
constexpr char kFieldNextHop = 'h';
constexpr char kFieldRecipient = 'R';  // payload: the recipient's own fields
constexpr char kFieldDestinationFailure = 'x';
constexpr char kFieldKind = 'k';      // bounce request: NoticeRequestKind
constexpr char kFieldNoticeId = 'N';  // bounce reply, once per notice
constexpr char kFieldError = 'e';     // bounce reply
// Recipient fields.
constexpr char kFieldIndex = 'i';
constexpr char kFieldAddress = 'a';
constexpr char kFieldOrcpt = 'o';
constexpr char kFieldNotify = 'y';
constexpr char kFieldOutcome = 'k';
constexpr char kFieldStatus = 's';
constexpr char kFieldReason = 'r';
constexpr char kFieldDiagnostic = 'g';
constexpr char kFieldRelay = 'm';  // also a notice's Remote-MTA
constexpr char kFieldLastAttempt = 'l';
constexpr char kFieldDoneAction = 'D';     // once per final delivery already made
constexpr char kFieldAfterRestart = 'w';   // request: "1" when AgentRequest::after_restart
constexpr char kFieldMoreMail = 'M';       // request: "1" when AgentRequest::more_mail
constexpr char kFieldAction = 'c';         // a success report's Action: expanded, relayed
constexpr char kFieldResultsFollow = 'F';  // reply: "1" when AgentReply::results_follow
constexpr char kFieldReleaseWanted = 'E';  // request: "1" when AgentRequest::release_wanted

void put_optional(std::string& out, char type, std::string_view value) {
  if (!value.empty()) put_record(out, type, value);
}

std::string framed(char type, const std::string& payload) {
  std::string out;
  put_record(out, type, payload);
  return out;
}

Result<uint64_t> decimal(std::string_view s, std::string_view what) {
  auto v = parse_decimal(s);
  if (!v) return make_error(fmt::format("bad {}", what));
  return static_cast<uint64_t>(*v);
}

// Walks the fields of a payload, calling `field` for each; stops at the first error.
template <class F>
Status for_each_field(std::string_view payload, F&& field) {
  size_t pos = 0;
  while (pos < payload.size()) {
    auto rec = next_record(payload, pos);
    if (!rec) return rec.error();
    if (Status s = field(*rec); !s.ok()) return s;
  }
  return {};
}

// Takes one record of type `type` off the front of `buffer`: nullopt when incomplete.
Result<std::optional<std::string>> take_message(std::string& buffer, char type) {
  if (buffer.empty()) return std::optional<std::string>();
  if (buffer[0] != type) return make_error("unexpected message type");
  size_t pos = 0;
  auto rec = next_record(buffer, pos);
  if (!rec) {
    if (rec.error().message.ends_with("truncated")) return std::optional<std::string>();
    return rec.error();
  }
  std::string payload(rec->payload);
  buffer.erase(0, pos);
  return std::optional<std::string>(std::move(payload));
}

Status check_version(const Record& r, bool& seen) {
  if (seen) return make_error("duplicate version");
  if (r.payload != kProtocolVersion) {
    return make_error(
        fmt::format("protocol version {} (expected {})", r.payload, kProtocolVersion));
  }
  seen = true;
  return {};
}

// A recipient's index field, once per recipient.
Status take_index(const Record& f, uint32_t& index, bool& seen) {
  auto v = decimal(f.payload, "recipient index");
  if (!v || *v > UINT32_MAX || seen) return make_error("bad recipient index");
  index = static_cast<uint32_t>(*v);
  seen = true;
  return {};
}

// A done-action key: not empty, at most kMaxDoneActions per recipient.
constexpr size_t kMaxDoneActions = 1000;
Status take_done_action(const Record& f, std::vector<std::string>& keys) {
  if (f.payload.empty() || keys.size() >= kMaxDoneActions) return make_error("bad done action");
  keys.emplace_back(f.payload);
  return {};
}

// A success report's Action other than "delivered" (RFC 3464 section 2.3.3).
// A success report's Action; an agent's reply may also say "passed" (no report here).
Status take_action(const Record& f, std::string& action, bool agent_reply) {
  const bool known =
      f.payload == "expanded" || f.payload == "relayed" || (agent_reply && f.payload == "passed");
  if (!known) return make_error("bad action");
  action = std::string(f.payload);
  return {};
}

Result<AgentRecipient> decode_request_recipient(std::string_view payload) {
  AgentRecipient r;
  bool has_index = false, has_address = false;
  Status s = for_each_field(payload, [&](const Record& f) -> Status {
    switch (f.type) {
      case kFieldIndex:
        return take_index(f, r.index, has_index);
      case kFieldAddress:
        r.address = std::string(f.payload);
        has_address = true;
        return {};
      case kFieldOrcpt:
        r.orcpt = std::string(f.payload);
        return {};
      case kFieldNotify:
        r.notify = std::string(f.payload);
        return {};
      case kFieldDoneAction:
        return take_done_action(f, r.done_actions);
      default:
        return make_error("unknown recipient field");
    }
  });
  if (!s.ok()) return s.error();
  if (!has_index || !has_address) return make_error("recipient without index or address");
  return r;
}

Result<RecipientReply> decode_reply_recipient(std::string_view payload) {
  RecipientReply r;
  bool has_index = false, has_outcome = false;
  Status s = for_each_field(payload, [&](const Record& f) -> Status {
    switch (f.type) {
      case kFieldIndex:
        return take_index(f, r.index, has_index);
      case kFieldOutcome: {
        if (f.payload.size() != 1) return make_error("bad outcome");
        const auto o = static_cast<RecipientOutcome>(f.payload[0]);
        if (o != RecipientOutcome::kDelivered && o != RecipientOutcome::kDeferred &&
            o != RecipientOutcome::kBounced) {
          return make_error("bad outcome");
        }
        r.outcome = o;
        has_outcome = true;
        return {};
      }
      case kFieldStatus:
        r.status = std::string(f.payload);
        return {};
      case kFieldReason:
        r.reason = std::string(f.payload);
        return {};
      case kFieldDiagnostic:
        r.diagnostic = std::string(f.payload);
        return {};
      case kFieldRelay:
        r.relay = std::string(f.payload);
        return {};
      case kFieldAction:
        return take_action(f, r.action, true);
      case kFieldDoneAction:
        return take_done_action(f, r.done_actions);
      default:
        return make_error("unknown recipient field");
    }
  });
  if (!s.ok()) return s.error();
  if (!has_index || !has_outcome) return make_error("recipient without index or outcome");
  return r;
}

bool valid_kind(char c) {
  switch (static_cast<NoticeRequestKind>(c)) {
    case NoticeRequestKind::kFailure:
    case NoticeRequestKind::kDelay:
    case NoticeRequestKind::kSuccess:
    case NoticeRequestKind::kResource:
    case NoticeRequestKind::kSoftware:
      return true;
  }
  return false;
}

Result<NoticeFacts> decode_notice_facts(std::string_view payload) {
  NoticeFacts r;
  bool has_index = false, has_address = false;
  Status s = for_each_field(payload, [&](const Record& f) -> Status {
    switch (f.type) {
      case kFieldIndex:
        return take_index(f, r.index, has_index);
      case kFieldAddress:
        r.address = std::string(f.payload);
        has_address = true;
        return {};
      case kFieldStatus:
        r.status = std::string(f.payload);
        return {};
      case kFieldReason:
        r.reason = std::string(f.payload);
        return {};
      case kFieldDiagnostic:
        r.diagnostic = std::string(f.payload);
        return {};
      case kFieldRelay:
        r.remote_mta = std::string(f.payload);
        return {};
      case kFieldLastAttempt: {
        auto v = decimal(f.payload, "last attempt");
        if (!v || *v > uint64_t(INT64_MAX)) return make_error("bad last attempt");
        r.last_attempt_us = static_cast<int64_t>(*v);
        return {};
      }
      case kFieldAction:
        return take_action(f, r.action, false);
      default:
        return make_error("unknown recipient field");
    }
  });
  if (!s.ok()) return s.error();
  if (!has_index || !has_address) return make_error("recipient without index or address");
  return r;
}

// A text field cut to what a record holds: it is for a human or a log.
std::string_view text_field(std::string_view value) { return value.substr(0, 64 * 1024); }

// The fields all four messages share: the version (first, once) and the request id; in
// requests also the queue id and the queue the message is in.
struct MessageHead {
  bool has_id = false;
  uint64_t id = 0;
  bool has_queue_id = false;
  std::string queue_id;
  std::string queue;
};

enum class MessageKind { kRequest, kReply };

// The shared fields of a request (AgentRequest, BounceRequest) from its head; the queue
// keeps the struct's default ("active") when the message did not name one.
template <class Request>
void fill_request(MessageHead& head, Request& request) {
  request.id = head.id;
  request.queue_id = std::move(head.queue_id);
  if (!head.queue.empty()) request.queue = std::move(head.queue);
}

// Takes one whole message of record type `type` off `buffer` (nullopt while incomplete),
// reads its shared fields into `head` and hands every other field to `field`.
template <class F>
Result<bool> take_fields(std::string& buffer, char type, MessageKind kind, MessageHead& head,
                         F&& field) {
  auto payload = take_message(buffer, type);
  if (!payload) return payload.error();
  if (!payload->has_value()) return false;
  bool version = false;
  Status s = for_each_field(**payload, [&](const Record& f) -> Status {
    if (!version && f.type != kFieldVersion) return make_error("version must come first");
    if (f.type == kFieldVersion) return check_version(f, version);
    if (f.type == kFieldId) {
      auto v = decimal(f.payload, "request id");
      if (!v) return v.error();
      head.id = *v;
      head.has_id = true;
      return {};
    }
    if (kind == MessageKind::kRequest && f.type == kFieldQueueId) {
      head.queue_id = std::string(f.payload);
      head.has_queue_id = true;
      return {};
    }
    if (kind == MessageKind::kRequest && f.type == kFieldQueue) {
      if (f.payload != "active" && f.payload != "deferred") return make_error("bad queue");
      head.queue = std::string(f.payload);
      return {};
    }
    return field(f);
  });
  if (!s.ok()) return s.error();
  return true;
}

}  // namespace

std::string encode_request(const AgentRequest& request) {
  std::string p;
  put_record(p, kFieldVersion, kProtocolVersion);
  put_record(p, kFieldId, fmt::format("{}", request.id));
  put_record(p, kFieldQueueId, request.queue_id);
  put_record(p, kFieldQueue, request.queue);
  put_record(p, kFieldTransport, request.transport);
  put_optional(p, kFieldNextHop, request.next_hop);
  for (const AgentRecipient& r : request.recipients) {
    std::string rp;
    put_record(rp, kFieldIndex, fmt::format("{}", r.index));
    put_record(rp, kFieldAddress, r.address);
    put_optional(rp, kFieldOrcpt, r.orcpt);
    put_optional(rp, kFieldNotify, r.notify);
    for (const std::string& key : r.done_actions) put_record(rp, kFieldDoneAction, key);
    put_record(p, kFieldRecipient, rp);
  }
  if (request.after_restart) put_record(p, kFieldAfterRestart, "1");
  if (request.more_mail) put_record(p, kFieldMoreMail, "1");
  if (request.release_wanted) put_record(p, kFieldReleaseWanted, "1");
  return framed(kRequest, p);
}

std::string encode_reply(const AgentReply& reply) {
  std::string p;
  put_record(p, kFieldVersion, kProtocolVersion);
  put_record(p, kFieldId, fmt::format("{}", reply.id));
  for (const RecipientReply& r : reply.recipients) {
    std::string rp;
    put_record(rp, kFieldIndex, fmt::format("{}", r.index));
    put_record(rp, kFieldOutcome, std::string(1, static_cast<char>(r.outcome)));
    put_optional(rp, kFieldStatus, r.status);
    // A reason longer than a record is cut: it is a log text.
    put_optional(rp, kFieldReason, std::string_view(r.reason).substr(0, 64 * 1024));
    put_optional(rp, kFieldDiagnostic, std::string_view(r.diagnostic).substr(0, 64 * 1024));
    put_optional(rp, kFieldRelay, r.relay);
    put_optional(rp, kFieldAction, r.action);
    for (const std::string& key : r.done_actions) put_record(rp, kFieldDoneAction, key);
    put_record(p, kFieldRecipient, rp);
  }
  put_optional(p, kFieldDestinationFailure, reply.destination_failure);
  if (reply.results_follow) put_record(p, kFieldResultsFollow, "1");
  return framed(kReply, p);
}

Result<std::optional<AgentRequest>> take_request(std::string& buffer) {
  AgentRequest d;
  MessageHead head;
  bool has_transport = false;
  auto field = [&](const Record& f) -> Status {
    switch (f.type) {
      case kFieldTransport:
        d.transport = std::string(f.payload);
        has_transport = true;
        return {};
      case kFieldNextHop:
        d.next_hop = std::string(f.payload);
        return {};
      case kFieldAfterRestart:
        if (f.payload != "1" || d.after_restart) return make_error("bad after-restart flag");
        d.after_restart = true;
        return {};
      case kFieldMoreMail:
        if (f.payload != "1" || d.more_mail) return make_error("bad more-mail flag");
        d.more_mail = true;
        return {};
      case kFieldReleaseWanted:
        if (f.payload != "1" || d.release_wanted) return make_error("bad release-wanted flag");
        d.release_wanted = true;
        return {};
      case kFieldRecipient: {
        auto r = decode_request_recipient(f.payload);
        if (!r) return r.error();
        d.recipients.push_back(std::move(*r));
        return {};
      }
      default:
        return make_error("unknown request field");
    }
  };
  auto taken = take_fields(buffer, kRequest, MessageKind::kRequest, head, field);
  if (!taken) return taken.error();
  if (!*taken) return std::optional<AgentRequest>();
  if (!head.has_id || !head.has_queue_id || !has_transport || d.recipients.empty()) {
    return make_error("incomplete request");
  }
  fill_request(head, d);
  return std::optional<AgentRequest>(std::move(d));
}

Result<std::optional<AgentReply>> take_reply(std::string& buffer) {
  AgentReply a;
  MessageHead head;
  auto field = [&](const Record& f) -> Status {
    switch (f.type) {
      case kFieldRecipient: {
        auto r = decode_reply_recipient(f.payload);
        if (!r) return r.error();
        a.recipients.push_back(std::move(*r));
        return {};
      }
      case kFieldDestinationFailure:
        a.destination_failure = std::string(f.payload);
        return {};
      case kFieldResultsFollow:
        if (f.payload != "1" || a.results_follow) return make_error("bad results-follow flag");
        a.results_follow = true;
        return {};
      default:
        return make_error("unknown reply field");
    }
  };
  auto taken = take_fields(buffer, kReply, MessageKind::kReply, head, field);
  if (!taken) return taken.error();
  if (!*taken) return std::optional<AgentReply>();
  if (!head.has_id) return make_error("incomplete reply");
  if (a.results_follow && (!a.recipients.empty() || !a.destination_failure.empty())) {
    return make_error("a reply whose results follow carries results");
  }
  a.id = head.id;
  return std::optional<AgentReply>(std::move(a));
}

}  // namespace estafeta::qmgr

namespace estafeta::qmgr {

std::string encode_bounce_request(const BounceRequest& request) {
  std::string p;
  put_record(p, kFieldVersion, kProtocolVersion);
  put_record(p, kFieldId, fmt::format("{}", request.id));
  put_record(p, kFieldQueueId, request.queue_id);
  put_record(p, kFieldQueue, request.queue);
  put_record(p, kFieldKind, std::string(1, static_cast<char>(request.kind)));
  for (const NoticeFacts& r : request.recipients) {
    std::string rp;
    put_record(rp, kFieldIndex, fmt::format("{}", r.index));
    put_record(rp, kFieldAddress, r.address);
    put_optional(rp, kFieldStatus, r.status);
    put_optional(rp, kFieldReason, text_field(r.reason));
    put_optional(rp, kFieldDiagnostic, text_field(r.diagnostic));
    put_optional(rp, kFieldRelay, r.remote_mta);
    if (r.last_attempt_us > 0) {
      put_record(rp, kFieldLastAttempt, fmt::format("{}", r.last_attempt_us));
    }
    put_optional(rp, kFieldAction, r.action);
    put_record(p, kFieldRecipient, rp);
  }
  return framed(kBounceRequest, p);
}

std::string encode_bounce_reply(const BounceReply& reply) {
  std::string p;
  put_record(p, kFieldVersion, kProtocolVersion);
  put_record(p, kFieldId, fmt::format("{}", reply.id));
  for (const std::string& id : reply.notice_ids) put_record(p, kFieldNoticeId, id);
  put_optional(p, kFieldError, text_field(reply.error));
  return framed(kBounceReply, p);
}

Result<std::optional<BounceRequest>> take_bounce_request(std::string& buffer) {
  BounceRequest d;
  MessageHead head;
  bool has_kind = false;
  auto field = [&](const Record& f) -> Status {
    switch (f.type) {
      case kFieldKind:
        if (f.payload.size() != 1 || !valid_kind(f.payload[0])) return make_error("bad kind");
        d.kind = static_cast<NoticeRequestKind>(f.payload[0]);
        has_kind = true;
        return {};
      case kFieldRecipient: {
        auto r = decode_notice_facts(f.payload);
        if (!r) return r.error();
        d.recipients.push_back(std::move(*r));
        return {};
      }
      default:
        return make_error("unknown bounce request field");
    }
  };
  auto taken = take_fields(buffer, kBounceRequest, MessageKind::kRequest, head, field);
  if (!taken) return taken.error();
  if (!*taken) return std::optional<BounceRequest>();
  if (!head.has_id || !head.has_queue_id || !has_kind || d.recipients.empty()) {
    return make_error("incomplete bounce request");
  }
  fill_request(head, d);
  return std::optional<BounceRequest>(std::move(d));
}

Result<std::optional<BounceReply>> take_bounce_reply(std::string& buffer) {
  BounceReply a;
  MessageHead head;
  auto field = [&](const Record& f) -> Status {
    switch (f.type) {
      case kFieldNoticeId:
        if (f.payload.empty()) return make_error("empty notice id");
        a.notice_ids.emplace_back(f.payload);
        return {};
      case kFieldError:
        a.error = std::string(f.payload);
        return {};
      default:
        return make_error("unknown bounce reply field");
    }
  };
  auto taken = take_fields(buffer, kBounceReply, MessageKind::kReply, head, field);
  if (!taken) return taken.error();
  if (!*taken) return std::optional<BounceReply>();
  if (!head.has_id) return make_error("incomplete bounce reply");
  if (!a.error.empty() && !a.notice_ids.empty()) {
    return make_error("bounce reply with both notices and an error");
  }
  a.id = head.id;
  return std::optional<BounceReply>(std::move(a));
}

}  // namespace estafeta::qmgr
