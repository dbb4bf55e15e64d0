// Tests of the smtp agent's connection cache: keys, idle expiry, reuse limits.
#include "outbound/connection_cache.h"

#include <gtest/gtest.h>

#include <memory>

namespace estafeta::outbound {
namespace {

using std::chrono::seconds;

TlsPolicy policy(TlsLevel level) {
  TlsPolicy p;
  p.level = level;
  p.effective_level = level;
  return p;
}

ConnectionLabels labels_for(std::string_view nexthop, std::string_view address,
                            TlsLevel level = TlsLevel::May, std::string_view user = "") {
  return connection_cache_labels(nexthop, address, 25, policy(level), user);
}

class ConnectionCacheTest : public ::testing::Test {
 protected:
  FakeClock clock{Clock::TimePoint{} + seconds(1000)};
  ConnectionCache<std::unique_ptr<int>> cache{ConnectionCacheLimits{seconds(2), seconds(300), 0},
                                              clock};
  ConnectionUse fresh() const { return ConnectionUse{clock.now(), 1}; }
};

TEST(ConnectionCacheLabels, DestinationAndEndpoint) {
  const ConnectionLabels l = labels_for("Example.ORG", "192.0.2.1");
  EXPECT_TRUE(l.destination.starts_with("example.org|may|"));
  EXPECT_TRUE(l.endpoint.starts_with("[192.0.2.1]:25|may|"));
  // The same session properties; the endpoint adds the SASL user (empty here).
  EXPECT_EQ(l.destination.substr(l.destination.find('|')) + "|",
            l.endpoint.substr(l.endpoint.find('|')));
  EXPECT_EQ(labels_for("example.org", "192.0.2.1", TlsLevel::May, "alice").destination,
            l.destination);
}

TEST(ConnectionCacheLabels, SessionPropertiesSeparateKeys) {
  const ConnectionLabels may = labels_for("example.org", "192.0.2.1", TlsLevel::May);
  const ConnectionLabels encrypt = labels_for("example.org", "192.0.2.1", TlsLevel::Encrypt);
  EXPECT_NE(may.destination, encrypt.destination);
  EXPECT_NE(may.endpoint, encrypt.endpoint);
  EXPECT_NE(labels_for("example.org", "192.0.2.1", TlsLevel::May, "alice").endpoint,
            labels_for("example.org", "192.0.2.1", TlsLevel::May, "bob").endpoint);
  // A user name cannot forge another part of the label.
  EXPECT_NE(labels_for("example.org", "192.0.2.1", TlsLevel::May, "a|b").endpoint,
            labels_for("example.org", "192.0.2.1", TlsLevel::May, "a").endpoint + "|b");
  TlsPolicy verify = policy(TlsLevel::Verify);
  TlsPolicy verify_other = verify;
  verify_other.match = {"nexthop"};
  EXPECT_NE(connection_cache_labels("example.org", "192.0.2.1", 25, verify, "").destination,
            connection_cache_labels("example.org", "192.0.2.1", 25, verify_other, "").destination);
  EXPECT_NE(connection_cache_labels("example.org", "192.0.2.1", 25, policy(TlsLevel::May), "", true)
                .endpoint,
            labels_for("example.org", "192.0.2.1").endpoint);
  EXPECT_NE(
      connection_cache_labels("example.org", "192.0.2.1", 587, policy(TlsLevel::May), "").endpoint,
      labels_for("example.org", "192.0.2.1").endpoint);
}

TEST_F(ConnectionCacheTest, TakeByDestinationOrEndpoint) {
  cache.store(labels_for("example.org", "192.0.2.1"), std::make_unique<int>(1), fresh());
  EXPECT_FALSE(cache.take_by_destination(labels_for("example.net", "192.0.2.1").destination));
  auto by_endpoint = cache.take_by_endpoint(labels_for("example.net", "192.0.2.1").endpoint);
  ASSERT_TRUE(by_endpoint);
  EXPECT_EQ(*by_endpoint->connection, 1);
  EXPECT_EQ(cache.size(), 0u);

  cache.store(labels_for("example.org", "192.0.2.1"), std::make_unique<int>(2), fresh());
  auto by_destination = cache.take_by_destination(labels_for("example.org", "x").destination);
  ASSERT_TRUE(by_destination);
  EXPECT_EQ(*by_destination->connection, 2);
  EXPECT_FALSE(cache.take_by_destination(labels_for("example.org", "x").destination));
}

TEST_F(ConnectionCacheTest, StricterTlsNeverTakesWeakerConnection) {
  cache.store(labels_for("example.org", "192.0.2.1", TlsLevel::May), std::make_unique<int>(1),
              fresh());
  const ConnectionLabels strict = labels_for("example.org", "192.0.2.1", TlsLevel::Encrypt);
  EXPECT_FALSE(cache.take_by_destination(strict.destination));
  EXPECT_FALSE(cache.take_by_endpoint(strict.endpoint));
  EXPECT_EQ(cache.size(), 1u);
}

TEST_F(ConnectionCacheTest, IdleLimitExpires) {
  cache.store(labels_for("a.example", "192.0.2.1"), std::make_unique<int>(1), fresh());
  clock.advance(seconds(1));
  cache.store(labels_for("b.example", "192.0.2.2"), std::make_unique<int>(2), fresh());
  EXPECT_EQ(cache.next_expiry(), clock.now() + seconds(1));
  EXPECT_TRUE(cache.expire().empty());
  clock.advance(seconds(1));
  // Expired: no longer taken, and handed back for closing.
  EXPECT_FALSE(cache.take_by_destination(labels_for("a.example", "x").destination));
  std::vector<std::unique_ptr<int>> closed = cache.expire();
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(*closed[0], 1);
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.next_expiry(), clock.now() + seconds(1));
  clock.advance(seconds(1));
  EXPECT_EQ(cache.expire().size(), 1u);
  EXPECT_FALSE(cache.next_expiry());
}

TEST_F(ConnectionCacheTest, MostRecentFirstAndTakeAll) {
  cache.store(labels_for("example.org", "192.0.2.1"), std::make_unique<int>(1), fresh());
  cache.store(labels_for("example.org", "192.0.2.2"), std::make_unique<int>(2), fresh());
  auto t = cache.take_by_destination(labels_for("example.org", "x").destination);
  ASSERT_TRUE(t);
  EXPECT_EQ(*t->connection, 2);
  cache.store(labels_for("example.org", "192.0.2.3"), std::make_unique<int>(3), fresh());
  EXPECT_EQ(cache.take_all().size(), 2u);
  EXPECT_EQ(cache.size(), 0u);
}

TEST_F(ConnectionCacheTest, ReuseTimeLimit) {
  const ConnectionUse use = fresh();
  EXPECT_TRUE(cache.may_reuse(use));
  clock.advance(seconds(299));
  EXPECT_TRUE(cache.may_reuse(use));
  clock.advance(seconds(1));
  EXPECT_FALSE(cache.may_reuse(use));
}

TEST_F(ConnectionCacheTest, ReuseCountLimit) {
  ConnectionUse use = fresh();
  use.uses = 1000;
  EXPECT_TRUE(cache.may_reuse(use));  // 0: no limit
  ConnectionCache<int> limited(ConnectionCacheLimits{seconds(2), seconds(300), 3}, clock);
  use.uses = 2;
  EXPECT_TRUE(limited.may_reuse(use));
  use.uses = 3;
  EXPECT_FALSE(limited.may_reuse(use));
}

TEST_F(ConnectionCacheTest, UseHistoryTravelsWithTheConnection) {
  ConnectionUse use{clock.now() - seconds(10), 4};
  cache.store(labels_for("example.org", "192.0.2.1"), std::make_unique<int>(1), use);
  auto t = cache.take_by_endpoint(labels_for("example.org", "192.0.2.1").endpoint);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->use.uses, 4u);
  EXPECT_EQ(t->use.created, clock.now() - seconds(10));
}

}  // namespace
}  // namespace estafeta::outbound
