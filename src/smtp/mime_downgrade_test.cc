// Tests for smtp::downgrade_mime: real-looking 8-bit messages become 7-bit bodies that a
// quoted-printable decoder (written here, independent of the encoder) turns back into the
// original bytes.
#include "smtp/mime_downgrade.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace estafeta::smtp {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 2045 §6.7 decoding; hard line breaks are kept as they are (LF or CRLF).
std::string decode_qp(std::string_view text) {
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t lf = text.find('\n', pos);
    size_t next = lf == std::string_view::npos ? text.size() : lf + 1;
    size_t end = lf == std::string_view::npos ? text.size() : lf;
    if (end > pos && text[end - 1] == '\r') --end;
    std::string_view line = text.substr(pos, end - pos);
    const bool soft = !line.empty() && line.back() == '=';
    if (soft) line.remove_suffix(1);
    for (size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '=') {
        EXPECT_LT(i + 2, line.size() + 1) << "truncated escape in: " << line;
        const int hi = hex_value(line[i + 1]);
        const int lo = hex_value(line[i + 2]);
        EXPECT_GE(hi, 0);
        EXPECT_GE(lo, 0);
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
      } else {
        out += line[i];
      }
    }
    if (!soft) out += text.substr(end, next - end);
    pos = next;
  }
  return out;
}

// Every line of `text` is 7-bit; the lines of quoted-printable text are at most 76 octets.
void expect_7bit_lines(std::string_view text, bool encoded) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t lf = text.find('\n', pos);
    if (lf == std::string_view::npos) lf = text.size();
    std::string_view line = text.substr(pos, lf - pos);
    if (line.ends_with('\r')) line.remove_suffix(1);
    for (char c : line) EXPECT_LT(static_cast<unsigned char>(c), 128) << line;
    if (encoded) {
      EXPECT_LE(line.size(), 76u) << line;
    }
    pos = lf + 1;
  }
}

// The text between `from` (exclusive) and `to` (exclusive), both first found after `after`.
std::string_view between(std::string_view s, std::string_view from, std::string_view to,
                         size_t after = 0) {
  size_t a = s.find(from, after);
  EXPECT_NE(a, std::string_view::npos) << from;
  a += from.size();
  size_t b = s.find(to, a);
  EXPECT_NE(b, std::string_view::npos) << to;
  return s.substr(a, b - a);
}

TEST(QuotedPrintable, EscapesSoftBreaksAndTrailingSpace) {
  EXPECT_EQ(encode_quoted_printable("caf\xE9 = ok\n"), "caf=E9 =3D ok\n");
  EXPECT_EQ(encode_quoted_printable("end \r\ntab\t\n"), "end=20\r\ntab=09\n");
  EXPECT_EQ(encode_quoted_printable("bare\rcr"), "bare=0Dcr");
  const std::string long_line(200, 'a');
  const std::string enc = encode_quoted_printable(long_line + "\n", "\n");
  expect_7bit_lines(enc, true);
  EXPECT_EQ(enc.substr(0, 76), std::string(75, 'a') + "=");
  EXPECT_EQ(decode_qp(enc), long_line + "\n");
}

TEST(QuotedPrintable, NeverSplitsAnEscapeAndNeverStartsAContinuationWithADash) {
  std::string line(72, 'x');
  line += "\xE9--boundary\xE9\xE9";
  const std::string enc = encode_quoted_printable(line, "\r\n");
  expect_7bit_lines(enc, true);
  EXPECT_EQ(enc.find("\r\n--"), std::string::npos) << enc;
  EXPECT_EQ(decode_qp(enc), line);
}

TEST(QuotedPrintable, RoundTripsEveryOctet) {
  std::string all;
  for (int i = 0; i < 256; ++i) {
    if (i != '\n') all += static_cast<char>(i);
  }
  all += " \nline two\t\r\n.\n";
  const std::string enc = encode_quoted_printable(all, "\n");
  expect_7bit_lines(enc, true);
  EXPECT_EQ(decode_qp(enc), all);
}

constexpr std::string_view kLatin1Body =
    "Bonjour,\n"
    "\n"
    "Le caf\xE9 est pr\xEAt \xE0 9h. Merci d'avance et \xE0 bient\xF4t ! Ceci est une ligne "
    "tr\xE8s longue qui d\xE9passe soixante-seize caract\xE8res une fois cod\xE9" "e.\n"
    "Prix : 5 \xA4 = cinq.  \n"
    "-- \n"
    "Andr\xE9\n";

TEST(MimeDowngrade, SimpleLatin1TextPlain) {
  const std::string headers =
      "From: Andr\xE9 <andre@example.org>\n"
      "To: bob@example.net\n"
      "Subject: caf\xE9\n"
      "MIME-Version: 1.0\n"
      "Content-Type: text/plain; charset=ISO-8859-1\n"
      "Content-Transfer-Encoding: 8bit\n"
      "\n";
  const MimeDowngrade d = downgrade_mime(headers + std::string(kLatin1Body));
  EXPECT_TRUE(d.changed);
  EXPECT_EQ(d.parts_encoded, 1u);
  const size_t split = d.content.find("\n\n");
  ASSERT_NE(split, std::string::npos);
  // Headers kept (8-bit From and Subject too), the encoding relabelled in place.
  EXPECT_EQ(d.content.substr(0, split + 2),
            "From: Andr\xE9 <andre@example.org>\n"
            "To: bob@example.net\n"
            "Subject: caf\xE9\n"
            "MIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=ISO-8859-1\n"
            "Content-Transfer-Encoding: quoted-printable\n"
            "\n");
  const std::string_view body = std::string_view(d.content).substr(split + 2);
  expect_7bit_lines(body, true);
  EXPECT_NE(body.find("caf=E9"), std::string::npos);
  EXPECT_NE(body.find("cinq. =20\n"), std::string::npos);  // trailing spaces
  EXPECT_NE(body.find("\n--=20\n"), std::string::npos);   // the signature separator
  EXPECT_EQ(decode_qp(body), kLatin1Body);
}

TEST(MimeDowngrade, NoMimeHeadersGetsThemAdded) {
  const std::string msg = "Subject: x\r\n\r\nna\xEFve\r\n";
  const MimeDowngrade d = downgrade_mime(msg);
  EXPECT_EQ(d.content,
            "Subject: x\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n"
            "MIME-Version: 1.0\r\n"
            "\r\n"
            "na=EFve\r\n");
}

TEST(MimeDowngrade, SevenBitBodiesAndEncodedPartsAreLeftAlone) {
  const std::string ascii = "Subject: caf\xE9\n\nplain ascii\n";
  EXPECT_FALSE(downgrade_mime(ascii).changed);
  EXPECT_EQ(downgrade_mime(ascii).content, ascii);
  const std::string b64 =
      "Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\nY2Fm\xE9\n";
  EXPECT_EQ(downgrade_mime(b64).content, b64);
  const std::string binary =
      "Content-Type: application/octet-stream\nContent-Transfer-Encoding: binary\n\n\xFF\n";
  EXPECT_EQ(downgrade_mime(binary).content, binary);
}

TEST(MimeDowngrade, MultipartAlternativeCrlf) {
  const std::string html = "<p>Gr\xFC\xDF" "e aus K\xF6ln</p>\r\n";
  const std::string msg =
      "From: a@example.org\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: multipart/alternative;\r\n"
      "\tboundary=\"=_alt 42\"\r\n"
      "Content-Transfer-Encoding: 8bit\r\n"
      "\r\n"
      "This is a multi-part message in MIME format.\r\n"
      "\r\n"
      "--=_alt 42\r\n"
      "Content-Type: text/plain; charset=us-ascii\r\n"
      "\r\n"
      "Gruesse aus Koeln\r\n"
      "\r\n"
      "--=_alt 42\r\n"
      "Content-Type: text/html; charset=iso-8859-1\r\n"
      "Content-Transfer-Encoding: 8bit\r\n"
      "\r\n" +
      html +
      "--=_alt 42--\r\n"
      "\r\n";
  const MimeDowngrade d = downgrade_mime(msg);
  EXPECT_EQ(d.parts_encoded, 1u);
  expect_7bit_lines(d.content, false);
  // The container's 8bit label is now 7bit; the ASCII part is unchanged.
  EXPECT_NE(d.content.find("\r\nContent-Transfer-Encoding: 7bit\r\n\r\nThis is a multi"),
            std::string::npos);
  EXPECT_NE(d.content.find("us-ascii\r\n\r\nGruesse aus Koeln\r\n\r\n--=_alt 42\r\n"),
            std::string::npos);
  const std::string_view part = between(
      d.content, "charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n",
      "--=_alt 42--");
  EXPECT_EQ(decode_qp(part), html);
  EXPECT_TRUE(d.content.ends_with("--=_alt 42--\r\n\r\n"));
}

TEST(MimeDowngrade, NestedMultipartAndAttachedMessage) {
  const std::string inner_text = "\xC2\xA1Hola, se\xC3\xB1or!\n";
  const std::string attached_body = "Z\xFCrich\n";
  const std::string msg =
      "Content-Type: multipart/mixed; boundary=outer\n"
      "MIME-Version: 1.0\n"
      "\n"
      "--outer\n"
      "Content-Type: multipart/alternative; boundary=\"inner\"\n"
      "\n"
      "--inner\n"
      "Content-Type: text/plain; charset=utf-8\n"
      "\n" +
      inner_text +
      "--inner--\n"
      "\n"
      "--outer\n"
      "Content-Type: message/rfc822\n"
      "\n"
      "Subject: forwarded\n"
      "\n" +
      attached_body +
      "--outer\n"
      "Content-Type: application/octet-stream\n"
      "Content-Transfer-Encoding: base64\n"
      "\n"
      "AAEC\n"
      "--outer--\n"
      "epilogue \xE9t\xE9\n";
  const MimeDowngrade d = downgrade_mime(msg);
  EXPECT_EQ(d.parts_encoded, 2u);
  expect_7bit_lines(d.content, false);
  EXPECT_EQ(decode_qp(between(d.content,
                              "charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n",
                              "--inner--")),
            inner_text);
  // The attached message's header gets the encoding and a MIME-Version.
  EXPECT_EQ(decode_qp(between(d.content,
                              "Subject: forwarded\nContent-Transfer-Encoding: "
                              "quoted-printable\nMIME-Version: 1.0\n\n",
                              "--outer\n")),
            attached_body);
  EXPECT_NE(d.content.find("base64\n\nAAEC\n--outer--\n"), std::string::npos);
  EXPECT_TRUE(d.content.ends_with("--outer--\nepilogue =E9t=E9\n"));
  // Idempotent: the output has nothing left to convert.
  EXPECT_FALSE(downgrade_mime(d.content).changed);
}

TEST(MimeDowngrade, DigestPartsDefaultToMessages) {
  const std::string msg =
      "Content-Type: multipart/digest; boundary=d\n\n"
      "--d\n\nSubject: one\n\nd\xE9j\xE0\n--d--\n";
  const MimeDowngrade d = downgrade_mime(msg);
  EXPECT_EQ(d.content,
            "Content-Type: multipart/digest; boundary=d\n\n"
            "--d\n\nSubject: one\nContent-Transfer-Encoding: quoted-printable\n"
            "MIME-Version: 1.0\n\nd=E9j=E0\n--d--\n");
}

TEST(MimeDowngrade, SplitLinesNeverBecomeBoundaries) {
  std::string line = "\xE9" + std::string(72, 'a') + "--b";
  const std::string msg = "Content-Type: multipart/mixed; boundary=b\n\n--b\n\n" + line +
                          "\n--b--\n";
  const MimeDowngrade d = downgrade_mime(msg);
  EXPECT_EQ(d.parts_encoded, 1u);
  EXPECT_EQ(d.content.find("\n--b\n"), d.content.rfind("\n--b\n")) << d.content;
  EXPECT_EQ(decode_qp(between(d.content, "quoted-printable\n\n", "\n--b--")), line);
}

}  // namespace
}  // namespace estafeta::smtp
