// Tests of host name and address literal syntax (hostname_syntax.h), Postfix's valid_hostname.
#include "policy/hostname_syntax.h"

#include <gtest/gtest.h>

#include <string>

namespace estafeta::policy {
namespace {

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

TEST(HostnameSyntax, ProblemsInPostfixWords) {
  struct Case {
    std::string name;
    const char* problem;  // null: a valid host name
  } cases[] = {
      {"mail.example.com", nullptr},
      {"host_with_underscore.example", nullptr},
      {"123.example", nullptr},
      {"", "empty hostname"},
      {"1.2.3", "numeric hostname"},
      {"192.0.2.1", "numeric hostname"},
      {"a..b", "misplaced delimiter"},
      {".a", "misplaced delimiter"},
      {"a.", "misplaced delimiter"},
      {"-a.example", "misplaced hyphen"},
      {"a-.example", "misplaced hyphen"},
      {"a.example-", "misplaced hyphen"},
      {"a b.example", "invalid character 32(decimal)"},
      {"caf\xc3\xa9.example", "invalid character 195(decimal)"},
      {std::string(63, 'a') + ".example", nullptr},
      {std::string(64, 'a') + ".example", "hostname label too long"},
  };
  for (const Case& c : cases) {
    auto problem = hostname_syntax_problem(c.name);
    EXPECT_EQ(valid_hostname(c.name), c.problem == nullptr) << c.name;
    if (c.problem == nullptr) {
      EXPECT_FALSE(problem) << c.name << ": " << *problem;
    } else {
      EXPECT_EQ(problem.value_or("(none)"), c.problem) << c.name;
    }
  }
  std::string long_name;
  while (long_name.size() < 250) long_name += "abcdefghi.";
  long_name += "example";  // 257 bytes
  EXPECT_EQ(hostname_syntax_problem(long_name).value_or(""), "bad length 257");
  EXPECT_FALSE(valid_hostname(long_name));
}

}  // namespace
}  // namespace estafeta::policy
