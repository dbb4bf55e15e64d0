// Tests for the access(5) search orders smtpd uses.
#include "policy/access_keys.h"

#include <gtest/gtest.h>

namespace estafeta::policy {
namespace {

std::vector<std::string> keys_of(const std::vector<AccessKey>& keys) {
  std::vector<std::string> out;
  for (const AccessKey& k : keys) out.push_back(k.key);
  return out;
}

TEST(AccessKeys, HostNames) {
  using V = std::vector<std::string>;
  EXPECT_EQ(keys_of(host_name_keys("a.b.example.com", ParentStyle::Bare)),
            (V{"a.b.example.com", "b.example.com", "example.com", "com"}));
  EXPECT_EQ(keys_of(host_name_keys("a.b.example.com", ParentStyle::Dot)),
            (V{"a.b.example.com", ".b.example.com", ".example.com", ".com"}));
  EXPECT_EQ(keys_of(host_name_keys("192.0.2.1", ParentStyle::Bare)), (V{"192.0.2.1"}));
  EXPECT_EQ(keys_of(host_name_keys("localhost", ParentStyle::Bare)), (V{"localhost"}));
  EXPECT_TRUE(host_name_keys("", ParentStyle::Bare).empty());
  auto keys = host_name_keys("a.example.com", ParentStyle::Bare);
  EXPECT_FALSE(keys[0].partial);
  EXPECT_TRUE(keys[1].partial);
}

TEST(AccessKeys, ClientAddresses) {
  using V = std::vector<std::string>;
  EXPECT_EQ(keys_of(client_address_keys("192.0.2.17")),
            (V{"192.0.2.17", "192.0.2", "192.0", "192"}));
  EXPECT_EQ(keys_of(client_address_keys("2001:db8:1::17")),
            (V{"2001:db8:1::17", "2001:db8:1:", "2001:db8:1", "2001:db8", "2001"}));
  EXPECT_EQ(keys_of(client_keys("mail.example.com", "192.0.2.17", ParentStyle::Bare)),
            (V{"mail.example.com", "example.com", "com", "192.0.2.17", "192.0.2", "192.0", "192"}));
  auto keys = client_keys("unknown", "192.0.2.17", ParentStyle::Bare);
  EXPECT_EQ(keys_of(keys), (V{"unknown", "192.0.2.17", "192.0.2", "192.0", "192"}));
  // The name and the address are each a full string; shorter networks are not.
  EXPECT_FALSE(keys[0].partial);
  EXPECT_FALSE(keys[1].partial);
  EXPECT_TRUE(keys[2].partial);
}

TEST(AccessKeys, EmailAddresses) {
  using V = std::vector<std::string>;
  EXPECT_EQ(keys_of(email_keys("user+ext@sub.example.com", "+", ParentStyle::Bare)),
            (V{"user+ext@sub.example.com", "user@sub.example.com", "sub.example.com", "example.com",
               "com", "user+ext@", "user@"}));
  EXPECT_EQ(keys_of(email_keys("user@example.com", "", ParentStyle::Dot)),
            (V{"user@example.com", "example.com", ".com", "user@"}));
  auto keys = email_keys("user@example.com", "", ParentStyle::Bare);
  EXPECT_FALSE(keys[0].partial);
  for (size_t i = 1; i < keys.size(); ++i) EXPECT_TRUE(keys[i].partial);
  EXPECT_EQ(null_address_keys("<>"), (std::vector<AccessKey>{{"<>", false}}));
}

}  // namespace
}  // namespace estafeta::policy
