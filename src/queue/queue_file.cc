// Queue file codec. See queue_file.h and docs/queue-format.md; the record framing is
// queue/record.h.
#include "queue/queue_file.h"

#include <fmt/format.h>
#include <zlib.h>

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

std::string encode_end(uint32_t checksum, uint64_t content_size) {
  std::string out;
  put_record(out, kRecordEnd, fmt::format("{:08x}{:016x}", checksum, content_size));
  return out;
}

std::string encode_end_after(std::string_view head, uint64_t content_size) {
  return encode_end(update_checksum(0, head), content_size);
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
        if (r.payload.size() != kEndRecordSize - 2) return fail(r, "bad END record");
        auto size = parse_hex(r.payload.substr(8));
        if (!size || *size != f_.content.size()) return fail(r, "content size mismatch");
        sum = r.payload.substr(0, 8);
      }
      if (checksum_ == Checksum::kVerify &&
          sum != fmt::format("{:08x}",
                             checksum_with_recipients_as_r(bytes_, r.offset, done_marks_))) {
        // A torn write: the file is not whole.
        return fail(r, "checksum mismatch");
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
