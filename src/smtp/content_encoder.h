// smtp::ContentEncoder: queue-file message content -> SMTP DATA wire bytes, streaming.
// Input lines may end in LF or CRLF, split anywhere between calls; output lines end in CRLF
// and a line starting with "." gets one more "." (RFC 5321 §4.5.2). finish() adds the
// end-of-data ".\r\n" (after a CRLF if the content did not end with a line end). Not a
// line folder: lines longer than 998 octets pass through unchanged (Postfix folds over-long
// header lines with smtp_line_length_limit; we do not, the receiver decides). A bare CR
// also ends a line (becomes CRLF), so the wire never carries a bare CR or LF that a lax
// receiver could read as a line end (SMTP smuggling). No 8BITMIME-to-7bit conversion.
// Pure; not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace estafeta::smtp {

class ContentEncoder {
 public:
  /// Wire bytes for `chunk`. A trailing CR is held back until the next byte is known.
  std::string encode(std::string_view chunk);

  /// The rest: a held CR as its CRLF, a CRLF if the last line was unterminated, then
  /// ".\r\n". The encoder is then fresh again (ready for another message).
  std::string finish();

  /// Octets of content (input) seen so far for this message.
  uint64_t content_octets() const { return octets_; }

 private:
  bool line_start_ = true;
  bool held_cr_ = false;
  uint64_t octets_ = 0;
};

}  // namespace estafeta::smtp
