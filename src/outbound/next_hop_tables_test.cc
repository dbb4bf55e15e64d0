// Tests for the smtp agent's next-hop tables: smtp_connection_cache_destinations split into
// names and tables, and whether a next hop is listed (names, table keys, a failing table).
#include "outbound/next_hop_tables.h"

#include <gtest/gtest.h>

#include "outbound/smtp_settings.h"

namespace estafeta::outbound {
namespace {

TEST(CacheDestinations, SplitsTablesFromNames) {
  const CacheDestinations d =
      split_cache_destinations({"example.org", "[relay.example]:587", "relay.example:587",
                                "relay:587", "hash:/etc/postfix/cache_hops", "texthash:/etc/hops",
                                "inline:{ a.example=yes }", "[::1]:25"});
  EXPECT_EQ(d.names, (std::vector<std::string>{"example.org", "[relay.example]:587",
                                               "relay.example:587", "relay:587", "[::1]:25"}));
  EXPECT_EQ(d.tables, (std::vector<std::string>{"hash:/etc/postfix/cache_hops",
                                                "texthash:/etc/hops", "inline:{ a.example=yes }"}));
}

TEST(CacheDestinations, NamesIgnoreCase) {
  const std::vector<std::string> names = {"Example.ORG", "[relay.example]:587"};
  EXPECT_TRUE(*cache_destination_listed(names, {}, "example.org"));
  EXPECT_TRUE(*cache_destination_listed(names, {}, "[RELAY.example]:587"));
  EXPECT_FALSE(*cache_destination_listed(names, {}, "[relay.example]:25"));
  EXPECT_FALSE(*cache_destination_listed(names, {}, "sub.example.org"));
  EXPECT_FALSE(*cache_destination_listed({}, {}, "example.org"));
}

TEST(CacheDestinations, TablesAreSearchedWithTheLowerCaseNextHop) {
  std::vector<std::string> keys;
  PolicyLookup table = [&keys](const std::string& key) {
    keys.push_back(key);
    return key == "[relay.example]:587" ? maps::LookupResult::found("anything")
                                        : maps::LookupResult::not_found();
  };
  EXPECT_TRUE(*cache_destination_listed({}, table, "[Relay.Example]:587"));
  EXPECT_FALSE(*cache_destination_listed({}, table, "example.org"));
  EXPECT_EQ(keys, (std::vector<std::string>{"[relay.example]:587", "example.org"}));
  // A name that matches needs no lookup.
  keys.clear();
  EXPECT_TRUE(*cache_destination_listed({"example.org"}, table, "example.org"));
  EXPECT_TRUE(keys.empty());
}

TEST(CacheDestinations, AFailingTableIsAnError) {
  PolicyLookup table = [](const std::string&) {
    return maps::LookupResult::temp_fail("connection refused");
  };
  auto listed = cache_destination_listed({}, table, "example.org");
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.error().message,
            "smtp_connection_cache_destinations lookup of example.org: connection refused");
}

TEST(CacheDestinations, SettingsKeepTheNamesAndWarnOfExclusions) {
  auto loaded = config::Config::parse(
      "smtp_connection_cache_destinations = Example.org, !bad.example, hash:/etc/hops, "
      "[relay.example]:587\n",
      "main.cf", "/etc/estafeta", "mx.example.com");
  ASSERT_TRUE(loaded.config.has_value());
  std::vector<std::string> warnings;
  auto settings = make_smtp_delivery_settings(*loaded.config, "/var/spool/estafeta", &warnings);
  ASSERT_TRUE(settings.ok()) << settings.error().message;
  EXPECT_EQ(settings->cache_destinations,
            (std::vector<std::string>{"Example.org", "[relay.example]:587"}));
  EXPECT_EQ(warnings, (std::vector<std::string>{"smtp_connection_cache_destinations: exclusion "
                                                "!bad.example is not supported and is ignored"}));
}

}  // namespace
}  // namespace estafeta::outbound
