// Table-driven tests for access(5) values: every action, status codes, unusable values.
#include "policy/access_action.h"

#include <gtest/gtest.h>

namespace estafeta::policy {
namespace {

using K = AccessActionKind;

TEST(AccessAction, EveryAction) {
  struct Case {
    const char* value;
    K kind;
    int code;
    const char* dsn;
    const char* text;
  } cases[] = {
      {"OK", K::Ok, 0, "", ""},
      {"ok trailing text", K::Ok, 0, "", ""},
      {"RELAY", K::Ok, 0, "", ""},
      {"1712345678", K::Ok, 0, "", ""},
      {"450", K::Ok, 0, "", ""},  // all digits wins over a reply code, as in Postfix
      {"REJECT", K::Reject, 0, "", ""},
      {"reject go away", K::Reject, 0, "", "go away"},
      {"REJECT 5.7.0 go away", K::Reject, 0, "5.7.0", "go away"},
      {"REJECT 5.7.0", K::Reject, 0, "5.7.0", ""},
      {"REJECT 5.7.0x no code", K::Reject, 0, "", "5.7.0x no code"},
      {"DEFER", K::Defer, 0, "", ""},
      {"DEFER 4.3.2 later", K::Defer, 0, "4.3.2", "later"},
      {"DEFER_IF_REJECT", K::DeferIfReject, 0, "", ""},
      {"defer_if_reject maybe", K::DeferIfReject, 0, "", "maybe"},
      {"DEFER_IF_PERMIT 4.7.0 soon", K::DeferIfPermit, 0, "4.7.0", "soon"},
      {"450 try later", K::Reply, 450, "", "try later"},
      {"554 5.7.1 blocked", K::Reply, 554, "5.7.1", "blocked"},
      {"521 go away", K::Reply, 521, "", "go away"},
      {"250 fine", K::Restrictions, 0, "", ""},  // not 4xx/5xx: restriction names
      {"DISCARD", K::Discard, 0, "", ""},
      {"DISCARD spam", K::Discard, 0, "", "spam"},
      {"HOLD", K::Hold, 0, "", ""},
      {"HOLD look at it", K::Hold, 0, "", "look at it"},
      {"DUNNO", K::Dunno, 0, "", ""},
      {"dunno whatever", K::Dunno, 0, "", ""},
      {"PREPEND X-Seen: yes", K::Prepend, 0, "", "X-Seen: yes"},
      {"REDIRECT abuse@example.com", K::Redirect, 0, "", "abuse@example.com"},
      {"FILTER smtp:[10.0.0.1]:10025", K::Filter, 0, "", "smtp:[10.0.0.1]:10025"},
      {"FILTER scan:", K::Filter, 0, "", "scan:"},
      {"WARN suspicious", K::Warn, 0, "", "suspicious"},
      {"WARN", K::Warn, 0, "", ""},
      {"INFO noted", K::Info, 0, "", "noted"},
      {"BCC archive@example.com", K::Bcc, 0, "", "archive@example.com"},
  };
  for (const Case& c : cases) {
    AccessAction a = parse_access_action(c.value);
    EXPECT_EQ(a.kind, c.kind) << c.value;
    EXPECT_EQ(a.code, c.code) << c.value;
    EXPECT_EQ(a.dsn, c.dsn) << c.value;
    if (c.kind != K::Restrictions) {
      EXPECT_EQ(a.text, c.text) << c.value;
    }
    EXPECT_EQ(a.warning, "") << c.value;
  }
}

TEST(AccessAction, UnusableValuesActAsDunnoWithAWarning) {
  for (const char* value : {"FILTER", "FILTER nocolon", "REDIRECT nobody", "BCC nobody",
                            "PREPEND", "PREPEND no header", "PREPEND : empty name"}) {
    AccessAction a = parse_access_action(value);
    EXPECT_EQ(a.kind, K::Dunno) << value;
    EXPECT_NE(a.warning, "") << value;
  }
}

TEST(AccessAction, RestrictionListsAndTables) {
  AccessAction a = parse_access_action("permit_mynetworks, reject_unauth_destination  reject");
  EXPECT_EQ(a.kind, K::Restrictions);
  EXPECT_EQ(a.restrictions,
            (std::vector<std::string>{"permit_mynetworks", "reject_unauth_destination", "reject"}));
  EXPECT_EQ(parse_access_action("my_class").restrictions, std::vector<std::string>{"my_class"});
  EXPECT_TRUE(parse_access_action("").restrictions.empty());
  EXPECT_EQ(parse_access_action("").kind, K::Restrictions);
  AccessAction t = parse_access_action("check_client_access hash:/etc/x");
  EXPECT_EQ(t.kind, K::ServerError);
  EXPECT_NE(t.warning, "");
}

TEST(AccessAction, StatusCodes) {
  size_t n = 0;
  EXPECT_TRUE(starts_with_status_code("5.7.1 text", &n));
  EXPECT_EQ(n, 5u);
  EXPECT_TRUE(starts_with_status_code("4.123.456", &n));
  EXPECT_EQ(n, 9u);
  EXPECT_TRUE(starts_with_status_code("2.0.0"));
  EXPECT_FALSE(starts_with_status_code("3.0.0"));
  EXPECT_FALSE(starts_with_status_code("5.7"));
  EXPECT_FALSE(starts_with_status_code("5.1234.1"));
  EXPECT_FALSE(starts_with_status_code("5.7.1x"));
  EXPECT_FALSE(starts_with_status_code(""));
}

TEST(AccessAction, FixStatusCode) {
  struct Case {
    const char* dsn;
    const char* klass;
    const char* fixed;
  } cases[] = {
      {"5.1.1", "Sender address", "5.1.0"},   {"5.1.2", "Sender address", "5.1.8"},
      {"5.1.3", "Sender address", "5.1.7"},   {"5.1.8", "Recipient address", "5.1.2"},
      {"5.1.7", "Recipient address", "5.1.3"}, {"4.1.6", "Recipient address", "4.1.6"},
      {"5.1.9", "Recipient address", "5.1.0"}, {"5.1.1", "Client host", "5.0.0"},
      {"4.1.8", "Helo command", "4.0.0"},     {"5.7.1", "Sender address", "5.7.1"},
      {"4.3.5", "Client host", "4.3.5"},
  };
  for (const Case& c : cases) EXPECT_EQ(fix_status_code(c.dsn, c.klass), c.fixed) << c.dsn;
}

TEST(AccessAction, HeaderLines) {
  EXPECT_TRUE(is_header_line("X-A: b"));
  EXPECT_TRUE(is_header_line("X-A:b"));
  EXPECT_TRUE(is_header_line("X-A :b"));
  EXPECT_FALSE(is_header_line(": b"));
  EXPECT_FALSE(is_header_line("X A: b"));
  EXPECT_FALSE(is_header_line("X-A"));
}

}  // namespace
}  // namespace estafeta::policy
