// smtp::encode_8bit_headers: a message's 8-bit header text -> RFC 2047 encoded-words, for a
// server that announces neither 8BITMIME nor (for this message) SMTPUTF8, next to the body's
// quoted-printable downgrade (mime_downgrade.h). Only the top-level header section is
// rewritten, and in it only the fields with an octet >= 128; each such field is unfolded,
// then, by its name:
//   address fields (From, Sender, Reply-To, To, Cc, Bcc, their Resent- forms, List-Id,
//     Disposition-Notification-To, Mail-Followup-To, ...): display-name phrases (before
//     "<", or a group name before ":") and comments with 8-bit octets are encoded (RFC 2047
//     §5(2), §5(3): the restricted Q set); addr-specs and everything in angle brackets stay
//     as they are: an 8-bit address needs SMTPUTF8, encoding would break it;
//   structured fields that may carry no encoded-word (Received, Message-ID, Date,
//     References, Content-Type, DKIM-Signature, ...): left as they are;
//   any other field (Subject, Comments, Keywords, X-...): unstructured text: the stretch from
//     its first to its last 8-bit word is encoded (§5(1)), the words around it are kept.
// Encoded-words use charset utf-8 (unknown-8bit, RFC 1428, when the text is not well-formed
// UTF-8), the shorter of Q and B, are at most 75 characters and never split a UTF-8
// sequence; the field is folded at whitespace so lines stay within 76 columns where the
// original words allow. Pure.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace estafeta::smtp {

struct HeaderEncoding {
  std::string content;        // the message to send
  bool changed = false;       // something was encoded (else content == the input)
  size_t fields_encoded = 0;  // fields rewritten
  bool seven_bit = true;      // no 8-bit octet left in the header section
};

/// The message with its top-level header section's 8-bit fields encoded; the body is kept.
/// Line ends as they come; new ones use the message's first line end.
HeaderEncoding encode_8bit_headers(std::string_view message);

/// One header field ("Name: value", folded lines with their ends, the last one included or
/// not) -> the field encoded as above, ending with `eol`; a field without 8-bit octets is
/// returned as it is.
std::string encode_header_field(std::string_view field, std::string_view eol = "\r\n");

/// The inverse, for checking the encoder (tests, the fuzz target): `field`'s value unfolded
/// (line ends before whitespace removed), each well-formed encoded-word replaced by its
/// octets (any charset; Q or B) and the whitespace between two adjacent encoded-words
/// dropped (RFC 2047 §6.2). Nothing else is interpreted.
std::string decode_header_value(std::string_view field);

}  // namespace estafeta::smtp
