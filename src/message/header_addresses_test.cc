// Tests for header address lists: display names, comments, groups, quoted local parts,
// source routes, folding, and input that is not well formed.
#include "message/header_addresses.h"

#include <gtest/gtest.h>

namespace estafeta::message {
namespace {

using List = std::vector<std::string>;

TEST(HeaderAddresses, PlainAndNamedMailboxes) {
  EXPECT_EQ(header_addresses(" bob@example.org"), List({"bob@example.org"}));
  EXPECT_EQ(header_addresses("Ann Smith <ann@example.org>, \"Doe, John\" <jd@example.org>"),
            List({"ann@example.org", "jd@example.org"}));
  EXPECT_EQ(header_addresses("carol@example.org (Carol C.), dave"),
            List({"carol@example.org", "dave"}));
}

TEST(HeaderAddresses, GroupsFoldingAndRoutes) {
  EXPECT_EQ(header_addresses("undisclosed-recipients:;"), List());
  EXPECT_EQ(header_addresses("team: a@x.org, b@x.org;, c@x.org"),
            List({"a@x.org", "b@x.org", "c@x.org"}));
  EXPECT_EQ(header_addresses("a@x.org,\r\n\tB <b@x.org>"), List({"a@x.org", "b@x.org"}));
  EXPECT_EQ(header_addresses("<@relay.example,@r2.example:user@x.org>"), List({"user@x.org"}));
  EXPECT_EQ(header_addresses("ann @ example.org"), List({"ann@example.org"}));
}

TEST(HeaderAddresses, QuotedLocalPartsAndComments) {
  EXPECT_EQ(header_addresses("\"john doe\"@example.org"), List({"\"john doe\"@example.org"}));
  EXPECT_EQ(header_addresses("x (a (nested) comment, with comma) <y@z.org>"),
            List({"y@z.org"}));
  EXPECT_EQ(header_addresses("\"a\\\"b\" <q@z.org>"), List({"q@z.org"}));
}

TEST(HeaderAddresses, MalformedInputIsSkippedNotFatal) {
  EXPECT_EQ(header_addresses(""), List());
  EXPECT_EQ(header_addresses(",,, ;"), List());
  EXPECT_EQ(header_addresses("<unterminated@x.org"), List({"unterminated@x.org"}));
  EXPECT_EQ(header_addresses("\"open quote"), List({"\"open quote\""}));
  EXPECT_EQ(header_addresses("(open comment a@b"), List());
  EXPECT_EQ(header_addresses("Name <>"), List());
}

}  // namespace
}  // namespace estafeta::message
