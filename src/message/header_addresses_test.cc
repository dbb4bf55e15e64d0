// Tests for header address lists: display names, comments, groups, quoted local parts,
// source routes, folding, and input that is not well formed.
#include "message/header_addresses.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>

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
  EXPECT_EQ(header_addresses("x (a (nested) comment, with comma) <y@z.org>"), List({"y@z.org"}));
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

// Spans: the bytes of each addr-spec as written.
std::vector<std::string> span_texts(std::string_view value) {
  std::vector<std::string> out;
  for (const HeaderAddress& a : header_address_spans(value)) {
    out.emplace_back(value.substr(a.begin, a.end - a.begin));
  }
  return out;
}

TEST(HeaderAddressSpans, CoverExactlyTheAddrSpec) {
  EXPECT_EQ(span_texts("Ann <ann@x.org>, bob@y.org (Bob)"), List({"ann@x.org", "bob@y.org"}));
  EXPECT_EQ(span_texts("<@r1,@r2:user@x.org>"), List({"user@x.org"}));
  EXPECT_EQ(span_texts("team: a@x.org,\r\n b @ x.org;"), List({"a@x.org", "b @ x.org"}));
  EXPECT_EQ(span_texts("\"q,uoted\"@x.org"), List({"\"q,uoted\"@x.org"}));
  EXPECT_EQ(span_texts("< a@x.org >"), List({"a@x.org"}));
  EXPECT_EQ(span_texts("<unterminated@x.org"), List({"unterminated@x.org"}));
  EXPECT_EQ(span_texts("\"open"), List({"\"open"}));
  auto spans = header_address_spans("x <a@b>");
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].address, "a@b");
  EXPECT_EQ(spans[0].begin, 3u);
  EXPECT_EQ(spans[0].end, 6u);
}

std::optional<std::string> rename_a_at_b(std::string_view address) {
  if (address == "a@b") return std::string("alice@new.example");
  return std::nullopt;
}

TEST(RewriteHeaderAddresses, ReplacesOnlyTheAddrSpecBytes) {
  EXPECT_EQ(rewrite_header_addresses("\"Ann, A.\" <a@b> (comment),\r\n\tc@d", rename_a_at_b),
            "\"Ann, A.\" <alice@new.example> (comment),\r\n\tc@d");
  EXPECT_EQ(rewrite_header_addresses("g: a@b, a @ b;", rename_a_at_b),
            "g: alice@new.example, alice@new.example;");
  EXPECT_EQ(rewrite_header_addresses("<@relay:a@b>", rename_a_at_b), "<@relay:alice@new.example>");
}

TEST(RewriteHeaderAddresses, IdentityKeepsTheValue) {
  auto identity = [](std::string_view a) { return std::optional<std::string>(std::string(a)); };
  for (std::string_view v : {"Ann <ann @ x.org>", "a(b)c@d (e), \"f\" <g>", "x:;", "<<a>", "\\"}) {
    EXPECT_EQ(rewrite_header_addresses(v, identity), v);
  }
}

}  // namespace
}  // namespace estafeta::message
