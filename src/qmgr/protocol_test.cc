// Tests for the queue manager <-> agent protocol and the queue manager <-> bounce service
// messages: round trips, messages arriving in pieces of every size, several messages in one
// buffer, and malformed or foreign input.
#include "qmgr/protocol.h"

#include <gtest/gtest.h>

#include <string>

#include "queue/record.h"

namespace estafeta::qmgr {
namespace {

// Feeds `stream` (two whole messages) to `take` in pieces of every size from one byte up:
// each time both messages come out whole, equal to `expected`, and nothing is left over.
template <class Take, class Message>
void expect_two_in_pieces_of_every_size(const std::string& stream, Take take,
                                         const Message& expected) {
  for (size_t piece = 1; piece <= stream.size(); ++piece) {
    std::string buffer;
    int whole = 0;
    for (size_t at = 0; at < stream.size(); at += piece) {
      buffer += stream.substr(at, piece);
      for (;;) {
        auto r = take(buffer);
        ASSERT_TRUE(r.ok()) << piece << ": " << r.error().message;
        if (!r->has_value()) break;
        EXPECT_EQ(**r, expected);
        ++whole;
      }
    }
    EXPECT_EQ(whole, 2) << "piece size " << piece;
    EXPECT_TRUE(buffer.empty());
  }
}

AgentRequest sample_request() {
  return {42, "0123456789ABCDEF01", "deferred", "local", "bob@localhost",
          {{0, "bob@localhost", "rfc822;bob@localhost", "SUCCESS,FAILURE", {}},
           {3, "carol@localhost", "", "", {"f3a9c2", "mailbox"}}},
          true,
          true,
          true};
}

AgentReply sample_reply() {
  return {42,
          {{0, RecipientOutcome::kDelivered, "2.0.0", "delivered to maildir", "", "local",
            "relayed", {}},
           {3, RecipientOutcome::kBounced, "5.1.1", "unknown user", "x-unix; no such user",
            "local", "", {}},
           {4, RecipientOutcome::kDeferred, "4.2.0", "mailbox locked", "", "local", "",
            {"f3a9c2", "b7"}},
           {5, RecipientOutcome::kDelivered, "2.0.0", "250 2.0.0 Ok", "",
            "mx.example[192.0.2.1]:25", "passed", {}}},
          ""};
}

TEST(Protocol, RequestRoundTrip) {
  std::string buffer = encode_request(sample_request());
  auto r = take_request(buffer);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ(**r, sample_request());
  EXPECT_TRUE(buffer.empty());
}

TEST(Protocol, FlagsAreLeftOutWhenFalse) {
  AgentRequest request = sample_request();
  request.after_restart = false;
  request.more_mail = false;
  request.release_wanted = false;
  std::string buffer = encode_request(request);
  EXPECT_LT(buffer.size(), encode_request(sample_request()).size());
  auto r = take_request(buffer);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ(**r, request);
}

TEST(Protocol, ReplyRoundTripWithDestinationFailure) {
  AgentReply reply = sample_reply();
  reply.destination_failure = "connect to mx.example[192.0.2.1]:25: Connection refused";
  std::string buffer = encode_reply(reply);
  auto r = take_reply(buffer);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ(**r, reply);
}

TEST(Protocol, AReplyWhoseResultsFollowRoundTripsAndCarriesNoResults) {
  AgentReply early;
  early.id = 42;
  early.results_follow = true;
  std::string buffer = encode_reply(early) + encode_reply(sample_reply());
  auto first = take_reply(buffer);
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ(**first, early);
  auto second = take_reply(buffer);
  ASSERT_TRUE(second.ok()) << second.error().message;
  ASSERT_TRUE(second->has_value());
  EXPECT_EQ(**second, sample_reply());

  AgentReply both = sample_reply();
  both.results_follow = true;
  std::string bad = encode_reply(both);
  auto r = take_reply(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("results follow"), std::string::npos) << r.error().message;
}

TEST(Protocol, MessagesArriveInPiecesOfEverySize) {
  const std::string one = encode_request(sample_request());
  expect_two_in_pieces_of_every_size(one + one, take_request, sample_request());
}

TEST(Protocol, MalformedInputIsAnError) {
  auto request_with = [](std::initializer_list<std::pair<char, std::string>> fields) {
    std::string payload, out;
    for (const auto& [type, value] : fields) queue::put_record(payload, type, value);
    queue::put_record(out, 'D', payload);
    return out;
  };
  struct Case {
    std::string name;
    std::string bytes;
    std::string reason;
  };
  std::vector<Case> cases = {
      {"a reply where a request is due", encode_reply(sample_reply()), "unexpected"},
      {"other version", request_with({{'v', "2"}}), "version"},
      {"version not first", request_with({{'n', "1"}, {'v', "1"}}), "version must come first"},
      {"no recipients", request_with({{'v', "1"}, {'n', "1"}, {'q', "Q"}, {'t', "local"}}),
       "incomplete"},
      {"unknown field", request_with({{'v', "1"}, {'z', "?"}}), "unknown"},
      {"bad id", request_with({{'v', "1"}, {'n', "01"}}), "bad request id"},
      {"recipient without address",
       request_with({{'v', "1"}, {'n', "1"}, {'q', "Q"}, {'t', "l"}, {'R', std::string("i\x01" "0", 3)}}),
       "without index or address"},
      {"empty done-action key",
       request_with({{'v', "1"}, {'n', "1"}, {'q', "Q"}, {'t', "l"},
                     {'R', std::string("i\x01" "0" "a\x01" "b" "D\x00", 8)}}),
       "bad done action"},
      {"bad more-mail flag", request_with({{'v', "1"}, {'M', "0"}}), "more-mail"},
      {"bad release-wanted flag", request_with({{'v', "1"}, {'E', "2"}}), "release-wanted"},
      {"oversized length", std::string("D\xff\xff\xff\x7f", 5), "too"},
  };
  for (auto& c : cases) {
    auto r = take_request(c.bytes);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_NE(r.error().message.find(c.reason), std::string::npos)
        << c.name << ": " << r.error().message;
  }
  std::string bad_outcome;
  {
    std::string rp, p;
    queue::put_record(rp, 'i', "0");
    queue::put_record(rp, 'k', "z");
    queue::put_record(p, 'v', "1");
    queue::put_record(p, 'n', "1");
    queue::put_record(p, 'R', rp);
    queue::put_record(bad_outcome, 'A', p);
  }
  auto r = take_reply(bad_outcome);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("bad outcome"), std::string::npos);
}

BounceRequest sample_bounce_request() {
  return {7,
          "0123456789ABCDEF01",
          "deferred",
          NoticeRequestKind::kFailure,
          {{0, "bob@localhost", "5.1.3", "illegal mailbox name", "", "local", 1796482179000000,
            "expanded"},
           {2, "x@remote.example", "4.4.1", "connect to mx: refused", "smtp; 421 later",
            "mx.remote.example", 0}}};
}

TEST(BounceProtocol, RoundTripsOfEveryKind) {
  for (NoticeRequestKind kind :
       {NoticeRequestKind::kFailure, NoticeRequestKind::kDelay, NoticeRequestKind::kSuccess,
        NoticeRequestKind::kResource, NoticeRequestKind::kSoftware}) {
    BounceRequest request = sample_bounce_request();
    request.kind = kind;
    std::string buffer = encode_bounce_request(request);
    auto r = take_bounce_request(buffer);
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_TRUE(r->has_value());
    EXPECT_EQ(**r, request);
    EXPECT_TRUE(buffer.empty());
  }
  for (const BounceReply& reply :
       {BounceReply{7, {"0123456789ABCDEF02", "0123456789ABCDEF03"}, ""},
        BounceReply{8, {}, ""}, BounceReply{9, {}, "cannot queue the notice: No space left"}}) {
    std::string buffer = encode_bounce_reply(reply);
    auto r = take_bounce_reply(buffer);
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_TRUE(r->has_value());
    EXPECT_EQ(**r, reply);
  }
}

TEST(BounceProtocol, MessagesArriveInPiecesOfEverySize) {
  const std::string one = encode_bounce_request(sample_bounce_request());
  expect_two_in_pieces_of_every_size(one + one, take_bounce_request, sample_bounce_request());
}

TEST(BounceProtocol, MalformedInputIsAnError) {
  auto message = [](char type, std::initializer_list<std::pair<char, std::string>> fields) {
    std::string payload, out;
    for (const auto& [t, value] : fields) queue::put_record(payload, t, value);
    queue::put_record(out, type, payload);
    return out;
  };
  std::string recipient;
  queue::put_record(recipient, 'i', "0");
  queue::put_record(recipient, 'a', "bob@localhost");
  struct Case {
    std::string name;
    std::string bytes;
    std::string reason;
  };
  std::vector<Case> requests = {
      {"an agent request", encode_request(sample_request()), "unexpected"},
      {"other version", message('B', {{'v', "2"}}), "version"},
      {"no kind", message('B', {{'v', "1"}, {'n', "1"}, {'q', "Q"}, {'R', recipient}}),
       "incomplete"},
      {"bad kind", message('B', {{'v', "1"}, {'k', "z"}}), "bad kind"},
      {"no recipients", message('B', {{'v', "1"}, {'n', "1"}, {'q', "Q"}, {'k', "f"}}),
       "incomplete"},
      {"bad queue", message('B', {{'v', "1"}, {'u', "hold"}}), "bad queue"},
      {"bad last attempt",
       message('B', {{'v', "1"}, {'R', recipient + std::string("l\x02-1", 4)}}),
       "bad last attempt"},
      {"unknown action",
       message('B', {{'v', "1"}, {'R', recipient + std::string("c\x06") + "failed"}}),
       "bad action"},
      {"unknown field", message('B', {{'v', "1"}, {'z', "?"}}), "unknown"},
  };
  for (auto& c : requests) {
    auto r = take_bounce_request(c.bytes);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_NE(r.error().message.find(c.reason), std::string::npos)
        << c.name << ": " << r.error().message;
  }
  std::vector<Case> replies = {
      {"no id", message('b', {{'v', "1"}}), "incomplete"},
      {"empty notice id", message('b', {{'v', "1"}, {'n', "1"}, {'N', ""}}), "empty notice id"},
      {"notices and an error",
       message('b', {{'v', "1"}, {'n', "1"}, {'N', "X"}, {'e', "full"}}), "both"},
      {"an agent reply", encode_reply(sample_reply()), "unexpected"},
  };
  for (auto& c : replies) {
    auto r = take_bounce_reply(c.bytes);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_NE(r.error().message.find(c.reason), std::string::npos)
        << c.name << ": " << r.error().message;
  }
}

}  // namespace
}  // namespace estafeta::qmgr
