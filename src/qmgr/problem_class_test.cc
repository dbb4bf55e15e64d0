// Tests for the classification of deferrals for notify_classes (table-driven).
#include "qmgr/problem_class.h"

#include <gtest/gtest.h>

namespace estafeta::qmgr {
namespace {

TEST(ProblemClass, ResourceSoftwareOrNone) {
  struct Case {
    Dsn dsn;
    ProblemClass expected;
  };
  const Case cases[] = {
      {{"4.3.1", "maildir delivery failed: No space left on device", "", "local"},
       ProblemClass::kResource},
      {{"4.3.0", std::string(kAgentDidNotReport), "", ""}, ProblemClass::kSoftware},
      {{"4.2.2", "maildir delivery failed: Disk quota exceeded", "", "local"},
       ProblemClass::kNone},  // the recipient's mailbox is full, not the system
      {{"4.3.0", "mail transport unavailable", "", "none"}, ProblemClass::kNone},
      {{"4.4.1", "connect to mx: Connection refused", "", ""}, ProblemClass::kNone},
      {{"4.3.10", "", "", ""}, ProblemClass::kNone},
      {{"", "", "", ""}, ProblemClass::kNone},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(problem_class(c.dsn), c.expected) << c.dsn.status << " " << c.dsn.reason;
  }
}

}  // namespace
}  // namespace estafeta::qmgr
