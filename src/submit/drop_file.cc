// Maildrop file codec (see drop_file.h).
#include "submit/drop_file.h"

#include <fmt/format.h>

#include "queue/record.h"

namespace estafeta::submit {
namespace {

constexpr std::string_view kVersion = "1";

void put_content(std::string& out, std::string_view content) {
  while (!content.empty()) {
    const size_t n = std::min(content.size(), queue::kMaxRecordPayload);
    queue::put_record(out, 'C', content.substr(0, n));
    content.remove_prefix(n);
  }
}

// The field a once-only record type fills, or null.
std::string* single_field(DropRequest& r, char type) {
  switch (type) {
    case 'F': return &r.full_name;
    case 'N': return &r.notify;
    case 'X': return &r.ret;
    case 'E': return &r.envid;
    case 'B': return &r.body_type;
    default: return nullptr;
  }
}

}  // namespace

std::string encode_drop_file(const DropRequest& r) {
  std::string out;
  queue::put_record(out, 'V', kVersion);
  if (r.sender) queue::put_record(out, 'S', *r.sender);
  if (!r.full_name.empty()) queue::put_record(out, 'F', r.full_name);
  if (r.extract_recipients) queue::put_record(out, 'T', "");
  if (!r.notify.empty()) queue::put_record(out, 'N', r.notify);
  if (!r.ret.empty()) queue::put_record(out, 'X', r.ret);
  if (!r.envid.empty()) queue::put_record(out, 'E', r.envid);
  if (!r.body_type.empty()) queue::put_record(out, 'B', r.body_type);
  for (const auto& rcpt : r.recipients) queue::put_record(out, 'R', rcpt);
  put_content(out, r.content);
  queue::put_record(out, 'Z', std::to_string(r.content.size()));
  return out;
}

Result<DropRequest> parse_drop_file(std::string_view bytes) {
  DropRequest r;
  size_t pos = 0;
  std::string seen;  // once-only record types met so far
  bool in_content = false;
  bool ended = false;
  while (pos < bytes.size()) {
    if (ended) return make_error(fmt::format("data after the end record at offset {}", pos));
    auto record = queue::next_record(bytes, pos);
    if (!record.ok()) return record.error();
    const char type = record->type;
    const std::string_view payload = record->payload;
    if (record->offset == 0) {
      if (type != 'V') return make_error("not a maildrop file (no version record)");
      if (payload != kVersion) {
        return make_error(fmt::format("maildrop file version {} is not supported", payload));
      }
      continue;
    }
    if (type == 'C') {
      in_content = true;
      r.content.append(payload);
      continue;
    }
    if (type == 'Z') {
      auto size = queue::parse_decimal(payload);
      if (!size || uint64_t(*size) != r.content.size()) {
        return make_error(fmt::format("content size {} does not match the end record {}",
                                      r.content.size(), payload));
      }
      ended = true;
      continue;
    }
    if (in_content) {
      return make_error(fmt::format("record {} after the content at offset {}", type,
                                    record->offset));
    }
    if (type == 'R') {
      r.recipients.emplace_back(payload);
      continue;
    }
    if (type != 'S' && type != 'T' && single_field(r, type) == nullptr) {
      return make_error(fmt::format("unknown record type 0x{:02x} at offset {}",
                                    static_cast<unsigned char>(type), record->offset));
    }
    if (seen.find(type) != std::string::npos) {
      return make_error(fmt::format("record {} repeated at offset {}", type, record->offset));
    }
    seen.push_back(type);
    if (type == 'S') {
      r.sender = std::string(payload);
    } else if (type == 'T') {
      r.extract_recipients = true;
    } else {
      *single_field(r, type) = std::string(payload);
    }
  }
  if (!ended) return make_error("truncated maildrop file (no end record)");
  return r;
}

}  // namespace estafeta::submit
