// Table-driven tests of the RFC 5321 path parser, domain checks and UTF-8 validation.
#include <gtest/gtest.h>

#include <string>

#include "address/domain.h"
#include "address/mailbox.h"
#include "address/utf8.h"

namespace estafeta::address {
namespace {

struct PathCase {
  std::string input;
  bool smtputf8;
  bool allow_null;
  bool ok;
  std::string address;  // canonical text when ok
};

TEST(ParsePath, Table) {
  const std::string l64(64, 'a');
  const std::string l65(65, 'a');
  const std::string label63(63, 'b');
  const std::string d255 = label63 + "." + label63 + "." + label63 + "." + std::string(63, 'c');
  const PathCase cases[] = {
      {"<>", false, true, true, ""},
      {"<>", false, false, false, ""},
      {"<user@example.org>", false, false, true, "user@example.org"},
      {"<First.Last@Example.ORG>", false, false, true, "First.Last@Example.ORG"},
      {"<a+tag@sub.example.org>", false, false, true, "a+tag@sub.example.org"},
      {"<!#$%&'*+-/=?^_`{|}~@x.y>", false, false, true, "!#$%&'*+-/=?^_`{|}~@x.y"},
      {"<\"john doe\"@example.org>", false, false, true, "\"john doe\"@example.org"},
      {"<\"plain\"@example.org>", false, false, true, "plain@example.org"},
      {"<\"a\\\"b\"@example.org>", false, false, true, "\"a\\\"b\"@example.org"},
      {"<\"\"@example.org>", false, false, true, "\"\"@example.org"},
      {"<\"a@b\"@example.org>", false, false, true, "\"a@b\"@example.org"},
      {"<u@[192.0.2.1]>", false, false, true, "u@[192.0.2.1]"},
      {"<u@[IPv6:2001:db8::1]>", false, false, true, "u@[IPv6:2001:db8::1]"},
      {"<u@[ipv6:::1]>", false, false, true, "u@[ipv6:::1]"},
      {"<u@[IPv6:::ffff:192.0.2.1]>", false, false, true, "u@[IPv6:::ffff:192.0.2.1]"},
      {"<u@[IPv6:1:2:3:4:5:6:7:8]>", false, false, true, "u@[IPv6:1:2:3:4:5:6:7:8]"},
      {"<u@[IPv6:1:2:3:4:5:6:7:8:9]>", false, false, false, ""},
      {"<u@[IPv6:1::2::3]>", false, false, false, ""},
      {"<u@[IPv6:12345::]>", false, false, false, ""},
      {"<u@[256.0.0.1]>", false, false, false, ""},
      {"<u@[1.2.3]>", false, false, false, ""},
      {"<u@[tag:stuff]>", false, false, false, ""},
      {"<@a.example,@b.example:u@d.example>", false, false, true, "u@d.example"},
      {"<@a.example:u@d.example>", false, false, true, "u@d.example"},
      {"<@a..example:u@d.example>", false, false, false, ""},
      {"<@a.example u@d.example>", false, false, false, ""},
      {"<Postmaster>", false, false, true, "Postmaster"},
      {"<user>", false, false, false, ""},
      {"user@example.org", false, false, false, ""},
      {"<user@example.org", false, false, false, ""},
      {"<@example.org>", false, false, false, ""},
      {"<user@>", false, false, false, ""},
      {"<a..b@example.org>", false, false, false, ""},
      {"<.a@example.org>", false, false, false, ""},
      {"<a.@example.org>", false, false, false, ""},
      {"<a b@example.org>", false, false, false, ""},
      {"<a@b@example.org>", false, false, false, ""},
      {"<\"unterminated@example.org>", false, false, false, ""},
      {"<\"x\"y@example.org>", false, false, false, ""},
      {"<a@-example.org>", false, false, false, ""},
      {"<a@example-.org>", false, false, false, ""},
      {"<a@exa_mple.org>", false, false, false, ""},
      {"<a@example.org.>", false, false, false, ""},
      {"<a@ex-ample.org>", false, false, true, "a@ex-ample.org"},
      {"<" + l64 + "@x.org>", false, false, true, l64 + "@x.org"},
      {"<" + l65 + "@x.org>", false, false, false, ""},
      {"<a@" + std::string(64, 'b') + ".org>", false, false, false, ""},
      {"<a@" + d255 + ">", false, false, false, ""},  // path over 256 octets
      {"<a@" + label63 + "." + label63 + "." + label63 + ">", false, false, true,
       "a@" + label63 + "." + label63 + "." + label63},
      {"<jos\xc3\xa9@example.org>", false, false, false, ""},
      {"<jos\xc3\xa9@example.org>", true, false, true, "jos\xc3\xa9@example.org"},
      {"<user@b\xc3\xbc" "cher.example>", true, false, true, "user@b\xc3\xbc" "cher.example"},
      {"<jos\xc3@example.org>", true, false, false, ""},            // truncated sequence
      {"<jos\xc0\xaf@example.org>", true, false, false, ""},        // overlong
      {"<jos\xed\xa0\x80@example.org>", true, false, false, ""},    // surrogate
      {"<\"\xc3\xa9 x\"@example.org>", true, false, true, "\"\xc3\xa9 x\"@example.org"},
      {"<a\x01@example.org>", false, false, false, ""},
      {"<\"a\x01\"@example.org>", false, false, false, ""},
      {std::string("<a\0@example.org>", 16), false, false, false, ""},
  };
  for (const PathCase& c : cases) {
    ParseOptions options;
    options.smtputf8 = c.smtputf8;
    options.allow_null = c.allow_null;
    Result<Path> r = parse_path(c.input, options);
    EXPECT_EQ(r.ok(), c.ok) << c.input << (r.ok() ? "" : ": " + r.error().message);
    if (r.ok() && c.ok) {
      EXPECT_EQ(r->address(), c.address) << c.input;
      // The canonical text parses back to itself.
      Result<Path> again = parse_path("<" + r->address() + ">", options);
      ASSERT_TRUE(again.ok() || r->is_null) << c.input;
      if (!r->is_null) {
        EXPECT_EQ(again->address(), c.address);
      }
    }
  }
}

TEST(ParsePath, NullFlag) {
  Result<Path> r = parse_path("<>", ParseOptions{.smtputf8 = false, .allow_null = true});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->is_null);
  EXPECT_EQ(r->address(), "");
}

TEST(ParsePath, QuotedPartsAreUnquoted) {
  Result<Path> r = parse_path("<\"john \\\\ doe\"@example.org>", ParseOptions{});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->mailbox.local_part, "john \\ doe");
  EXPECT_EQ(r->mailbox.domain, "example.org");
}

TEST(ParsePath, ErrorsCarryAReason) {
  Result<Path> r = parse_path("<a@b@c>", ParseOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(r.error().message.empty());
  Result<Path> u = parse_path("<\xc3\xa9@x.org>", ParseOptions{});
  ASSERT_FALSE(u.ok());
  EXPECT_NE(u.error().message.find("SMTPUTF8"), std::string::npos);
}

TEST(Domain, Literals) {
  EXPECT_TRUE(valid_ipv4("0.0.0.0"));
  EXPECT_TRUE(valid_ipv4("255.255.255.255"));
  EXPECT_FALSE(valid_ipv4("1.2.3.4.5"));
  EXPECT_FALSE(valid_ipv4("1.2.3."));
  EXPECT_FALSE(valid_ipv4("1234.2.3.4"));
  EXPECT_TRUE(valid_ipv6("::"));
  EXPECT_TRUE(valid_ipv6("fe80::1:2"));
  EXPECT_TRUE(valid_ipv6("1:2:3:4:5:6:1.2.3.4"));
  EXPECT_FALSE(valid_ipv6("1:2:3:4:5:6:7:1.2.3.4"));
  EXPECT_FALSE(valid_ipv6(":::"));
  EXPECT_FALSE(valid_ipv6("1:"));
  EXPECT_FALSE(valid_ipv6("g::1"));
  EXPECT_TRUE(check_address_literal("[IPv6:::1]").ok());
  EXPECT_FALSE(check_address_literal("[IPv6:1.2.3.4]").ok());
}

TEST(Utf8, Validation) {
  EXPECT_TRUE(valid_utf8("plain"));
  EXPECT_TRUE(valid_utf8("\xe2\x82\xac"));
  EXPECT_TRUE(valid_utf8("\xf0\x9f\x98\x80"));
  EXPECT_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(valid_utf8("\x80"));
  EXPECT_FALSE(valid_utf8("\xe2\x82"));
  EXPECT_FALSE(valid_utf8("\xff"));
}

}  // namespace
}  // namespace estafeta::address
