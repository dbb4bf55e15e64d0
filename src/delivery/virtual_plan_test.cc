// Tests of the virtual delivery agent's decisions (virtual_plan.h): table search order,
// Maildir/mbox results, configuration errors.
#include "delivery/virtual_plan.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace estafeta::delivery {
namespace {

using Action = VirtualPlan::Action;

// A fixed table that records the keys it was asked.
struct Table {
  std::map<std::string, std::string, std::less<>> entries;
  bool temp_fail = false;
  std::vector<std::string> asked;
  KeyLookup lookup() {
    return [this](std::string_view key) {
      asked.emplace_back(key);
      if (temp_fail) return maps::LookupResult::temp_fail("db down");
      auto it = entries.find(key);
      return it == entries.end() ? maps::LookupResult::not_found()
                                 : maps::LookupResult::found(it->second);
    };
  }
};

class VirtualPlanTest : public ::testing::Test {
 protected:
  VirtualPlan plan(std::string_view address) {
    return plan_virtual_delivery(settings_, {mailbox_.lookup(), uid_.lookup(), gid_.lookup()},
                                 address);
  }
  VirtualSettings settings_{"/srv/vmail", 100, 51200000, 3, "+"};
  Table mailbox_{{{"ann@hosted.example", "hosted.example/ann/"},
                  {"bob@hosted.example", "hosted.example/bob"},
                  {"@catch.example", "catch/"}},
                 false,
                 {}};
  Table uid_{{{"@hosted.example", "5000"}, {"@catch.example", "5001"}}, false, {}};
  Table gid_{{{"@hosted.example", "6000"}, {"@catch.example", "6001"}}, false, {}};
};

TEST_F(VirtualPlanTest, MaildirAndMboxResults) {
  VirtualPlan p = plan("Ann@Hosted.Example");
  ASSERT_EQ(p.action, Action::Deliver) << p.reason;
  EXPECT_EQ(p.kind, TaskKind::Maildir);
  EXPECT_EQ(p.path, "/srv/vmail/hosted.example/ann/");
  EXPECT_EQ(p.uid, 5000u);
  EXPECT_EQ(p.gid, 6000u);
  p = plan("bob@hosted.example");
  ASSERT_EQ(p.action, Action::Deliver);
  EXPECT_EQ(p.kind, TaskKind::Mbox);
  EXPECT_EQ(p.path, "/srv/vmail/hosted.example/bob");
}

TEST_F(VirtualPlanTest, SearchOrderStripsTheExtensionThenTriesTheDomain) {
  VirtualPlan p = plan("ann+news@hosted.example");
  ASSERT_EQ(p.action, Action::Deliver);
  EXPECT_EQ(p.path, "/srv/vmail/hosted.example/ann/");
  EXPECT_EQ(mailbox_.asked,
            (std::vector<std::string>{"ann+news@hosted.example", "ann@hosted.example"}));
  mailbox_.asked.clear();
  p = plan("zed@catch.example");
  ASSERT_EQ(p.action, Action::Deliver);
  EXPECT_EQ(p.path, "/srv/vmail/catch/");
  EXPECT_EQ(mailbox_.asked, (std::vector<std::string>{"zed@catch.example", "@catch.example"}));
}

TEST_F(VirtualPlanTest, UnknownUserBounces) {
  VirtualPlan p = plan("nobody@hosted.example");
  EXPECT_EQ(p.action, Action::Bounce);
  EXPECT_EQ(p.dsn, "5.1.1");
  EXPECT_EQ(p.reason, "unknown user: \"nobody@hosted.example\"");
}

TEST_F(VirtualPlanTest, TableFailureDefers) {
  mailbox_.temp_fail = true;
  VirtualPlan p = plan("ann@hosted.example");
  EXPECT_EQ(p.action, Action::Defer);
  EXPECT_EQ(p.dsn, "4.3.0");
  EXPECT_EQ(p.reason, "virtual_mailbox_maps lookup failure: db down");
}

TEST_F(VirtualPlanTest, PathsOutsideTheBaseAreConfigurationErrors) {
  for (std::string bad : {"/etc/passwd", "../x/", "a/../../b", "..", "", "a/.."}) {
    mailbox_.entries["ann@hosted.example"] = bad;
    VirtualPlan p = plan("ann@hosted.example");
    EXPECT_EQ(p.action, Action::Defer) << bad;
    EXPECT_EQ(p.dsn, "4.3.5") << bad;
    EXPECT_EQ(p.reason, "mail system configuration error");
    EXPECT_NE(p.warning.find("not a path under virtual_mailbox_base"), std::string::npos);
  }
  mailbox_.entries["ann@hosted.example"] = "a..b/.x/";  // not a ".." component
  EXPECT_EQ(plan("ann@hosted.example").action, Action::Deliver);
}

// Every mailbox path the planner accepts is one the spawner's validate_task() accepts: a bad
// table entry is refused here, with the reason, not later by the spawner.
TEST_F(VirtualPlanTest, MailboxPathsAreAsStrictAsTheSpawner) {
  for (const std::string& bad : std::vector<std::string>{
           "./x/", "a/./b", "a//b/", "a/.", ".", std::string("x\0y", 3), std::string(5000, 'a')}) {
    mailbox_.entries["ann@hosted.example"] = bad;
    VirtualPlan p = plan("ann@hosted.example");
    EXPECT_EQ(p.action, Action::Defer) << bad;
    EXPECT_EQ(p.dsn, "4.3.5");
    EXPECT_NE(p.warning.find("not a path under virtual_mailbox_base"), std::string::npos)
        << p.warning;
  }
  mailbox_.entries["ann@hosted.example"] = "hosted.example/ann/";
  for (std::string base : {"relative/base", "/srv/../etc", "/srv//vmail"}) {
    settings_.mailbox_base = base;
    VirtualPlan p = plan("ann@hosted.example");
    EXPECT_EQ(p.action, Action::Defer) << base;
    EXPECT_NE(p.warning.find("virtual_mailbox_base \"" + base + "\" is not a clean absolute path"),
              std::string::npos)
        << p.warning;
  }
  settings_.mailbox_base = "/srv/vmail/";  // a trailing '/' is fine
  VirtualPlan p = plan("ann@hosted.example");
  ASSERT_EQ(p.action, Action::Deliver) << p.warning;
  DeliveryTask task;
  task.kind = p.kind;
  task.path = p.path;
  task.maildir_name = "1.2.host";
  task.as.uid = p.uid;
  task.as.gid = p.gid;
  EXPECT_EQ(validate_task(task), std::nullopt);
}

// virtual_mailbox_maps as a regexp: table is asked for the full address only.
TEST_F(VirtualPlanTest, PatternTablesSeeTheFullAddressOnly) {
  std::vector<std::pair<std::string, bool>> asked;
  KeyLookup pattern = [&asked](std::string_view key, bool partial) {
    asked.emplace_back(std::string(key), partial);
    return maps::LookupResult::not_found();
  };
  plan_virtual_delivery(settings_, {pattern, uid_.lookup(), gid_.lookup()}, "ann+x@hosted.example");
  EXPECT_EQ(asked, (std::vector<std::pair<std::string, bool>>{{"ann+x@hosted.example", false},
                                                              {"ann@hosted.example", true},
                                                              {"@hosted.example", true}}));
}

TEST_F(VirtualPlanTest, UidAndGidProblemsAreConfigurationErrors) {
  struct Case {
    std::string uid, gid, warning;
  };
  for (const Case& c : std::vector<Case>{
           {"99", "6000", "bad uid 99 in virtual_uid_maps (below virtual_minimum_uid 100)"},
           {"0", "6000", "bad uid 0"},
           {"x", "6000", "bad uid x"},
           {"", "6000", "bad uid "},
           {"5000", "0", "bad gid 0"},
           {"5000", "-1", "bad gid -1"},
       }) {
    uid_.entries["@hosted.example"] = c.uid;
    gid_.entries["@hosted.example"] = c.gid;
    VirtualPlan p = plan("ann@hosted.example");
    EXPECT_EQ(p.action, Action::Defer) << c.uid << "/" << c.gid;
    EXPECT_EQ(p.dsn, "4.3.5");
    EXPECT_NE(p.warning.find(c.warning), std::string::npos) << p.warning;
  }
  uid_.entries["@hosted.example"] = "100";  // the minimum itself is fine
  gid_.entries["@hosted.example"] = "6000";
  EXPECT_EQ(plan("ann@hosted.example").action, Action::Deliver);
  uid_.entries.clear();
  VirtualPlan p = plan("ann@hosted.example");
  EXPECT_EQ(p.dsn, "4.3.5");
  EXPECT_NE(p.warning.find("uid not found in virtual_uid_maps"), std::string::npos);
}

TEST_F(VirtualPlanTest, WithoutUidTablesNothingIsDelivered) {
  VirtualPlan p =
      plan_virtual_delivery(settings_, {mailbox_.lookup(), nullptr, nullptr}, "ann@hosted.example");
  EXPECT_EQ(p.action, Action::Defer);
  EXPECT_EQ(p.dsn, "4.3.5");
}

TEST(MboxLocksTest, Parses) {
  EXPECT_EQ(parse_mbox_locks("fcntl, dotlock"),
            unsigned(MboxLock::Fcntl) | unsigned(MboxLock::Dotlock));
  EXPECT_EQ(parse_mbox_locks("flock"), unsigned(MboxLock::Flock));
  EXPECT_EQ(parse_mbox_locks(""), 0u);
  EXPECT_EQ(parse_mbox_locks("fcntl lockf"), std::nullopt);
}

}  // namespace
}  // namespace estafeta::delivery
