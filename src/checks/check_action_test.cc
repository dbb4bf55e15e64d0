// Table-driven tests of the header_checks/body_checks action parser.
#include "checks/check_action.h"

#include <gtest/gtest.h>

namespace estafeta::checks {
namespace {

struct Case {
  std::string value;
  ActionKind kind;
  std::string text;
  std::string warning;  // "" for none
};

TEST(CheckAction, ParsesEveryAction) {
  const Case cases[] = {
      {"REJECT", ActionKind::Reject, "5.7.1 message content rejected", ""},
      {"reject", ActionKind::Reject, "5.7.1 message content rejected", ""},
      {"REJECT no spam here", ActionKind::Reject, "5.7.1 no spam here", ""},
      {"REJECT\t  tabs first", ActionKind::Reject, "5.7.1 tabs first", ""},
      {"REJECT 5.7.0 own code", ActionKind::Reject, "5.7.0 own code", ""},
      {"REJECT 4.7.1 later", ActionKind::Reject, "4.7.1 later", ""},
      {"REJECT 4.123.456", ActionKind::Reject, "4.123.456", ""},
      // An SMTP code is just text: Postfix logs "5.7.1 554 Character set prohibited".
      {"REJECT 554 bad", ActionKind::Reject, "5.7.1 554 bad", ""},
      {"REJECT 5.7.1234 x", ActionKind::Reject, "5.7.1 5.7.1234 x", ""},
      {"REJECT 3.1.1 x", ActionKind::Reject, "5.7.1 3.1.1 x", ""},
      {"REJECT 2.0.0 fine", ActionKind::Reject, "4.0.0 fine",
       "bad DSN action in 2.0.0 fine -- need 4.x.x or 5.x.x"},
      {"WARN", ActionKind::Warn, "", ""},
      {"Warn look here", ActionKind::Warn, "look here", ""},
      {"INFO routine", ActionKind::Info, "routine", ""},
      {"HOLD", ActionKind::Hold, "", ""},
      {"hold check it", ActionKind::Hold, "check it", ""},
      {"DISCARD gone", ActionKind::Discard, "gone", ""},
      {"PASS trusted", ActionKind::Pass, "trusted", ""},
      {"IGNORE", ActionKind::Ignore, "", ""},
      {"STRIP removed", ActionKind::Strip, "removed", ""},
      {"PREPEND X-Seen: yes", ActionKind::Prepend, "X-Seen: yes", ""},
      {"PREPEND", ActionKind::Dunno, "", "PREPEND action without text in header_checks map"},
      {"REPLACE Subject: clean", ActionKind::Replace, "Subject: clean", ""},
      {"replace", ActionKind::Dunno, "", "REPLACE action without text in header_checks map"},
      {"REDIRECT abuse@example.org", ActionKind::Redirect, "abuse@example.org", ""},
      {"REDIRECT abuse", ActionKind::Dunno, "",
       "bad REDIRECT address \"abuse\" in header_checks map -- need user@domain"},
      {"BCC archive@example.org", ActionKind::Bcc, "archive@example.org", ""},
      {"BCC", ActionKind::Dunno, "",
       "bad BCC address \"\" in header_checks map -- need user@domain"},
      {"FILTER smtp:[127.0.0.1]:10025", ActionKind::Filter, "smtp:[127.0.0.1]:10025", ""},
      {"FILTER scan:", ActionKind::Filter, "scan:", ""},
      {"FILTER scan", ActionKind::Dunno, "",
       "bad FILTER action \"scan\" in header_checks map -- need transport:destination"},
      {"DUNNO", ActionKind::Dunno, "", ""},
      {"OK", ActionKind::Dunno, "", ""},
      {"ok whatever", ActionKind::Dunno, "", ""},
      {"FROB it", ActionKind::Dunno, "", "unknown command in header_checks map: FROB it"},
      {"REJECTED", ActionKind::Dunno, "", "unknown command in header_checks map: REJECTED"},
      {"550 no", ActionKind::Dunno, "", "unknown command in header_checks map: 550 no"},
      {"", ActionKind::Dunno, "", "unknown command in header_checks map: "},
  };
  for (const Case& c : cases) {
    ParsedAction p = parse_check_action(c.value, "header_checks");
    EXPECT_EQ(p.action.kind, c.kind) << c.value;
    EXPECT_EQ(p.action.text, c.text) << c.value;
    EXPECT_EQ(p.warning.value_or(""), c.warning) << c.value;
  }
}

TEST(CheckAction, EnhancedCode) {
  EXPECT_TRUE(starts_with_enhanced_code("5.7.1"));
  EXPECT_TRUE(starts_with_enhanced_code("4.0.0 text"));
  EXPECT_TRUE(starts_with_enhanced_code("2.1.5\tx"));
  EXPECT_FALSE(starts_with_enhanced_code("5.7.1x"));
  EXPECT_FALSE(starts_with_enhanced_code("6.7.1"));
  EXPECT_FALSE(starts_with_enhanced_code("5.7"));
  EXPECT_FALSE(starts_with_enhanced_code("5..1"));
  EXPECT_FALSE(starts_with_enhanced_code("5.1234.1"));
  EXPECT_FALSE(starts_with_enhanced_code(""));
}

}  // namespace
}  // namespace estafeta::checks
