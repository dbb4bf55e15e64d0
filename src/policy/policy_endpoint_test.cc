// Tests of check_policy_service names -> endpoints.
#include "policy/policy_endpoint.h"

#include <gtest/gtest.h>

namespace estafeta::policy {
namespace {

TEST(PolicyEndpoint, Inet) {
  auto e = parse_policy_endpoint("inet:127.0.0.1:10023", "/q");
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ(e->kind, PolicyEndpoint::Kind::Inet);
  EXPECT_EQ(e->host, "127.0.0.1");
  EXPECT_EQ(e->port, 10023);
  e = parse_policy_endpoint("inet:[::1]:9998", "/q");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->host, "::1");
  EXPECT_EQ(e->port, 9998);
  e = parse_policy_endpoint("inet:policy.example:65535", "/q");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->host, "policy.example");
}

TEST(PolicyEndpoint, Unix) {
  struct Case {
    const char* service;
    const char* path;
  } cases[] = {
      {"unix:/run/policy.sock", "/run/policy.sock"},
      {"local:/run/policy.sock", "/run/policy.sock"},
      {"unix:private/policy", "/var/spool/estafeta/private/policy"},
      {"private/policyd-spf", "/var/spool/estafeta/private/policyd-spf"},
      {"public/greylist", "/var/spool/estafeta/public/greylist"},
      {"/tmp/p", "/tmp/p"},
  };
  for (const auto& c : cases) {
    auto e = parse_policy_endpoint(c.service, "/var/spool/estafeta/");
    ASSERT_TRUE(e.ok()) << c.service << ": " << e.error().message;
    EXPECT_EQ(e->kind, PolicyEndpoint::Kind::Unix);
    EXPECT_EQ(e->path, c.path);
  }
  auto e = parse_policy_endpoint("private/p", "/q");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->path, "/q/private/p");
}

TEST(PolicyEndpoint, Errors) {
  for (const char* bad : {"", "inet:", "inet:host", "inet::25", "inet:host:0", "inet:host:65536",
                          "inet:host:x", "inet:host:25x", "inet:[::1:25", "inet:[]:25", "unix:",
                          "tcp:host:25", "proxy:x"}) {
    EXPECT_FALSE(parse_policy_endpoint(bad, "/q").ok()) << bad;
  }
}

}  // namespace
}  // namespace estafeta::policy
