// Tests for authorized_submit_users and local_login_sender_maps semantics.
#include "submit/submit_policy.h"

#include <gtest/gtest.h>

#include "maps/map_set.h"

namespace estafeta::submit {
namespace {

TEST(SubmitPolicy, AuthorizedUsers) {
  auto set = maps::MapSet::open({"static:anyone", "inline:{ carol=yes }"});
  ASSERT_TRUE(set.ok());
  SubmitPolicy anyone({{}, {set.set->find("static:anyone")}, {}});
  EXPECT_EQ(anyone.may_submit("alice"), policy::Match::Yes);
  SubmitPolicy listed({{"!bob", "root"}, {set.set->find("inline:{ carol=yes }")}, {}});
  EXPECT_EQ(listed.may_submit("root"), policy::Match::Yes);
  EXPECT_EQ(listed.may_submit("carol"), policy::Match::Yes);
  EXPECT_EQ(listed.may_submit("bob"), policy::Match::No);
  EXPECT_EQ(listed.may_submit("alice"), policy::Match::No);
  EXPECT_EQ(SubmitPolicy().may_submit("alice"), policy::Match::No);
}

TEST(SubmitPolicy, SenderPatterns) {
  auto set = maps::MapSet::open(
      {"static:*", "inline:{ { alice = alice@example.org, @lists.example.org <> } }"});
  ASSERT_TRUE(set.ok()) << set.errors.at(0);
  SubmitPolicy any({{}, {}, {set.set->find("static:*")}});
  EXPECT_EQ(any.may_use_sender("bob", "ceo@bank.example"), policy::Match::Yes);
  SubmitPolicy some(
      {{}, {}, {set.set->find("inline:{ { alice = alice@example.org, @lists.example.org <> } }")}});
  EXPECT_EQ(some.may_use_sender("alice", "alice@example.org"), policy::Match::Yes);
  EXPECT_EQ(some.may_use_sender("alice", "ALICE@Example.org"), policy::Match::Yes);
  EXPECT_EQ(some.may_use_sender("alice", "news@lists.example.org"), policy::Match::Yes);
  EXPECT_EQ(some.may_use_sender("alice", ""), policy::Match::Yes);
  EXPECT_EQ(some.may_use_sender("alice", "bob@example.org"), policy::Match::No);
  EXPECT_EQ(some.may_use_sender("alice", "x@evil.lists.example.org.net"), policy::Match::No);
  EXPECT_EQ(some.may_use_sender("bob", "bob@example.org"), policy::Match::No);
}

}  // namespace
}  // namespace estafeta::submit
