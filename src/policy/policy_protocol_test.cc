// Tests of the policy delegation codec: the request's order and sanitizing, and the response
// parser on every fragment split of each input.
#include "policy/policy_protocol.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace estafeta::policy {
namespace {

TEST(PolicyRequest, AttributesInPostfixOrder) {
  PolicyRequestFacts f;
  f.protocol_state = "RCPT";
  f.protocol_name = "ESMTP";
  f.helo_name = "mx.example.net";
  f.sender = "a@example.net";
  f.recipient = "b@example.org";
  f.client_address = "192.0.2.7";
  f.client_name = "unknown";
  f.size = 1234;
  f.client_port = "40000";
  PolicyAttributes a = request_attributes(f);
  std::vector<std::string> names;
  for (const auto& attribute : a) names.push_back(attribute.name);
  const std::vector<std::string> expected = {
      "request", "protocol_state", "protocol_name", "helo_name", "queue_id", "sender",
      "recipient", "recipient_count", "client_address", "client_name", "reverse_client_name",
      "instance", "sasl_method", "sasl_username", "sasl_sender", "size", "ccert_subject",
      "ccert_issuer", "ccert_fingerprint", "encryption_protocol", "encryption_cipher",
      "encryption_keysize", "etrn_domain", "stress", "ccert_pubkey_fingerprint", "client_port",
      "policy_context", "server_address", "server_port"};
  EXPECT_EQ(names, expected);
  EXPECT_EQ(a[0].value, "smtpd_access_policy");
  EXPECT_EQ(a[7].value, "0");
  EXPECT_EQ(a[15].value, "1234");

  f.compatibility_level = "3.6";
  f.mail_version = "0.1.0";
  a = request_attributes(f);
  ASSERT_EQ(a.size(), expected.size() + 2);
  EXPECT_EQ(a[a.size() - 2], (PolicyAttribute{"compatibility_level", "3.6"}));
  EXPECT_EQ(a.back(), (PolicyAttribute{"mail_version", "0.1.0"}));
}

TEST(PolicyRequest, EncodesLinesAndTheEmptyLine) {
  const PolicyAttributes a = {{"request", "smtpd_access_policy"}, {"sender", ""},
                              {"helo_name", "a=b"}};
  auto encoded = encode_request(a);
  ASSERT_TRUE(encoded.ok()) << encoded.error().message;
  EXPECT_EQ(*encoded, "request=smtpd_access_policy\nsender=\nhelo_name=a=b\n\n");
  EXPECT_EQ(*encode_request({}), "\n");
}

TEST(PolicyRequest, SanitizesValuesThatWouldEndTheirLine) {
  const PolicyAttributes a = {{"helo_name", "x\n\nrequest=forged\r"},
                              {"sender", std::string("a\0b", 3)}};
  auto encoded = encode_request(a);
  ASSERT_TRUE(encoded.ok());
  EXPECT_EQ(*encoded, "helo_name=x??request=forged?\nsender=a?b\n\n");
}

TEST(PolicyRequest, RefusesBadNames) {
  for (const std::string& name : {std::string(), std::string("a=b"), std::string("a\nb"),
                                  std::string("a\rb"), std::string("a\0b", 3)}) {
    const PolicyAttributes a = {{"request", "x"}, {name, "v"}};
    EXPECT_FALSE(encode_request(a).ok()) << name;
  }
}

struct ResponseCase {
  std::string input;
  bool ok;
  std::string action_or_error;  // the action, or a substring of the error
  size_t consumed;              // octets feed() takes in total
};

// Feeds `input` split at every pair of points (three fragments) and checks each outcome.
void check_all_splits(const ResponseCase& c) {
  for (size_t i = 0; i <= c.input.size(); ++i) {
    for (size_t j = i; j <= c.input.size(); ++j) {
      ResponseParser parser;
      size_t used = 0;
      const std::string_view in(c.input);
      for (auto piece : {in.substr(0, i), in.substr(i, j - i), in.substr(j)}) {
        const size_t n = parser.feed(piece);
        used += n;
        if (n < piece.size()) {
          EXPECT_NE(parser.state(), ResponseParser::State::NeedMore);
          EXPECT_EQ(parser.feed(piece.substr(n)), 0u);
          break;
        }
      }
      SCOPED_TRACE(testing::Message() << "input \"" << c.input << "\" split " << i << "," << j);
      ASSERT_NE(parser.state(), ResponseParser::State::NeedMore);
      EXPECT_EQ(used, c.consumed);
      auto result = parser.result();
      ASSERT_EQ(result.ok(), c.ok);
      if (c.ok) {
        EXPECT_EQ(result->action, c.action_or_error);
      } else {
        EXPECT_NE(result.error().message.find(c.action_or_error), std::string::npos)
            << result.error().message;
      }
    }
  }
}

TEST(PolicyResponse, ParsesAtEverySplit) {
  const std::vector<ResponseCase> cases = {
      {"action=DUNNO\n\n", true, "DUNNO", 14},
      {"action=DEFER_IF_PERMIT Greylisted, see http://x/\n\n", true,
       "DEFER_IF_PERMIT Greylisted, see http://x/", 50},
      {"action=550 5.7.1 a=b\n\n", true, "550 5.7.1 a=b", 22},
      // Other attributes are skipped, before or after the action; the first action wins.
      {"x=1\naction=OK\nlog=y\naction=REJECT\n\n", true, "OK", 35},
      // The response ends at the empty line: what follows is not consumed.
      {"action=DUNNO\n\naction=REJECT\n\n", true, "DUNNO", 14},
      {"\n", false, "without an action", 1},
      {"foo=bar\n\n", false, "without an action", 9},
      {"action=\n\n", false, "empty action", 9},
      {"action\n\n", false, "without '='", 7},
      {"=x\n\n", false, "without a name", 3},
      {"action=DUNNO\r\n\r\n", false, "carriage return", 13},
      {std::string("action=DU\0NNO\n\n", 15), false, "NUL", 10},
  };
  for (const auto& c : cases) check_all_splits(c);
}

TEST(PolicyResponse, NeedsMoreUntilTheEmptyLine) {
  ResponseParser parser;
  EXPECT_EQ(parser.feed("action=DUNNO\n"), 13u);
  EXPECT_EQ(parser.state(), ResponseParser::State::NeedMore);
  EXPECT_FALSE(parser.result().ok());
  EXPECT_EQ(parser.feed(""), 0u);
  EXPECT_EQ(parser.feed("\n"), 1u);
  EXPECT_EQ(parser.state(), ResponseParser::State::Done);
}

TEST(PolicyResponse, LineLengthLimit) {
  ResponseLimits limits;
  limits.line_length = 20;
  const std::string at_limit = "action=" + std::string(13, 'x');  // 20 octets
  ResponseParser ok(limits);
  EXPECT_EQ(ok.feed(at_limit + "\n\n"), 22u);
  ASSERT_TRUE(ok.result().ok());
  EXPECT_EQ(ok.result()->action, std::string(13, 'x'));

  // One more octet fails as it arrives, before any line end.
  ResponseParser too_long(limits);
  EXPECT_EQ(too_long.feed(at_limit), 20u);
  EXPECT_EQ(too_long.state(), ResponseParser::State::NeedMore);
  EXPECT_EQ(too_long.feed("y"), 1u);
  EXPECT_EQ(too_long.state(), ResponseParser::State::Failed);
  EXPECT_NE(too_long.result().error().message.find("longer than 20"), std::string::npos);
}

TEST(PolicyResponse, AttributeCountLimit) {
  ResponseLimits limits;
  limits.max_attributes = 3;
  ResponseParser ok(limits);
  ok.feed("a=1\nb=2\naction=OK\n\n");
  EXPECT_EQ(ok.state(), ResponseParser::State::Done);
  ResponseParser too_many(limits);
  too_many.feed("a=1\nb=2\nc=3\naction=OK\n\n");
  EXPECT_EQ(too_many.state(), ResponseParser::State::Failed);
  EXPECT_NE(too_many.result().error().message.find("more than 3"), std::string::npos);
}

TEST(PolicyResponse, ErrorsAreSticky) {
  ResponseParser parser;
  EXPECT_EQ(parser.feed("garbage\naction=OK\n\n"), 8u);
  EXPECT_EQ(parser.state(), ResponseParser::State::Failed);
  EXPECT_EQ(parser.feed("action=OK\n\n"), 0u);
  EXPECT_FALSE(parser.result().ok());
}

}  // namespace
}  // namespace estafeta::policy
