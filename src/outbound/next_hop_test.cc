// Tests of the next-hop parser (next_hop.h): input/expected pairs.
#include "outbound/next_hop.h"

#include <gtest/gtest.h>

namespace estafeta::outbound {
namespace {

TEST(NextHop, Accepted) {
  struct Case {
    const char* text;
    NextHop expected;
  };
  const Case cases[] = {
      {"example.com", {"example.com", 25, true}},
      {"example.com:587", {"example.com", 587, true}},
      {"example.com:submission", {"example.com", 587, true}},
      {"[mail.example.com]", {"mail.example.com", 25, false}},
      {"[mail.example.com]:smtp", {"mail.example.com", 25, false}},
      {"[192.0.2.1]:2525", {"192.0.2.1", 2525, false}},
      {"[2001:db8::1]:25", {"2001:db8::1", 25, false}},
      {"[ipv6:2001:db8::1]", {"2001:db8::1", 25, false}},
      {"relay.test:smtps", {"relay.test", 465, true}},
  };
  for (const Case& c : cases) {
    auto hop = parse_next_hop(c.text);
    ASSERT_TRUE(hop.ok()) << c.text << ": " << hop.error().message;
    EXPECT_EQ(*hop, c.expected) << c.text;
  }
}

TEST(NextHop, Refused) {
  for (const char* text : {"", "[]", "[host", "[host]x", "[host]:", "host:", "host:0", "host:65536",
                           "host:imap", "2001:db8::1", "a b", "host:25:26", "[a]b]", "ho[st"}) {
    EXPECT_FALSE(parse_next_hop(text).ok()) << text;
  }
}

}  // namespace
}  // namespace estafeta::outbound
