// Tests for RFC 2047 header encoding (smtp/header_encoder.h): exact vectors (each checked
// by hand with Python's email.header.decode_header), then properties over many texts: 7-bit
// output, lines within 76 columns, encoded-words within 75 characters, no UTF-8 sequence
// split across encoded-words, and the decoded value equal to the original.
#include "smtp/header_encoder.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace estafeta::smtp {
namespace {

bool has_8bit(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) > 127) return true;
  }
  return false;
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t end = s.find("\r\n", pos);
    if (end == std::string::npos) end = s.size();
    out.push_back(s.substr(pos, end - pos));
    pos = end + 2;
  }
  return out;
}

// The encoder's encoded-words in a field ("=?utf-8?..."), one by one.
std::vector<std::string> encoded_words(const std::string& s) {
  std::vector<std::string> out;
  for (size_t at = s.find("=?utf-8?"); at != std::string::npos; at = s.find("=?utf-8?", at)) {
    const size_t end = s.find("?=", at + 10);
    if (end == std::string::npos) break;
    out.push_back(s.substr(at, end + 2 - at));
    at = end + 2;
  }
  return out;
}

// A word that is not an encoded-word and too long to leave room on its line.
bool has_long_plain_word(std::string_view line) {
  size_t pos = 0;
  while (pos < line.size()) {
    size_t end = line.find_first_of(" \t", pos);
    if (end == std::string_view::npos) end = line.size();
    const std::string_view word = line.substr(pos, end - pos);
    if (word.size() > 40 && !word.starts_with("=?utf-8?")) return true;
    pos = end + 1;
  }
  return false;
}

bool well_formed_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

TEST(HeaderEncoderTest, AsciiFieldIsKept) {
  EXPECT_EQ(encode_header_field("Subject: hello\r\n"), "Subject: hello\r\n");
  EXPECT_EQ(encode_header_field("Subject: a\r\n\tb\r\n"), "Subject: a\r\n\tb\r\n");
}

TEST(HeaderEncoderTest, SubjectVectors) {
  // Python: decode_header -> [(b'Caf\xc3\xa9 cr\xc3\xa8me', 'utf-8')]
  EXPECT_EQ(encode_header_field("Subject: Caf\xc3\xa9 cr\xc3\xa8me\r\n"),
            "Subject: =?utf-8?B?Q2Fmw6kgY3LDqG1l?=\r\n");
  // The words around the 8-bit stretch stay as they are.
  EXPECT_EQ(encode_header_field("Subject: Re: un caf\xc3\xa9 au lait, please\r\n"),
            "Subject: Re: un =?utf-8?B?Y2Fmw6k=?= au lait, please\r\n");
  // Q when it is no longer than B; "=", "?" and "_" are escaped, a space is "_".
  EXPECT_EQ(encode_header_field("Subject: \xc3\xa9 some_plain=words? in the middle \xc3\xa9!\r\n"),
            "Subject: =?utf-8?Q?=C3=A9_some=5Fplain=3Dwords=3F_in_the_middle_=C3=A9!?=\r\n");
  // No space after the colon: one is added before the encoded-word.
  EXPECT_EQ(encode_header_field("Subject:\xc3\xa9t\xc3\xa9\n", "\n"),
            "Subject: =?utf-8?B?w6l0w6k=?=\n");
}

TEST(HeaderEncoderTest, NotUtf8IsUnknown8bit) {
  EXPECT_EQ(encode_header_field("Subject: caf\xe9\r\n"), "Subject: =?unknown-8bit?Q?caf=E9?=\r\n");
}

TEST(HeaderEncoderTest, AddressFieldsEncodeDisplayNamesOnly) {
  EXPECT_EQ(encode_header_field("From: J\xc3\xb6rg M\xc3\xbcller <jm@example.org>\r\n"),
            "From: =?utf-8?B?SsO2cmcgTcO8bGxlcg==?= <jm@example.org>\r\n");
  // A quoted display name is unquoted before encoding; the 8-bit addr-spec is kept.
  EXPECT_EQ(
      encode_header_field("To: \"M\xc3\xbcller, J.\" <j\xc3\xb6rg@example.org>, b@x.test\r\n"),
      "To: =?utf-8?B?TcO8bGxlciwgSi4=?= <j\xc3\xb6rg@example.org>, b@x.test\r\n");
  // Group names and comments (an encoded-word is kept apart from a special by a space).
  EXPECT_EQ(encode_header_field("Cc: Gr\xc3\xbc\xc3\x9f"
                                "e: a@x.test (H\xc3\xa9l\xc3\xa8ne);\r\n"),
            "Cc: =?utf-8?B?R3LDvMOfZQ==?= : a@x.test (=?utf-8?B?SMOpbMOobmU=?=);\r\n");
  // A display name right before "<" gets its space.
  EXPECT_EQ(encode_header_field("Reply-To: \xc3\xa9<e@x.test>\r\n"),
            "Reply-To: =?utf-8?B?w6k=?= <e@x.test>\r\n");
  // ASCII parts of an address field are kept as they were.
  EXPECT_EQ(encode_header_field("To: Ann <a@x.test>, \xc3\x89ve <e@x.test>\r\n"),
            "To: Ann <a@x.test>, =?utf-8?Q?=C3=89ve?= <e@x.test>\r\n");
}

TEST(HeaderEncoderTest, StructuredFieldsAreLeft) {
  const std::string received = "Received: from h\xc3\xa9.example by mx; Sun, 6 Dec 2026\r\n";
  EXPECT_EQ(encode_header_field(received), received);
  EXPECT_EQ(encode_header_field("Message-ID: <\xc3\xa9@x>\r\n"), "Message-ID: <\xc3\xa9@x>\r\n");
}

TEST(HeaderEncoderTest, PropertiesOverManyTexts) {
  const std::vector<std::string> pieces = {"a",
                                           "word",
                                           " ",
                                           "\xc3\xa9",
                                           "\xe2\x82\xac",
                                           "\xf0\x9f\x98\x80",
                                           "=?",
                                           "?=",
                                           "_",
                                           "\t",
                                           "(",
                                           "\"",
                                           "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"};
  uint32_t seed = 7;
  for (int round = 0; round < 2000; ++round) {
    std::string text;
    const int n = 1 + round % 60;
    for (int i = 0; i < n; ++i) {
      seed = seed * 1103515245 + 12345;
      text += pieces[(seed >> 16) % pieces.size()];
    }
    if (!has_8bit(text)) text += "\xc3\xa9";
    for (const char* name : {"Subject", "X-Note", "From"}) {
      const std::string field = std::string(name) + ": " + text + "\r\n";
      const std::string out = encode_header_field(field);
      SCOPED_TRACE(field);
      if (std::string(name) != "From") {
        ASSERT_FALSE(has_8bit(out)) << out;
      }
      ASSERT_TRUE(out.starts_with(std::string(name) + ":"));
      ASSERT_TRUE(out.ends_with("\r\n"));
      const std::vector<std::string> lines = lines_of(out);
      for (size_t i = 0; i < lines.size(); ++i) {
        ASSERT_FALSE(lines[i].empty());
        if (i > 0) {
          ASSERT_TRUE(lines[i][0] == ' ' || lines[i][0] == '\t') << out;
        }
        if (std::string(name) != "From" && !has_long_plain_word(lines[i])) {
          ASSERT_LE(lines[i].size(), 76u) << out;
        }
      }
      for (const std::string& w : encoded_words(out)) {
        ASSERT_LE(w.size(), 75u) << out;
        ASSERT_TRUE(well_formed_utf8(decode_header_value("S: " + w))) << w;
      }
      if (std::string(name) != "From" && text.find("=?") == std::string::npos) {
        std::string expected = text;
        while (!expected.empty() && (expected.back() == ' ' || expected.back() == '\t')) {
          expected.pop_back();
        }
        ASSERT_EQ(decode_header_value(out), " " + expected) << out;
      }
    }
  }
}

TEST(HeaderEncoderTest, LongSubjectIsFolded) {
  std::string text;
  for (int i = 0; i < 40; ++i)
    text +=
        "\xc3\xbc"
        "ber ";
  text += "end";
  const std::string out = encode_header_field("Subject: " + text + "\r\n");
  EXPECT_GT(lines_of(out).size(), 3u);
  EXPECT_EQ(decode_header_value(out), " " + text);
}

TEST(HeaderEncoderTest, MessageHeaderSectionOnly) {
  const std::string message =
      "Received: from a by b\r\n"
      "Subject: caf\xc3\xa9\r\n"
      "To: b@x.test\r\n"
      "\r\n"
      "Subject: caf\xc3\xa9 in the body\r\n";
  const HeaderEncoding e = encode_8bit_headers(message);
  EXPECT_TRUE(e.changed);
  EXPECT_TRUE(e.seven_bit);
  EXPECT_EQ(e.fields_encoded, 1u);
  EXPECT_EQ(e.content,
            "Received: from a by b\r\n"
            "Subject: =?utf-8?B?Y2Fmw6k=?=\r\n"
            "To: b@x.test\r\n"
            "\r\n"
            "Subject: caf\xc3\xa9 in the body\r\n");
  // A folded field is unfolded first; LF line ends are kept.
  const HeaderEncoding lf = encode_8bit_headers("Subject: a\n \xc3\xa9\nX: y\n\nbody\n");
  EXPECT_EQ(lf.content, "Subject: a =?utf-8?B?w6k=?=\nX: y\n\nbody\n");
  // Nothing to do, or only what cannot be encoded.
  const HeaderEncoding ascii = encode_8bit_headers("Subject: a\r\n\r\n\xc3\xa9\r\n");
  EXPECT_FALSE(ascii.changed);
  EXPECT_TRUE(ascii.seven_bit);
  const HeaderEncoding address = encode_8bit_headers("To: <\xc3\xa9@x.test>\r\n\r\nb\r\n");
  EXPECT_FALSE(address.changed);
  EXPECT_FALSE(address.seven_bit);
  const HeaderEncoding mixed = encode_8bit_headers("To: \xc3\xa9 <\xc3\xa9@x.test>\r\n\r\nb\r\n");
  EXPECT_TRUE(mixed.changed);
  EXPECT_FALSE(mixed.seven_bit);
}

}  // namespace
}  // namespace estafeta::smtp
