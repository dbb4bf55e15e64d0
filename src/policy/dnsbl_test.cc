// Tests for DNS list query names, reply filters and reply templates.
#include "policy/dnsbl.h"

#include <gtest/gtest.h>

#include "policy/hostname_syntax.h"
#include "policy/rbl_reply.h"

namespace estafeta::policy {
namespace {

TEST(Dnsbl, QueryNames) {
  EXPECT_EQ(dnsbl_address_query("192.0.2.99", "zen.example"), "99.2.0.192.zen.example");
  EXPECT_EQ(dnsbl_address_query("2001:db8::1", "bl.example"),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.example");
  EXPECT_EQ(dnsbl_address_query("not-an-address", "bl.example"), std::nullopt);
  EXPECT_EQ(dnsbl_domain_query("spam.example", "dbl.example"), "spam.example.dbl.example");
  EXPECT_EQ(dnsbl_domain_query("user@spam.example", "dbl.example"), "spam.example.dbl.example");
  EXPECT_EQ(dnsbl_domain_query("user@[192.0.2.1]", "dbl.example"), std::nullopt);
  EXPECT_EQ(dnsbl_domain_query("user@", "dbl.example"), std::nullopt);
}

TEST(Dnsbl, Filters) {
  struct Case {
    const char* filter;
    const char* reply;
    bool matches;
  } cases[] = {
      {"127.0.0.2", "127.0.0.2", true},
      {"127.0.0.2", "127.0.0.3", false},
      {"127.0.0.[2..4]", "127.0.0.4", true},
      {"127.0.0.[2..4]", "127.0.0.5", false},
      {"127.0.0.[2;4;10..11]", "127.0.0.10", true},
      {"127.0.0.[2;4;10..11]", "127.0.0.3", false},
      {"127.0.[2..14].[2..3]", "127.0.9.3", true},
      {"127.0.0.2;127.0.0.3", "127.0.0.3", true},  // Estafeta: alternatives
      {"127.0.0.2;127.0.0.3", "127.0.0.4", false},
      {"127.0.0.2", "garbage", false},
  };
  for (const Case& c : cases) {
    auto filter = DnsblFilter::parse(c.filter);
    ASSERT_TRUE(filter.ok()) << c.filter;
    EXPECT_EQ(filter->matches(c.reply), c.matches) << c.filter << " " << c.reply;
  }
  EXPECT_TRUE(DnsblFilter().matches("127.0.0.200"));
  for (const char* bad : {"", "127.0.0", "127.0.0.256", "127.0.0.[4..2]", "127.0.0.[2",
                          "127.0.0.2;", "a.b.c.d", "127.0.0.2.1"}) {
    EXPECT_FALSE(DnsblFilter::parse(bad).ok()) << bad;
  }
  auto split = split_dnsbl_argument("zen.example=127.0.0.2");
  EXPECT_EQ(split.zone, "zen.example");
  EXPECT_EQ(split.filter, "127.0.0.2");
  EXPECT_EQ(split_dnsbl_argument("zen.example").filter, "");
}

TEST(Dnsbl, ReplyTemplate) {
  auto lookup = [](std::string_view name) -> std::optional<std::string> {
    if (name == "rbl_code") return "554";
    if (name == "rbl_reason") return "";
    if (name == "rbl_what") return "192.0.2.1";
    if (name == "evil")
      return "a\x01"
             "b";
    return std::nullopt;
  };
  EXPECT_EQ(*expand_reply_template("$rbl_code [${rbl_what}]${rbl_reason?; $rbl_reason}", lookup),
            "554 [192.0.2.1]");
  EXPECT_EQ(*expand_reply_template("${rbl_reason:none} $$ $evil", lookup), "none $ a_b");
  EXPECT_FALSE(expand_reply_template("$nope", lookup).ok());
  EXPECT_FALSE(expand_reply_template("${rbl_code", lookup).ok());
  EXPECT_FALSE(expand_reply_template("${rbl_code!x}", lookup).ok());
}

TEST(HostnameSyntax, Names) {
  for (const char* good : {"example.com", "a", "mail-1.example.com", "under_score.example",
                           "123.example", "xn--bcher-kva.example"}) {
    EXPECT_TRUE(valid_hostname(good)) << good;
  }
  const std::string long_label(64, 'a');
  for (std::string_view bad :
       {std::string_view(""), std::string_view("-a.example"), std::string_view("a-.example"),
        std::string_view("a..example"), std::string_view(".example"), std::string_view("a b"),
        std::string_view("123.123.123.123"), std::string_view("a@b"),
        std::string_view(long_label)}) {
    EXPECT_FALSE(valid_hostname(bad)) << bad;
  }
  EXPECT_TRUE(valid_host_address("192.0.2.1"));
  EXPECT_FALSE(valid_host_address("0.255.255.255"));
  EXPECT_FALSE(valid_host_address("321.255.255.255"));
  EXPECT_FALSE(valid_host_address("1.2.3"));
  EXPECT_TRUE(valid_host_address("2001:db8::1"));
  EXPECT_TRUE(valid_address_literal("192.0.2.1"));
  EXPECT_TRUE(valid_address_literal("IPv6:2001:db8::1"));
  EXPECT_FALSE(valid_address_literal("2001:db8::1"));
  EXPECT_EQ(strip_trailing_dot("example.com."), "example.com");
  EXPECT_EQ(strip_trailing_dot("example.com.."), "example.com..");
}

}  // namespace
}  // namespace estafeta::policy
