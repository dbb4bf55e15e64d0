// Queue file codec. See queue_file.h and docs/queue-format.md; the record framing is
// queue/record.h.
#include "queue/queue_file.h"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>

#include "queue/record.h"

namespace estafeta::queue {
namespace {

void put_optional(std::string& out, char type, std::string_view payload) {
  if (!payload.empty()) put_record(out, type, payload);
}

}  // namespace

std::string encode_envelope(const message::Envelope& e) {
  std::string out;
  out.reserve(128 + e.sender.size() + e.recipients.size() * 40 + e.helo.size());
  put_record(out, kRecordVersion, kFormatVersion);
  put_record(out, kRecordQueueId, e.queue_id);
  put_record(out, kRecordArrival, fmt::format("{}", e.arrival_us < 0 ? 0 : e.arrival_us));
  put_record(out, kRecordSender, e.sender);
  put_optional(out, kRecordHelo, e.helo);
  put_optional(out, kRecordProtocol, e.protocol);
  put_optional(out, kRecordBodyType, e.body_type);
  if (e.smtputf8) put_record(out, kRecordSmtputf8, "1");
  put_optional(out, kRecordDsnRet, e.dsn_ret);
  put_optional(out, kRecordDsnEnvid, e.dsn_envid);
  put_optional(out, kRecordClientAddress, e.client_address);
  put_optional(out, kRecordClientHostname, e.client_hostname);
  for (const auto& r : e.recipients) {
    // Postfix order: the DSN attributes precede the recipient they belong to.
    put_optional(out, kRecordOrcpt, r.orcpt);
    put_optional(out, kRecordNotify, r.notify);
    put_record(out, kRecordRecipient, r.address);
  }
  put_record(out, kRecordEnvelopeEnd, fmt::format("{:08x}", update_checksum(0, out)));
  return out;
}

std::string encode_content(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() + 8 * (bytes.size() / kMaxRecordPayload + 1));
  while (!bytes.empty()) {
    size_t n = std::min(bytes.size(), kMaxRecordPayload);
    put_record(out, kRecordContent, bytes.substr(0, n));
    bytes.remove_prefix(n);
  }
  return out;
}

uint32_t update_checksum(uint32_t checksum, std::string_view bytes) {
  // zlib takes uInt lengths: feed at most 1 GiB at a time.
  while (!bytes.empty()) {
    const size_t n = std::min<size_t>(bytes.size(), size_t(1) << 30);
    checksum = static_cast<uint32_t>(
        ::crc32(checksum, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(n)));
    bytes.remove_prefix(n);
  }
  return checksum;
}

std::string encode_extracted(const message::ContentActions& actions) {
  if (actions.empty()) return "";
  std::string out;
  put_record(out, kRecordExtracted, "");
  if (actions.hold) put_record(out, kRecordHold, "1");
  put_optional(out, kRecordFilter, actions.filter);
  put_optional(out, kRecordRedirect, actions.redirect);
  std::vector<std::string_view> seen;
  for (const std::string& bcc : actions.bcc) {
    if (bcc.empty() || std::find(seen.begin(), seen.end(), bcc) != seen.end()) continue;
    seen.push_back(bcc);
    put_record(out, kRecordBcc, bcc);
  }
  return out;
}

std::string encode_end(uint32_t checksum, uint64_t content_size,
                       std::optional<uint64_t> extracted_at) {
  std::string out;
  std::string payload = fmt::format("{:08x}{:016x}", checksum, content_size);
  if (extracted_at) payload += fmt::format("{:016x}", *extracted_at);
  put_record(out, kRecordEnd, payload);
  return out;
}

std::string encode_end_after(std::string_view head, uint64_t content_size,
                             std::optional<uint64_t> extracted_at) {
  return encode_end(update_checksum(0, head), content_size, extracted_at);
}

namespace {

std::optional<uint64_t> parse_hex(std::string_view s) {
  uint64_t v = 0;
  if (s.empty()) return std::nullopt;
  for (char c : s) {
    // Lower-case only: one spelling per value.
    int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
    if (d < 0) return std::nullopt;
    v = v * 16 + uint64_t(d);
  }
  return v;
}

}  // namespace

Result<uint64_t> content_size_from_end(std::string_view end_record) {
  if (end_record.size() != kEndRecordSize || end_record[0] != kRecordEnd ||
      static_cast<unsigned char>(end_record[1]) != kEndRecordSize - 2) {
    return make_error("not an END record");
  }
  auto size = parse_hex(end_record.substr(10));
  if (!size || !parse_hex(end_record.substr(2, 8))) return make_error("malformed END record");
  return *size;
}

Result<EndInfo> decode_end_tail(std::string_view tail) {
  if (tail.size() >= kEndRecordSize) {
    std::string_view last = tail.substr(tail.size() - kEndRecordSize);
    if (last[0] == kRecordEnd && static_cast<unsigned char>(last[1]) == kEndRecordSize - 2) {
      auto size = content_size_from_end(last);
      if (!size) return size.error();
      return EndInfo{*size, std::nullopt, kEndRecordSize};
    }
  }
  if (tail.size() < kLongEndRecordSize) return make_error("not an END record");
  std::string_view end = tail.substr(tail.size() - kLongEndRecordSize);
  if (end[0] != kRecordEnd || static_cast<unsigned char>(end[1]) != kLongEndRecordSize - 2) {
    return make_error("not an END record");
  }
  auto size = parse_hex(end.substr(10, 16));
  auto at = parse_hex(end.substr(26));
  if (!parse_hex(end.substr(2, 8)) || !size || !at) return make_error("malformed END record");
  return EndInfo{*size, *at, kLongEndRecordSize};
}

namespace {

// Adds one record of an extracted segment to `actions`; the order rules are the caller's.
Status extracted_record(const Record& r, message::ContentActions& actions) {
  switch (r.type) {
    case kRecordHold:
      if (r.payload != "1") return make_error("bad HOLD record");
      actions.hold = true;
      return {};
    case kRecordFilter:
      actions.filter = std::string(r.payload);
      return {};
    case kRecordRedirect:
      actions.redirect = std::string(r.payload);
      return {};
    case kRecordBcc:
      // One spelling per segment: encode_extracted writes each address once.
      if (std::find(actions.bcc.begin(), actions.bcc.end(), r.payload) != actions.bcc.end()) {
        return make_error("duplicate BCC record");
      }
      actions.bcc.emplace_back(r.payload);
      return {};
    default:
      return make_error("not an extracted record");
  }
}

// The order of an extracted segment's records after EXTRACTED: HOLD, FILTER, REDIRECT once
// each and in this order, then BCC records; none empty. `last` is the previous record type
// (kRecordExtracted for the first).
bool extracted_order_ok(char last, const Record& r) {
  constexpr std::string_view kOrder = "XKFWJ";
  const size_t before = kOrder.find(last), at = kOrder.find(r.type);
  if (at == std::string_view::npos || at == 0 || r.payload.empty()) return false;
  return at > before || (at == before && r.type == kRecordBcc);
}

}  // namespace

Result<message::ContentActions> decode_extracted(std::string_view segment) {
  message::ContentActions actions;
  size_t pos = 0;
  char last = 0;
  while (pos < segment.size()) {
    auto r = next_record(segment, pos);
    if (!r) return r.error();
    if (last == 0) {
      if (r->type != kRecordExtracted || !r->payload.empty()) {
        return make_error("extracted segment without EXTRACTED record");
      }
    } else if (!extracted_order_ok(last, *r)) {
      return make_error(
          fmt::format("offset {}: misplaced record in the extracted segment", r->offset));
    } else if (Status s = extracted_record(*r, actions); !s.ok()) {
      return s.error();
    }
    last = r->type;
  }
  if (last == 0) return make_error("empty extracted segment");
  return actions;
}

void apply_content_actions(message::Envelope& envelope, message::ContentActions actions) {
  std::string single_original;  // the ORCPT the redirect address inherits
  if (envelope.recipients.size() == 1) {
    const message::Recipient& was = envelope.recipients.front();
    single_original = was.orcpt.empty() ? "rfc822;" + was.address : was.orcpt;
  }
  for (const std::string& bcc : actions.bcc) {
    const bool known = std::any_of(envelope.recipients.begin(), envelope.recipients.end(),
                                   [&](const message::Recipient& r) { return r.address == bcc; });
    if (!known) envelope.recipients.push_back({bcc, "", "NEVER"});
  }
  if (!actions.redirect.empty()) {
    message::Recipient only{actions.redirect, std::move(single_original), ""};
    envelope.redirected_from = std::move(envelope.recipients);
    envelope.recipients = {std::move(only)};
  }
  envelope.actions = std::move(actions);
}

namespace {

// The checksum of bytes[0, end) with the type byte at each offset in `done_marks` read as
// 'R' (version 1 files: marking a recipient done in place kept the checksum).
uint32_t checksum_with_recipients_as_r(std::string_view bytes, size_t end,
                                       const std::vector<uint64_t>& done_marks) {
  uint32_t c = 0;
  size_t pos = 0;
  for (uint64_t at : done_marks) {
    c = update_checksum(c, bytes.substr(pos, at - pos));
    const char r = kRecordRecipient;
    c = update_checksum(c, std::string_view(&r, 1));
    pos = at + 1;
  }
  return update_checksum(c, bytes.substr(pos, end - pos));
}

// Decodes records from the start of a file. Shared by decode_queue_file (whole files of
// either version) and decode_envelope (a prefix of a version 2 file, up to ENVELOPE END).
class Decoder {
 public:
  enum class Stop { kAtEnvelopeEnd, kAtEnd };
  Decoder(std::string_view bytes, Checksum checksum, Stop stop)
      : bytes_(bytes), checksum_(checksum), stop_(stop) {}

  // Runs until the stop record. `truncated` is set (and an error returned) when the bytes
  // end before it, so that decode_envelope can ask for more.
  Status run();
  bool truncated() const { return truncated_; }
  QueueFile& file() { return f_; }
  size_t position() const { return pos_; }

 private:
  Status record(const Record& r);
  Error fail(const Record& r, std::string_view why) const {
    return make_error(fmt::format("offset {}: record '{}': {}", r.offset,
                                  (r.type >= 0x21 && r.type < 0x7f) ? r.type : '?', why));
  }
  bool once(char type) {
    auto& s = seen_[static_cast<unsigned char>(type)];
    if (s) return false;
    s = true;
    return true;
  }
  Status check_required(const Record& r, std::string_view before) const;

  std::string_view bytes_;
  Checksum checksum_;
  Stop stop_;
  QueueFile f_;
  std::array<bool, 256> seen_{};  // single-valued records seen so far, by type byte
  // Pending DSN parameters for the next recipient record. (Plain values with flags, not
  // std::optional: GCC 12 -O2 reports a false maybe-uninitialized on optional<string_view>.)
  std::string_view orcpt_, notify_;
  bool has_orcpt_ = false, has_notify_ = false;
  bool envelope_ended_ = false;  // version 2: ENVELOPE END seen
  bool in_content_ = false;
  bool done_ = false;
  // The extracted segment: where its EXTRACTED record is, the last record type in it.
  std::optional<uint64_t> extracted_at_;
  char extracted_last_ = 0;
  message::ContentActions actions_;
  bool truncated_ = false;
  std::vector<uint64_t> done_marks_;  // version 1: offsets of recipients marked done
  size_t pos_ = 0;
};

Status Decoder::run() {
  while (!done_) {
    if (pos_ >= bytes_.size()) {
      truncated_ = true;
      return make_error(stop_ == Stop::kAtEnd ? "no END record: incomplete file"
                                              : "no ENVELOPE END record: incomplete envelope");
    }
    const size_t start = pos_;
    auto rec = next_record(bytes_, pos_);
    if (!rec) {
      // A record cut off by the end of the bytes: incomplete (a prefix), not malformed.
      std::string_view why = rec.error().message;
      truncated_ = why.ends_with("truncated");
      pos_ = start;
      return rec.error();
    }
    if (Status s = record(*rec); !s.ok()) return s;
  }
  return {};
}

Status Decoder::check_required(const Record& r, std::string_view before) const {
  for (char required : {kRecordQueueId, kRecordArrival, kRecordSender}) {
    if (!seen_[static_cast<unsigned char>(required)]) {
      return fail(r, fmt::format("{} before required record '{}'", before, required));
    }
  }
  if (f_.envelope.recipients.empty()) return fail(r, fmt::format("{} without recipients", before));
  return {};
}

Status Decoder::record(const Record& r) {
  if (r.offset == 0 && r.type != kRecordVersion) return fail(r, "file must start with V");
  if ((has_orcpt_ || has_notify_) && r.type != kRecordOrcpt && r.type != kRecordNotify &&
      r.type != kRecordRecipient && r.type != kRecordRecipientDone) {
    return fail(r, "DSN attribute not followed by a recipient");
  }
  if (extracted_at_ && r.type != kRecordEnd) {
    if (!extracted_order_ok(extracted_last_, r))
      return fail(r, "misplaced in the extracted segment");
    if (Status s = extracted_record(r, actions_); !s.ok()) return fail(r, s.error().message);
    extracted_last_ = r.type;
    return {};
  }
  if (r.type == kRecordExtracted) {
    if (f_.version != 2 || !envelope_ended_) return fail(r, "EXTRACTED before ENVELOPE END");
    if (!r.payload.empty()) return fail(r, "bad EXTRACTED record");
    extracted_at_ = r.offset;
    extracted_last_ = kRecordExtracted;
    return {};
  }
  const bool envelope_closed = in_content_ || envelope_ended_;
  if (envelope_closed && r.type != kRecordContent && r.type != kRecordEnd) {
    return fail(r, in_content_ ? "envelope record after content"
                               : "envelope record after ENVELOPE END");
  }
  auto text = [&]() { return std::string(r.payload); };
  auto single = [&](std::string& field) -> Status {
    if (!once(r.type)) return fail(r, "duplicate");
    field = text();
    return {};
  };
  message::Envelope& e = f_.envelope;
  switch (r.type) {
    case kRecordVersion:
      if (!once(r.type)) return fail(r, "duplicate");
      if (r.payload == kFormatVersion) {
        f_.version = 2;
      } else if (r.payload == kFormatVersion1) {
        f_.version = 1;
        if (stop_ == Stop::kAtEnvelopeEnd) {
          return fail(r, "version 1 file: no envelope checksum, decode the whole file");
        }
      } else {
        return fail(r, "unsupported format version");
      }
      return {};
    case kRecordQueueId: return single(e.queue_id);
    case kRecordArrival: {
      if (!once(r.type)) return fail(r, "duplicate");
      auto v = parse_decimal(r.payload);
      if (!v) return fail(r, "bad arrival time");
      e.arrival_us = *v;
      return {};
    }
    case kRecordSender: return single(e.sender);
    case kRecordHelo: return single(e.helo);
    case kRecordProtocol: return single(e.protocol);
    case kRecordBodyType: return single(e.body_type);
    case kRecordSmtputf8:
      if (!once(r.type)) return fail(r, "duplicate");
      if (r.payload != "1") return fail(r, "bad SMTPUTF8 flag");
      e.smtputf8 = true;
      return {};
    case kRecordDsnRet: return single(e.dsn_ret);
    case kRecordDsnEnvid: return single(e.dsn_envid);
    case kRecordClientAddress: return single(e.client_address);
    case kRecordClientHostname: return single(e.client_hostname);
    case kRecordOrcpt:
      if (has_orcpt_) return fail(r, "duplicate ORCPT for one recipient");
      orcpt_ = r.payload;
      has_orcpt_ = true;
      return {};
    case kRecordNotify:
      if (has_notify_) return fail(r, "duplicate NOTIFY for one recipient");
      notify_ = r.payload;
      has_notify_ = true;
      return {};
    case kRecordRecipientDone:
      if (f_.version != 1) return fail(r, "done mark in a version 2 file");
      done_marks_.push_back(r.offset);
      [[fallthrough]];
    case kRecordRecipient: {
      message::Recipient rcpt;
      rcpt.address = text();
      rcpt.orcpt = std::string(orcpt_);
      rcpt.notify = std::string(notify_);
      has_orcpt_ = has_notify_ = false;
      orcpt_ = notify_ = {};
      e.recipients.push_back(std::move(rcpt));
      f_.recipient_done.push_back(r.type == kRecordRecipientDone);
      return {};
    }
    case kRecordEnvelopeEnd: {
      if (f_.version != 2) return fail(r, "ENVELOPE END in a version 1 file");
      if (!once(r.type)) return fail(r, "duplicate");
      if (Status s = check_required(r, "ENVELOPE END"); !s.ok()) return s;
      if (checksum_ == Checksum::kVerify &&
          r.payload != fmt::format("{:08x}", update_checksum(0, bytes_.substr(0, r.offset)))) {
        return fail(r, "envelope checksum mismatch");
      }
      envelope_ended_ = true;
      if (stop_ == Stop::kAtEnvelopeEnd) done_ = true;
      return {};
    }
    case kRecordContent:
      if (!in_content_) {
        if (Status s = check_required(r, "content"); !s.ok()) return s;
        if (f_.version == 2 && !envelope_ended_) return fail(r, "content before ENVELOPE END");
        in_content_ = true;
      }
      f_.content.append(r.payload);
      return {};
    case kRecordEnd: {
      if (Status s = check_required(r, "END"); !s.ok()) return s;
      std::string_view sum = r.payload;
      if (f_.version == 2) {
        if (!envelope_ended_) return fail(r, "END before ENVELOPE END");
        const size_t want = (extracted_at_ ? kLongEndRecordSize : kEndRecordSize) - 2;
        if (r.payload.size() != want) return fail(r, "bad END record");
        auto size = parse_hex(r.payload.substr(8, 16));
        if (!size || *size != f_.content.size()) return fail(r, "content size mismatch");
        if (extracted_at_ && parse_hex(r.payload.substr(24)) != extracted_at_) {
          return fail(r, "extracted segment offset mismatch");
        }
        sum = r.payload.substr(0, 8);
      }
      if (checksum_ == Checksum::kVerify &&
          sum != fmt::format("{:08x}",
                             checksum_with_recipients_as_r(bytes_, r.offset, done_marks_))) {
        // A torn write: the file is not whole.
        return fail(r, "checksum mismatch");
      }
      if (extracted_at_) {
        if (extracted_last_ == kRecordExtracted) return fail(r, "empty extracted segment");
        apply_content_actions(f_.envelope, std::move(actions_));
      }
      done_ = true;
      return {};
    }
    default:
      return fail(r, "unknown record type");
  }
}

}  // namespace

Result<QueueFile> decode_queue_file(std::string_view bytes, Checksum checksum) {
  Decoder d(bytes, checksum, Decoder::Stop::kAtEnd);
  if (Status s = d.run(); !s.ok()) return s.error();
  if (d.file().version == 2 && d.position() != bytes.size()) {
    return make_error(fmt::format("offset {}: bytes after END", d.position()));
  }
  return std::move(d.file());
}

Result<std::optional<EnvelopeHead>> decode_envelope(std::string_view prefix) {
  Decoder d(prefix, Checksum::kVerify, Decoder::Stop::kAtEnvelopeEnd);
  if (Status s = d.run(); !s.ok()) {
    if (d.truncated()) return std::optional<EnvelopeHead>();
    return s.error();
  }
  return std::optional<EnvelopeHead>(EnvelopeHead{std::move(d.file().envelope), d.position()});
}

}  // namespace estafeta::queue
