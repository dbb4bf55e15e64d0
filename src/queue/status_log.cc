// Status log codec. See status_log.h and docs/queue-format.md.
#include "queue/status_log.h"

#include <fmt/format.h>

#include <iterator>

#include "queue/queue_file.h"
#include "queue/record.h"

namespace estafeta::queue {
namespace {

constexpr char kEntry = 'W';
// Fields inside an entry's payload.
constexpr char kFieldKind = 'k';
constexpr char kFieldRecipient = 'i';
constexpr char kFieldTime = 't';
constexpr char kFieldDsn = 's';
constexpr char kFieldRelay = 'm';
constexpr char kFieldReason = 'r';
constexpr size_t kChecksumDigits = 8;

bool valid_kind(char c) {
  switch (static_cast<StatusKind>(c)) {
    case StatusKind::kDelivered:
    case StatusKind::kBounced:
    case StatusKind::kDeferred:
    case StatusKind::kDelayWarned:
    case StatusKind::kActionDone:
      return true;
  }
  return false;
}

// Longest reason kept; a longer one is cut when encoded (it is a log text, not content).
constexpr size_t kMaxReason = kMaxRecordPayload / 2;

// The fields of one entry, in the one order encode_status_entry writes them (kind, index,
// time, then dsn, relay and reason when not empty): one spelling per entry. An error names
// what is wrong.
Result<StatusEntry> decode_fields(std::string_view payload) {
  static constexpr char kOrder[] = {kFieldKind, kFieldRecipient, kFieldTime,
                                    kFieldDsn,  kFieldRelay,     kFieldReason};
  StatusEntry e;
  size_t next = 0;  // index in kOrder of the earliest field still allowed
  size_t pos = 0;
  while (pos < payload.size()) {
    auto rec = next_record(payload, pos);
    if (!rec) return rec.error();
    size_t at = next;
    while (at < std::size(kOrder) && kOrder[at] != rec->type) ++at;
    if (at == std::size(kOrder)) return make_error("unknown, repeated or misplaced field");
    if (next < 3 && at != next) return make_error("missing field");
    next = at + 1;
    switch (rec->type) {
      case kFieldKind:
        if (rec->payload.size() != 1 || !valid_kind(rec->payload[0])) {
          return make_error("bad kind");
        }
        e.kind = static_cast<StatusKind>(rec->payload[0]);
        break;
      case kFieldRecipient: {
        auto v = parse_decimal(rec->payload);
        if (!v || *v > UINT32_MAX) return make_error("bad recipient index");
        e.recipient = static_cast<uint32_t>(*v);
        break;
      }
      case kFieldTime: {
        auto v = parse_decimal(rec->payload);
        if (!v) return make_error("bad time");
        e.time_us = *v;
        break;
      }
      default: {
        if (rec->payload.empty()) return make_error("empty field");
        if (rec->type == kFieldReason && rec->payload.size() > kMaxReason) {
          return make_error("reason too long");
        }
        std::string& field = rec->type == kFieldDsn     ? e.dsn
                             : rec->type == kFieldRelay ? e.relay
                                                        : e.reason;
        field = std::string(rec->payload);
        break;
      }
    }
  }
  if (next < 3) return make_error("missing field");
  return e;
}

}  // namespace

std::string encode_status_entry(const StatusEntry& entry) {
  std::string payload;
  put_record(payload, kFieldKind, std::string_view(reinterpret_cast<const char*>(&entry.kind), 1));
  put_record(payload, kFieldRecipient, fmt::format("{}", entry.recipient));
  put_record(payload, kFieldTime, fmt::format("{}", entry.time_us < 0 ? 0 : entry.time_us));
  if (!entry.dsn.empty()) put_record(payload, kFieldDsn, entry.dsn);
  if (!entry.relay.empty()) put_record(payload, kFieldRelay, entry.relay);
  if (!entry.reason.empty()) {
    put_record(payload, kFieldReason, std::string_view(entry.reason).substr(0, kMaxReason));
  }
  std::string out;
  put_record(out, kEntry, payload);
  out += fmt::format("{:08x}", update_checksum(0, out));
  return out;
}

StatusLog decode_status_log(std::string_view bytes) {
  StatusLog log;
  size_t pos = 0;
  while (pos < bytes.size()) {
    const size_t start = pos;
    auto stop = [&](std::string reason) {
      log.torn_reason = fmt::format("offset {}: {}", start, std::move(reason));
      return log;
    };
    if (bytes[pos] != kEntry) return stop("not an entry");
    auto rec = next_record(bytes, pos);
    if (!rec) return stop(rec.error().message);
    if (bytes.size() - pos < kChecksumDigits) return stop("checksum truncated");
    const std::string_view framed = bytes.substr(start, pos - start);
    if (bytes.substr(pos, kChecksumDigits) != fmt::format("{:08x}", update_checksum(0, framed))) {
      return stop("checksum mismatch");
    }
    pos += kChecksumDigits;
    auto entry = decode_fields(rec->payload);
    if (!entry) return stop(entry.error().message);
    log.entries.push_back(std::move(*entry));
    log.valid_length = pos;
  }
  return log;
}

std::vector<RecipientState> fold_status(const StatusLog& log, size_t recipients) {
  std::vector<RecipientState> states(recipients);
  for (const StatusEntry& e : log.entries) {
    if (e.kind == StatusKind::kDelayWarned || e.recipient >= recipients) continue;
    RecipientState& s = states[e.recipient];
    if (s.done) continue;  // the first final outcome stands
    if (e.kind == StatusKind::kActionDone) {
      s.done_actions.push_back(e.reason);
      continue;
    }
    if (e.kind == StatusKind::kDeferred) {
      s.has_deferral = true;
    } else {
      s.done = true;
    }
    s.last = e;
  }
  return states;
}

bool delay_warning_sent(const StatusLog& log) {
  for (const StatusEntry& e : log.entries) {
    if (e.kind == StatusKind::kDelayWarned) return true;
  }
  return false;
}

}  // namespace estafeta::queue
