// Tests of the MX plan (mx_plan.h): host selection, address order, limits and failures.
#include "outbound/mx_plan.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

namespace estafeta::outbound {
namespace {

DnsAnswer<MxRecord> mx_ok(std::vector<MxRecord> records) {
  DnsAnswer<MxRecord> answer;
  answer.status = DnsStatus::Ok;
  answer.records = std::move(records);
  return answer;
}

template <class T>
DnsAnswer<T> failed(DnsStatus status, std::string reason) {
  DnsAnswer<T> answer;
  answer.status = status;
  answer.reason = std::move(reason);
  return answer;
}

HostAddress v4(std::string text) { return HostAddress{AddressFamily::Ipv4, std::move(text)}; }
HostAddress v6(std::string text) { return HostAddress{AddressFamily::Ipv6, std::move(text)}; }

HostAddresses host(std::string name, int preference, std::vector<HostAddress> addresses) {
  HostAddresses lookup{MxHost{std::move(name), preference}, {}};
  lookup.answer.status = DnsStatus::Ok;
  lookup.answer.records = std::move(addresses);
  return lookup;
}

// The first choice, always: random(n) == 0 keeps every order as given.
const RandomBelow kFirst = [](size_t) { return size_t{0}; };

std::vector<std::string> names(const std::vector<MxHost>& hosts) {
  std::vector<std::string> out;
  for (const auto& h : hosts) out.push_back(h.host);
  return out;
}

std::vector<std::string> texts(const std::vector<DeliveryTarget>& targets) {
  std::vector<std::string> out;
  for (const auto& t : targets) out.push_back(t.address.text);
  return out;
}

TEST(MxPlan, HostsSortedByPreference) {
  MxPlanSettings settings;
  auto selection = select_mx_hosts(
      "example.com", mx_ok({{"c.test", 30}, {"a.test", 10}, {"b.test", 20}}), settings, kFirst);
  ASSERT_FALSE(selection.failure);
  EXPECT_FALSE(selection.implicit_mx);
  EXPECT_EQ(names(selection.hosts), (std::vector<std::string>{"a.test", "b.test", "c.test"}));
  EXPECT_EQ(selection.hosts[1].preference, 20);
}

TEST(MxPlan, EqualPreferencesInRandomOrder) {
  MxPlanSettings settings;
  auto mx = mx_ok({{"a.test", 10}, {"b.test", 10}, {"c.test", 5}});
  std::set<std::vector<std::string>> seen;
  for (unsigned seed = 0; seed < 64; ++seed) {
    std::mt19937 generator(seed);
    RandomBelow random = [&](size_t n) {
      return std::uniform_int_distribution<size_t>(0, n - 1)(generator);
    };
    auto selection = select_mx_hosts("example.com", mx, settings, random);
    ASSERT_EQ(selection.hosts.size(), 3u);
    EXPECT_EQ(selection.hosts[0].host, "c.test");  // the best always first
    seen.insert(names(selection.hosts));
  }
  EXPECT_EQ(seen, (std::set<std::vector<std::string>>{{"c.test", "a.test", "b.test"},
                                                      {"c.test", "b.test", "a.test"}}));
}

TEST(MxPlan, NullMxBounces) {
  auto selection = select_mx_hosts("example.com", mx_ok({{"", 0}}), {}, kFirst);
  ASSERT_TRUE(selection.failure);
  EXPECT_EQ(*selection.failure,
            (DeliveryFailure{true, "5.1.10", "Domain example.com does not accept mail (nullMX)"}));
  // A root name among real MX hosts is ignored.
  auto mixed = select_mx_hosts("example.com", mx_ok({{"", 0}, {"mx.test", 10}}), {}, kFirst);
  ASSERT_FALSE(mixed.failure);
  EXPECT_EQ(names(mixed.hosts), (std::vector<std::string>{"mx.test"}));
}

TEST(MxPlan, MxLookupFailures) {
  auto nx = select_mx_hosts("nx.test", failed<MxRecord>(DnsStatus::NotFound, "Host not found"), {},
                            kFirst);
  ASSERT_TRUE(nx.failure);
  EXPECT_EQ(*nx.failure, (DeliveryFailure{true, "5.4.4",
                                          "Host or domain name not found. Name service error for "
                                          "name=nx.test type=MX: Host not found"}));
  auto temp = select_mx_hosts(
      "slow.test", failed<MxRecord>(DnsStatus::TempFail, "Host not found, try again (timeout)"), {},
      kFirst);
  ASSERT_TRUE(temp.failure);
  EXPECT_FALSE(temp.failure->permanent);
  EXPECT_EQ(temp.failure->dsn, "4.4.3");
  EXPECT_EQ(temp.failure->text,
            "Host or domain name not found. Name service error for name=slow.test type=MX: "
            "Host not found, try again (timeout)");
}

TEST(MxPlan, NoMxMeansTheDomainItself) {
  auto selection =
      select_mx_hosts("example.com.", failed<MxRecord>(DnsStatus::NoData, "no data"), {}, kFirst);
  ASSERT_FALSE(selection.failure);
  EXPECT_TRUE(selection.implicit_mx);
  EXPECT_EQ(selection.hosts, (std::vector<MxHost>{{"example.com", 0}}));
}

TEST(MxPlan, OnlyBetterMxHostsThanMyself) {
  MxPlanSettings settings;
  settings.myhostname = "Backup.Example.com";
  auto selection = select_mx_hosts("example.com",
                                   mx_ok({{"primary.test", 10},
                                          {"backup.example.com.", 20},
                                          {"other.test", 20},
                                          {"worse.test", 30}}),
                                   settings, kFirst);
  ASSERT_FALSE(selection.failure);
  EXPECT_EQ(names(selection.hosts), (std::vector<std::string>{"primary.test"}));

  auto loop = select_mx_hosts(
      "example.com", mx_ok({{"backup.example.com", 10}, {"other.test", 20}}), settings, kFirst);
  ASSERT_TRUE(loop.failure);
  EXPECT_EQ(*loop.failure,
            (DeliveryFailure{true, "5.4.6", "mail for example.com loops back to myself"}));
  settings.myhostname = "example.com";
  auto implicit =
      select_mx_hosts("example.com", failed<MxRecord>(DnsStatus::NoData, ""), settings, kFirst);
  ASSERT_TRUE(implicit.failure);
  EXPECT_EQ(implicit.failure->dsn, "5.4.6");
}

TEST(MxPlan, TargetsInMxOrderFailingHostsSkipped) {
  MxPlanSettings settings;
  std::vector<HostAddresses> lookups = {
      host("a.test", 10, {v4("192.0.2.1")}),
      {MxHost{"gone.test", 10}, failed<HostAddress>(DnsStatus::NotFound, "Host not found")},
      {MxHost{"slow.test", 20}, failed<HostAddress>(DnsStatus::TempFail, "try again")},
      host("b.test", 30, {v4("192.0.2.2"), v6("2001:db8::2")}),
  };
  auto plan = plan_targets(lookups, settings, kFirst);
  ASSERT_FALSE(plan.failure);
  EXPECT_EQ(plan.targets, (std::vector<DeliveryTarget>{{"a.test", 10, v4("192.0.2.1")},
                                                       {"b.test", 30, v4("192.0.2.2")},
                                                       {"b.test", 30, v6("2001:db8::2")}}));
}

TEST(MxPlan, TargetsCarryTheMxAndTheAddressValidationApart) {
  std::vector<HostAddresses> lookups = {
      host("both.test", 10, {v4("192.0.2.1")}),
      host("mx-only.test", 20, {v4("192.0.2.2")}),
      host("address-only.test", 30, {v4("192.0.2.3")}),
  };
  lookups[0].named_securely = true;
  lookups[0].answer.authenticated = true;
  lookups[1].named_securely = true;
  lookups[2].answer.authenticated = true;
  auto plan = plan_targets(lookups, MxPlanSettings{}, kFirst);
  ASSERT_EQ(plan.targets.size(), 3u);
  EXPECT_TRUE(plan.targets[0].mx_secure);
  EXPECT_TRUE(plan.targets[0].address_secure);
  EXPECT_TRUE(plan.targets[1].mx_secure);
  EXPECT_FALSE(plan.targets[1].address_secure);
  EXPECT_FALSE(plan.targets[2].mx_secure);
  EXPECT_TRUE(plan.targets[2].address_secure);
}

TEST(MxPlan, NoUsableHost) {
  MxPlanSettings settings;
  std::vector<HostAddresses> permanent = {
      {MxHost{"gone.test", 10}, failed<HostAddress>(DnsStatus::NotFound, "Host not found")}};
  auto plan = plan_targets(permanent, settings, kFirst);
  ASSERT_TRUE(plan.failure);
  EXPECT_EQ(*plan.failure, (DeliveryFailure{true, "5.4.4",
                                            "Host or domain name not found. Name service error for "
                                            "name=gone.test type=AAAA: Host not found"}));
  settings.ipv6 = false;
  auto with_temporary = permanent;
  with_temporary.push_back({MxHost{"slow.test", 20},
                            failed<HostAddress>(DnsStatus::TempFail, "Host not found, try again")});
  plan = plan_targets(with_temporary, settings, kFirst);
  ASSERT_TRUE(plan.failure);
  EXPECT_EQ(*plan.failure, (DeliveryFailure{false, "4.4.3",
                                            "Host or domain name not found. Name service error for "
                                            "name=slow.test type=A: Host not found, try again"}));
}

TEST(MxPlan, InetProtocolsAndAddressPreference) {
  std::vector<HostAddresses> lookups = {
      host("a.test", 10, {v6("2001:db8::1"), v4("192.0.2.1")}),
      host("b.test", 10, {v6("2001:db8::2"), v4("192.0.2.2")}),
      host("c.test", 20, {v6("2001:db8::3"), v4("192.0.2.3")}),
  };
  MxPlanSettings settings;
  settings.mx_address_limit = 0;
  settings.ipv6 = false;
  EXPECT_EQ(texts(plan_targets(lookups, settings, kFirst).targets),
            (std::vector<std::string>{"192.0.2.1", "192.0.2.2", "192.0.2.3"}));
  settings.ipv6 = true;
  settings.address_preference = AddressPreference::Ipv4;
  EXPECT_EQ(texts(plan_targets(lookups, settings, kFirst).targets),
            (std::vector<std::string>{"192.0.2.1", "192.0.2.2", "2001:db8::1", "2001:db8::2",
                                      "192.0.2.3", "2001:db8::3"}));
  settings.address_preference = AddressPreference::Ipv6;
  EXPECT_EQ(texts(plan_targets(lookups, settings, kFirst).targets),
            (std::vector<std::string>{"2001:db8::1", "2001:db8::2", "192.0.2.1", "192.0.2.2",
                                      "2001:db8::3", "192.0.2.3"}));
  settings.ipv4 = false;
  EXPECT_EQ(families_to_look_up(settings), Families::Ipv6);
  EXPECT_EQ(texts(plan_targets(lookups, settings, kFirst).targets),
            (std::vector<std::string>{"2001:db8::1", "2001:db8::2", "2001:db8::3"}));
}

TEST(MxPlan, AddressLimitKeepsBothFamilies) {
  std::vector<HostAddresses> lookups = {
      host("a.test", 10, {v4("192.0.2.1"), v4("192.0.2.2"), v4("192.0.2.3")}),
      host("b.test", 20, {v4("192.0.2.4"), v6("2001:db8::4"), v4("192.0.2.1")}),
  };
  MxPlanSettings settings;
  settings.mx_address_limit = 3;
  EXPECT_EQ(texts(plan_targets(lookups, settings, kFirst).targets),
            (std::vector<std::string>{"192.0.2.1", "192.0.2.2", "2001:db8::4"}));
  settings.mx_address_limit = 0;  // no limit; the repeated 192.0.2.1 is dropped
  EXPECT_EQ(texts(plan_targets(lookups, settings, kFirst).targets),
            (std::vector<std::string>{"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4",
                                      "2001:db8::4"}));
  settings.mx_address_limit = 1;
  EXPECT_EQ(texts(plan_targets(lookups, settings, kFirst).targets),
            (std::vector<std::string>{"192.0.2.1"}));
}

TEST(MxPlan, AddressesOfAHostAreShuffled) {
  std::vector<HostAddresses> lookups = {host("a.test", 10, {v4("192.0.2.1"), v4("192.0.2.2")})};
  std::set<std::vector<std::string>> seen;
  for (unsigned seed = 0; seed < 32; ++seed) {
    std::mt19937 generator(seed);
    RandomBelow random = [&](size_t n) {
      return std::uniform_int_distribution<size_t>(0, n - 1)(generator);
    };
    seen.insert(texts(plan_targets(lookups, {}, random).targets));
  }
  EXPECT_EQ(seen.size(), 2u);
}

}  // namespace
}  // namespace estafeta::outbound
