// smtp::downgrade_mime: an 8-bit message (BODY=8BITMIME) -> a 7-bit body for a server that
// does not announce 8BITMIME (RFC 6152 §3; what Postfix does with
// disable_mime_output_conversion = no). The MIME structure is followed (RFC 2045/2046):
// multipart/* bodies are split at their boundary (nested, multipart/digest parts default to
// message/rfc822) and message/rfc822 bodies are parsed as messages; neither can be encoded
// as a whole, so their parts are converted instead, and their "Content-Transfer-Encoding:
// 8bit" becomes "7bit". Each leaf part (any other type) whose body has an octet >= 128 and
// whose Content-Transfer-Encoding is 7bit, 8bit or absent is re-encoded as quoted-printable
// (RFC 2045 §6.7: "=XX" escapes, soft line breaks so no encoded line exceeds 76 octets,
// trailing space/tab escaped; line breaks stay hard line breaks) and gets
// "Content-Transfer-Encoding: quoted-printable" (plus "MIME-Version: 1.0" in a message
// header that lacks one). Left as they are: header lines with 8-bit octets (the top-level
// ones are smtp/header_encoder.h's, a separate pass), parts declared base64,
// quoted-printable, binary or anything else, and entities nested deeper than 100 levels
// (Postfix's mime_nesting_limit). A multipart's preamble or epilogue with 8-bit octets is
// quoted-printable escaped in place (MIME readers ignore that text). An encoded continuation
// line never starts with "-", so encoding cannot create a boundary line.
// Whole-message (the agent holds the content, bounded by message_size_limit); line ends are
// kept as they come (LF or CRLF), new line ends use the message's first one. Pure.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace estafeta::smtp {

struct MimeDowngrade {
  std::string content;       // the message to send
  bool changed = false;      // something was encoded (else content == the input)
  size_t parts_encoded = 0;  // leaf parts re-encoded as quoted-printable
};

MimeDowngrade downgrade_mime(std::string_view message);

/// RFC 2045 §6.7 quoted-printable of `text`, line by line: each line's end (LF or CRLF) is
/// kept as a hard line break, soft line breaks use `eol`.
std::string encode_quoted_printable(std::string_view text, std::string_view eol = "\r\n");

/// The line end new lines of `message` use: its first one ("\r\n" or "\n"; "\n" when it
/// has none).
std::string_view first_line_end(std::string_view message);

}  // namespace estafeta::smtp
