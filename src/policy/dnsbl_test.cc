// Tests for DNS list query names, reply filters and reply templates.
#include "policy/dnsbl.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace estafeta::policy
