// Table-driven tests for the access(5) and virtual(5) search orders.
#include "maps/search_keys.h"

#include <gtest/gtest.h>

namespace estafeta::maps {
namespace {

using Keys = std::vector<std::string>;

TEST(SplitLocalpart, Table) {
  struct Case {
    const char* local;
    const char* delims;
    std::optional<std::pair<std::string, std::string>> want;
  } cases[] = {
      {"user+ext", "+", std::pair<std::string, std::string>{"user", "ext"}},
      {"user-ext", "+-", std::pair<std::string, std::string>{"user", "ext"}},
      {"user", "+", std::nullopt},
      {"+ext", "+", std::nullopt},
      {"user+", "+", std::pair<std::string, std::string>{"user", ""}},
      {"user+ext", "", std::nullopt},
      {"owner-list", "-", std::nullopt},
      {"list-request", "-", std::nullopt},
      {"owner-list", "+", std::nullopt},
      {"Postmaster", "+", std::nullopt},
      {"a+b+c", "+", std::pair<std::string, std::string>{"a", "b+c"}},
  };
  for (const Case& c : cases) {
    auto got = split_localpart(c.local, c.delims);
    if (!c.want) {
      EXPECT_FALSE(got) << c.local;
    } else {
      ASSERT_TRUE(got) << c.local;
      EXPECT_EQ(got->user, c.want->first);
      EXPECT_EQ(got->extension, c.want->second);
    }
  }
}

TEST(AccessKeys, Addresses) {
  struct Case {
    const char* address;
    bool parent;
    Keys want;
  } cases[] = {
      {"user+foo@sub.example.com",
       false,
       {"user+foo@sub.example.com", "user@sub.example.com", "sub.example.com", ".example.com",
        ".com", "user+foo@", "user@"}},
      {"user@sub.example.com",
       true,
       {"user@sub.example.com", "sub.example.com", "example.com", "com", "user@"}},
      {"user@example", false, {"user@example", "example", "user@"}},
      {"user", false, {"user", "user@"}},
      {"@example.com", true, {"@example.com", "example.com", "com"}},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(access_address_keys(c.address, "+", c.parent), c.want) << c.address;
  }
}

TEST(AccessKeys, ClientAddresses) {
  EXPECT_EQ(access_client_address_keys("192.168.1.7"),
            (Keys{"192.168.1.7", "192.168.1", "192.168", "192"}));
  EXPECT_EQ(access_client_address_keys("2001:db8::1"),
            (Keys{"2001:db8::1", "2001:db8:", "2001:db8", "2001"}));
  EXPECT_EQ(access_client_address_keys(""), Keys{});
}

TEST(VirtualKeys, Table) {
  struct Case {
    const char* address;
    bool local;
    Keys want;
  } cases[] = {
      {"user+foo@example.com", false, {"user+foo@example.com", "user@example.com", "@example.com"}},
      {"user+foo@example.com",
       true,
       {"user+foo@example.com", "user@example.com", "user+foo", "user", "@example.com"}},
      {"user@example.com", true, {"user@example.com", "user", "@example.com"}},
      {"user", false, {"user"}},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(virtual_address_keys(c.address, "+", c.local), c.want) << c.address;
  }
}

}  // namespace
}  // namespace estafeta::maps
