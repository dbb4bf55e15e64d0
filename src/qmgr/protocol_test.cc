// Tests for the queue manager <-> agent protocol: round trips, messages arriving in pieces
// of every size, several messages in one buffer, and malformed or foreign input.
#include "qmgr/protocol.h"

#include <gtest/gtest.h>

#include <string>

#include "queue/record.h"

namespace estafeta::qmgr {
namespace {

AgentRequest sample_request() {
  return {42, "0123456789ABCDEF01", "deferred", "local", "bob@localhost",
          {{0, "bob@localhost", "rfc822;bob@localhost", "SUCCESS,FAILURE"},
           {3, "carol@localhost", "", ""}}};
}

AgentReply sample_reply() {
  return {42,
          {{0, RecipientOutcome::kDelivered, "2.0.0", "delivered to maildir", "", "local"},
           {3, RecipientOutcome::kBounced, "5.1.1", "unknown user", "x-unix; no such user",
            "local"}},
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

TEST(Protocol, ReplyRoundTripWithDestinationFailure) {
  AgentReply reply = sample_reply();
  reply.destination_failure = "connect to mx.example[192.0.2.1]:25: Connection refused";
  std::string buffer = encode_reply(reply);
  auto r = take_reply(buffer);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ(**r, reply);
}

TEST(Protocol, MessagesArriveInPiecesOfEverySize) {
  const std::string stream = encode_request(sample_request()) + encode_request(sample_request());
  for (size_t piece = 1; piece <= stream.size(); ++piece) {
    std::string buffer;
    int whole = 0;
    for (size_t at = 0; at < stream.size(); at += piece) {
      buffer += stream.substr(at, piece);
      for (;;) {
        auto r = take_request(buffer);
        ASSERT_TRUE(r.ok()) << piece << ": " << r.error().message;
        if (!r->has_value()) break;
        EXPECT_EQ(**r, sample_request());
        ++whole;
      }
    }
    EXPECT_EQ(whole, 2) << "piece size " << piece;
    EXPECT_TRUE(buffer.empty());
  }
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

}  // namespace
}  // namespace estafeta::qmgr
