// Record framing. See record.h.
#include "queue/record.h"

#include <fmt/format.h>

#include <charconv>

namespace estafeta::queue {

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

std::optional<int64_t> parse_decimal(std::string_view s) {
  if (s.empty() || s.size() > 18 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

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

}  // namespace estafeta::queue
