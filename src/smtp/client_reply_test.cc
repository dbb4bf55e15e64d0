// ReplyReader and parse_ehlo: table-driven cases, each fed at every fragment size.
#include "smtp/client_reply.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace estafeta::smtp {
namespace {

// Feeds `input` in pieces of `fragment` bytes; returns "code|enhanced|text" per reply and
// "ERR:<message>" for an error (then stops).
std::vector<std::string> read_all(const std::string& input, size_t fragment,
                                  ReplyLimits limits = {}) {
  ReplyReader reader(limits);
  std::vector<std::string> out;
  for (size_t pos = 0; pos < input.size(); pos += fragment) {
    reader.feed(std::string_view(input).substr(pos, fragment));
    while (true) {
      auto r = reader.next();
      if (!r.ok()) {
        out.push_back("ERR:" + r.error().message);
        return out;
      }
      if (!r.value()) break;
      const ServerReply& s = *r.value();
      out.push_back(std::to_string(s.code) + "|" + s.enhanced + "|" + s.text());
    }
  }
  return out;
}

struct Case {
  std::string input;
  std::vector<std::string> expected;
};

TEST(ReplyReader, Table) {
  const std::vector<Case> cases = {
      {"220 mx.example ESMTP\r\n", {"220||220 mx.example ESMTP"}},
      {"250 ok\n", {"250||250 ok"}},  // bare LF tolerated
      {"250\r\n", {"250||250"}},
      {"250 \r\n", {"250||250"}},
      {"550 5.1.1 <a@b>: User unknown\r\n", {"550|5.1.1|550 5.1.1 <a@b>: User unknown"}},
      {"550 4.1.1 wrong class\r\n", {"550||550 4.1.1 wrong class"}},
      {"354 3.0.0 go ahead\r\n", {"354||354 3.0.0 go ahead"}},  // no enhanced for 3xx
      {"250 2.1.0\r\n", {"250|2.1.0|250 2.1.0"}},
      {"250 2.1.0x ok\r\n", {"250||250 2.1.0x ok"}},
      {"250 2.1234.0 ok\r\n", {"250||250 2.1234.0 ok"}},
      {"250-mx.example\r\n250-PIPELINING\r\n250 SIZE 1000\r\n",
       {"250||250 mx.example PIPELINING SIZE 1000"}},
      {"550-5.7.1 first\r\n550 5.7.1 second\r\n", {"550|5.7.1|550 5.7.1 first second"}},
      {"250 a\r\n251 b\r\n", {"250||250 a", "251||251 b"}},
      {"250-a\r\n251 b\r\n", {"ERR:reply continuation with a different code"}},
      {"25 short\r\n", {"ERR:malformed reply line"}},
      {"2500 x\r\n", {"ERR:malformed reply line"}},
      {"abc x\r\n", {"ERR:malformed reply line"}},
      {"150 x\r\n", {"ERR:malformed reply line"}},
      {"650 x\r\n", {"ERR:malformed reply line"}},
      {"\r\n", {"ERR:malformed reply line"}},
      {"250 ok\r\nxyz\r\n250 never\r\n", {"250||250 ok", "ERR:malformed reply line"}},
  };
  for (const Case& c : cases) {
    for (size_t fragment = 1; fragment <= c.input.size(); ++fragment) {
      EXPECT_EQ(read_all(c.input, fragment), c.expected)
          << "input: " << c.input << " fragment " << fragment;
    }
  }
}

TEST(ReplyReader, LineLengthLimit) {
  ReplyLimits limits{.line_length = 10, .max_lines = 3};
  std::string ok = "250 123456\r\n";  // 10 octets before CRLF
  std::string too_long = "250 1234567\r\n";
  for (size_t f = 1; f <= too_long.size(); ++f) {
    EXPECT_EQ(read_all(ok, f, limits), std::vector<std::string>{"250||250 123456"});
    EXPECT_EQ(read_all(too_long, f, limits), std::vector<std::string>{"ERR:reply line too long"});
  }
  // Detected before the line end arrives.
  ReplyReader reader(limits);
  reader.feed("250 12345678901234567890");
  auto r = reader.next();
  ASSERT_FALSE(r.ok());
  // Sticky.
  reader.feed("\r\n250 ok\r\n");
  EXPECT_FALSE(reader.next().ok());
}

TEST(ReplyReader, LineCountLimit) {
  ReplyLimits limits{.line_length = 100, .max_lines = 3};
  EXPECT_EQ(read_all("250-a\r\n250-b\r\n250 c\r\n", 1, limits),
            std::vector<std::string>{"250||250 a b c"});
  EXPECT_EQ(read_all("250-a\r\n250-b\r\n250-c\r\n250 d\r\n", 4, limits),
            std::vector<std::string>{"ERR:too many reply lines"});
}

TEST(ReplyReader, BufferedCountsEarlyData) {
  ReplyReader reader;
  reader.feed("220 hi\r\nextra");
  auto r = reader.next();
  ASSERT_TRUE(r.ok() && r.value());
  EXPECT_EQ(reader.buffered(), 5u);
  EXPECT_EQ(r.value()->lines, std::vector<std::string>{"hi"});
}

TEST(LocalReply, MarkedLocal) {
  ServerReply r = local_reply("552 5.3.4 Message size exceeds fixed limit");
  EXPECT_TRUE(r.local);
  EXPECT_EQ(r.code, 552);
  EXPECT_EQ(r.enhanced, "5.3.4");
  EXPECT_EQ(r.text(), "552 5.3.4 Message size exceeds fixed limit");
}

ServerReply ehlo(std::vector<std::string> lines, int code = 250) {
  return ServerReply{code, "", std::move(lines), false};
}

TEST(ParseEhlo, Keywords) {
  EhloCapabilities c =
      parse_ehlo(ehlo({"mx.example greets you", "pipelining", "SIZE 10240000", "8BITMIME",
                       "SmtpUtf8", "DSN", "STARTTLS", "ENHANCEDSTATUSCODES", "CHUNKING",
                       "AUTH PLAIN login", "AUTH=LOGIN CRAM-MD5", "VRFY", "X-UNKNOWN foo"}));
  EXPECT_TRUE(c.pipelining);
  EXPECT_TRUE(c.size);
  EXPECT_EQ(c.size_limit, 10240000u);
  EXPECT_TRUE(c.eight_bit_mime);
  EXPECT_TRUE(c.smtputf8);
  EXPECT_TRUE(c.dsn);
  EXPECT_TRUE(c.starttls);
  EXPECT_TRUE(c.enhanced_status_codes);
  EXPECT_TRUE(c.chunking);
  EXPECT_EQ(c.auth_mechanisms, (std::vector<std::string>{"PLAIN", "LOGIN", "CRAM-MD5"}));
}

TEST(ParseEhlo, GreetingLineIsNoKeyword) {
  EhloCapabilities c = parse_ehlo(ehlo({"PIPELINING"}));
  EXPECT_FALSE(c.pipelining);
}

TEST(ParseEhlo, SizeVariants) {
  EXPECT_EQ(parse_ehlo(ehlo({"x", "SIZE"})).size_limit, 0u);
  EXPECT_TRUE(parse_ehlo(ehlo({"x", "SIZE"})).size);
  EXPECT_EQ(parse_ehlo(ehlo({"x", "SIZE 0"})).size_limit, 0u);
  EXPECT_EQ(parse_ehlo(ehlo({"x", "SIZE junk"})).size_limit, 0u);
  EXPECT_EQ(parse_ehlo(ehlo({"x", "SIZE 99999999999999999999999"})).size_limit, 0u);
  EXPECT_EQ(parse_ehlo(ehlo({"x", "size\t512"})).size_limit, 512u);
}

TEST(ParseEhlo, ErrorReplyHasNothing) {
  EhloCapabilities c = parse_ehlo(ehlo({"x", "PIPELINING"}, 550));
  EXPECT_FALSE(c.pipelining);
}

}  // namespace
}  // namespace estafeta::smtp
