// The record framing shared by queue files (queue/queue_file.h) and status logs
// (queue/status_log.h): a type byte, the payload length as a canonical unsigned LEB128 of
// at most 3 bytes, the payload (at most kMaxRecordPayload bytes). Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace estafeta::queue {

/// Largest payload of one record; longer content is split over several records.
inline constexpr size_t kMaxRecordPayload = 1 << 20;

struct Record {
  char type;
  std::string_view payload;
  uint64_t offset;  // of the type byte
};

/// Appends one record to `out`. Precondition: payload.size() <= kMaxRecordPayload.
void put_record(std::string& out, char type, std::string_view payload);

/// Reads the record at `pos` (which must be < bytes.size()) and advances `pos`. Errors say
/// why the bytes are not a record; those ending in "truncated" mean the bytes stop inside
/// a record that may be whole in a longer input.
Result<Record> next_record(std::string_view bytes, size_t& pos);

/// A canonical non-negative decimal (no sign, no leading zero, at most 18 digits).
std::optional<int64_t> parse_decimal(std::string_view s);

}  // namespace estafeta::queue
