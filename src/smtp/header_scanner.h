// Watches the header section of a message as it streams past and captures the first
// Message-ID header (RFC 5322 §3.6.4) for the "QUEUEID: message-id=<...>" log line.
// Case-insensitive field name, folded continuation lines allowed; the header section ends at
// the first empty line or at the first line that is not a header. Memory is bounded: only
// the field name (<= 100 octets) and the Message-ID value (<= 998 octets) are kept.
// Incremental: any split of the input gives the same result. Pure.
#pragma once

#include <string>
#include <string_view>

namespace estafeta::smtp {

class HeaderScanner {
 public:
  /// Feeds message content (CRLF lines; a bare LF also ends a line).
  void feed(std::string_view content);
  /// The captured Message-ID value, unfolded and trimmed ("<id@host>"), or "".
  std::string message_id() const;

 private:
  enum class State { LineStart, LineStartCr, Name, Value, Body };
  void end_field();

  State state_ = State::LineStart;
  std::string name_;
  std::string value_;
  bool capturing_ = false;  // the current field is Message-ID
  std::string id_;
};

}  // namespace estafeta::smtp
