// Tests for the flush request datagram codec and match (qmgr/flush_request.h).
#include "qmgr/flush_request.h"

#include <gtest/gtest.h>

namespace estafeta::qmgr {
namespace {

TEST(FlushRequestTest, RoundTrips) {
  for (const FlushRequest& r :
       {FlushRequest{}, FlushRequest{"example.org", "", ""}, FlushRequest{"", "ABC12", ""},
        FlushRequest{"example.org", "ABC", "[relay.example]:587"}}) {
    auto wire = encode_flush_request(r);
    ASSERT_TRUE(wire.has_value());
    EXPECT_TRUE(is_flush_request(*wire));
    EXPECT_EQ(parse_flush_request(*wire), r) << *wire;
  }
  EXPECT_EQ(*encode_flush_request({}), "!flush");
  EXPECT_EQ(*encode_flush_request({"a.example", "", "[h]:25"}),
            "!flush\nsite=a.example\nnexthop=[h]:25");
}

TEST(FlushRequestTest, RefusesWhatCannotTravel) {
  EXPECT_FALSE(encode_flush_request({"a\nid=x", "", ""}).has_value());
  EXPECT_FALSE(encode_flush_request({std::string(kMaxFlushRequestSize, 'a'), "", ""}));
}

TEST(FlushRequestTest, RejectsMalformedDatagrams) {
  for (std::string_view bad :
       {"", "flush", "!flushx", "!flush\n", "!flush\nsite=a\n", "!flush\nsite=", "!flush\nsite",
        "!flush\nsite=a\nsite=b", "!flush\nport=25", "!flush\nsite=a\tb", "!flush\n=x"}) {
    EXPECT_FALSE(parse_flush_request(bad).has_value()) << bad;
  }
  EXPECT_FALSE(is_flush_request("ABCDEF0123"));
  EXPECT_FALSE(is_flush_request(""));
}

TEST(FlushRequestTest, MatchesBySiteAndQueueId) {
  const std::vector<std::string> rcpts = {"a@one.example", "b@Two.Example"};
  EXPECT_TRUE(flush_matches({}, "ABC", rcpts));
  EXPECT_TRUE(flush_matches({"two.EXAMPLE", "", ""}, "ABC", rcpts));
  EXPECT_FALSE(flush_matches({"three.example", "", ""}, "ABC", rcpts));
  EXPECT_FALSE(flush_matches({"example", "", ""}, "ABC", rcpts));  // no subdomain match
  EXPECT_TRUE(flush_matches({"", "BC", ""}, "ABC", rcpts));
  EXPECT_FALSE(flush_matches({"", "XY", ""}, "ABC", rcpts));
  EXPECT_FALSE(flush_matches({"one.example", "XY", ""}, "ABC", rcpts));
  EXPECT_FALSE(flush_matches({"one.example", "", ""}, "ABC", {}));
}

TEST(FlushRequestTest, FindsRoutesByName) {
  const std::vector<std::string> routes = {"isp1=[smtp.isp1.example]:587", "bad",
                                           "empty=", "isp2=mail.isp2.example"};
  EXPECT_EQ(find_flush_route(routes, "isp1"), "[smtp.isp1.example]:587");
  EXPECT_EQ(find_flush_route(routes, "isp2"), "mail.isp2.example");
  EXPECT_EQ(find_flush_route(routes, "isp"), std::nullopt);
  EXPECT_EQ(find_flush_route(routes, "bad"), std::nullopt);
  EXPECT_EQ(find_flush_route(routes, "empty"), std::nullopt);
}

}  // namespace
}  // namespace estafeta::qmgr
