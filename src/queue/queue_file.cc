// Queue file record codec. See queue_file.h and docs/queue-format.md.
// Record = type byte, payload length as a canonical LEB128 varint (at most 3 bytes because
// payloads are capped at kMaxRecordPayload), payload bytes.
#include "queue/queue_file.h"

#include <fmt/format.h>
#include <zlib.h>

#include <array>
#include <charconv>
#include <optional>

namespace estafeta::queue {
namespace {

void put_record(std::string& out, char type, std::string_view payload) {
  out.push_back(type);
  size_t n = payload.size();
  do {
    unsigned char byte = n & 0x7f;
    n >>= 7;
    if (n != 0) byte |= 0x80;
    out.push_back(static_cast<char>(byte));
  } while (n != 0);
  out.append(payload);
}

void put_optional(std::string& out, char type, std::string_view payload) {
  if (!payload.empty()) put_record(out, type, payload);
}

std::optional<int64_t> parse_decimal(std::string_view s) {
  if (s.empty() || s.size() > 18 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

struct Record {
  char type;
  std::string_view payload;
  uint64_t offset;
};

// Reads the record at `pos`; advances `pos`. Errors say why the bytes are not a record.
Result<Record> next_record(std::string_view bytes, size_t& pos) {
  const size_t start = pos;
  Record r{bytes[pos], {}, start};
  ++pos;
  size_t length = 0;
  int shift = 0;
  for (int i = 0;; ++i) {
    if (pos >= bytes.size()) {
      return make_error(fmt::format("offset {}: record length truncated", start));
    }
    unsigned char b = static_cast<unsigned char>(bytes[pos++]);
    if (i == 3) return make_error(fmt::format("offset {}: record length too long", start));
    length |= size_t(b & 0x7f) << shift;
    shift += 7;
    if ((b & 0x80) == 0) {
      // Canonical form only: no trailing zero groups (one spelling per length).
      if (i > 0 && b == 0) {
        return make_error(fmt::format("offset {}: non-canonical record length", start));
      }
      break;
    }
  }
  if (length > kMaxRecordPayload) {
    return make_error(fmt::format("offset {}: record length {} too large", start, length));
  }
  if (bytes.size() - pos < length) {
    return make_error(fmt::format("offset {}: record truncated", start));
  }
  r.payload = bytes.substr(pos, length);
  pos += length;
  return r;
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

std::string encode_end(uint32_t checksum) {
  std::string out;
  put_record(out, kRecordEnd, fmt::format("{:08x}", checksum));
  return out;
}

std::string encode_end_after(std::string_view head) {
  return encode_end(update_checksum(0, head));
}

namespace {

// The checksum of bytes[0, end) with the type byte at each recipient offset read as 'R'.
uint32_t checksum_with_recipients_as_r(std::string_view bytes, size_t end,
                                       const std::vector<uint64_t>& recipient_offsets) {
  uint32_t c = 0;
  size_t pos = 0;
  for (uint64_t at : recipient_offsets) {
    c = update_checksum(c, bytes.substr(pos, at - pos));
    const char r = kRecordRecipient;
    c = update_checksum(c, std::string_view(&r, 1));
    pos = at + 1;
  }
  return update_checksum(c, bytes.substr(pos, end - pos));
}

}  // namespace

Result<QueueFile> decode_queue_file(std::string_view bytes, Checksum checksum) {
  QueueFile f;
  // Single-valued records seen so far, by type byte.
  std::array<bool, 256> seen{};
  // Pending DSN parameters for the next recipient record. (Plain values with flags, not
  // std::optional: GCC 12 -O2 reports a false maybe-uninitialized on optional<string_view>.)
  std::string_view orcpt, notify;
  bool has_orcpt = false, has_notify = false;
  bool in_content = false;
  bool ended = false;
  size_t pos = 0;
  // Bytes after the END record are the stale tail of a reused file (queue::Spool reuses
  // finished queue files without truncating them): not part of this file.
  while (pos < bytes.size() && !ended) {
    auto rec = next_record(bytes, pos);
    if (!rec) return rec.error();
    const Record& r = *rec;
    auto fail = [&](std::string_view why) -> Error {
      return make_error(fmt::format("offset {}: record '{}': {}", r.offset,
                                    (r.type >= 0x21 && r.type < 0x7f) ? r.type : '?', why));
    };
    if (r.offset == 0 && r.type != kRecordVersion) return fail("file must start with V");
    if ((has_orcpt || has_notify) && r.type != kRecordOrcpt && r.type != kRecordNotify &&
        r.type != kRecordRecipient && r.type != kRecordRecipientDone) {
      return fail("DSN attribute not followed by a recipient");
    }
    if (in_content && r.type != kRecordContent && r.type != kRecordEnd) {
      return fail("envelope record after content");
    }
    auto once = [&]() -> bool {
      unsigned char t = static_cast<unsigned char>(r.type);
      if (seen[t]) return false;
      seen[t] = true;
      return true;
    };
    auto text = [&]() { return std::string(r.payload); };
    switch (r.type) {
      case kRecordVersion:
        if (!once()) return fail("duplicate");
        if (r.payload != kFormatVersion) return fail("unsupported format version");
        break;
      case kRecordQueueId:
        if (!once()) return fail("duplicate");
        f.envelope.queue_id = text();
        break;
      case kRecordArrival: {
        if (!once()) return fail("duplicate");
        auto v = parse_decimal(r.payload);
        if (!v) return fail("bad arrival time");
        f.envelope.arrival_us = *v;
        break;
      }
      case kRecordSender:
        if (!once()) return fail("duplicate");
        f.envelope.sender = text();
        break;
      case kRecordHelo:
        if (!once()) return fail("duplicate");
        f.envelope.helo = text();
        break;
      case kRecordProtocol:
        if (!once()) return fail("duplicate");
        f.envelope.protocol = text();
        break;
      case kRecordBodyType:
        if (!once()) return fail("duplicate");
        f.envelope.body_type = text();
        break;
      case kRecordSmtputf8:
        if (!once()) return fail("duplicate");
        if (r.payload != "1") return fail("bad SMTPUTF8 flag");
        f.envelope.smtputf8 = true;
        break;
      case kRecordDsnRet:
        if (!once()) return fail("duplicate");
        f.envelope.dsn_ret = text();
        break;
      case kRecordDsnEnvid:
        if (!once()) return fail("duplicate");
        f.envelope.dsn_envid = text();
        break;
      case kRecordClientAddress:
        if (!once()) return fail("duplicate");
        f.envelope.client_address = text();
        break;
      case kRecordClientHostname:
        if (!once()) return fail("duplicate");
        f.envelope.client_hostname = text();
        break;
      case kRecordOrcpt:
        if (has_orcpt) return fail("duplicate ORCPT for one recipient");
        orcpt = r.payload;
        has_orcpt = true;
        break;
      case kRecordNotify:
        if (has_notify) return fail("duplicate NOTIFY for one recipient");
        notify = r.payload;
        has_notify = true;
        break;
      case kRecordRecipient:
      case kRecordRecipientDone: {
        message::Recipient rcpt;
        rcpt.address = text();
        rcpt.orcpt = std::string(orcpt);
        rcpt.notify = std::string(notify);
        has_orcpt = has_notify = false;
        orcpt = notify = {};
        f.envelope.recipients.push_back(std::move(rcpt));
        f.recipient_done.push_back(r.type == kRecordRecipientDone);
        f.recipient_offsets.push_back(r.offset);
        break;
      }
      case kRecordContent:
        if (!in_content) {
          for (char required : {kRecordQueueId, kRecordArrival, kRecordSender}) {
            if (!seen[static_cast<unsigned char>(required)]) {
              return fail(fmt::format("content before required record '{}'", required));
            }
          }
          if (f.envelope.recipients.empty()) return fail("content before any recipient");
          in_content = true;
        }
        f.content.append(r.payload);
        break;
      case kRecordEnd: {
        if (checksum == Checksum::kVerify &&
            r.payload != fmt::format("{:08x}", checksum_with_recipients_as_r(
                                                    bytes, r.offset, f.recipient_offsets))) {
          // A torn write, or a reused file whose new bytes did not all reach the disk.
          return fail("checksum mismatch");
        }
        if (f.envelope.recipients.empty()) return fail("END without recipients");
        for (char required : {kRecordQueueId, kRecordArrival, kRecordSender}) {
          if (!seen[static_cast<unsigned char>(required)]) {
            return fail(fmt::format("END before required record '{}'", required));
          }
        }
        ended = true;
        break;
      }
      default:
        return fail("unknown record type");
    }
  }
  if (!ended) return make_error("no END record: incomplete file");
  return f;
}

}  // namespace estafeta::queue
