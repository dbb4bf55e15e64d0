// Tests of the Received: hop count.
#include "checks/hop_count.h"

#include <gtest/gtest.h>

namespace estafeta::checks {
namespace {

TEST(HopCount, RecognisesReceived) {
  EXPECT_TRUE(is_received_header("Received: from a by b"));
  EXPECT_TRUE(is_received_header("RECEIVED:x"));
  EXPECT_TRUE(is_received_header("received \t: from a\n\tby b"));
  EXPECT_FALSE(is_received_header("Received-SPF: pass"));
  EXPECT_FALSE(is_received_header("X-Received: from a"));
  EXPECT_FALSE(is_received_header("Received"));
  EXPECT_FALSE(is_received_header("Delivered-To: a@b"));
  EXPECT_FALSE(is_received_header(""));
}

TEST(HopCount, LimitIsReachedAtTheLimit) {
  HopCounter counter(3);
  counter.add_header("Received: one");
  counter.add_header("Subject: not a hop");
  counter.add_header("Received: two");
  EXPECT_EQ(counter.count(), 2u);
  EXPECT_FALSE(counter.exceeded());
  counter.add_header("received : three");
  EXPECT_TRUE(counter.exceeded());
}

TEST(HopCount, DefaultIsPostfixs) {
  HopCounter counter;
  for (int i = 0; i < 49; ++i) counter.add_header("Received: x");
  EXPECT_FALSE(counter.exceeded());
  counter.add_header("Received: x");
  EXPECT_TRUE(counter.exceeded());
}

}  // namespace
}  // namespace estafeta::checks
