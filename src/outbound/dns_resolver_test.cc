// Tests of DnsResolver and the MX plan's lookups (mx_lookup.h) against a real dnsmasq on
// loopback (dnsmasq_fixture.h); the test fails, never skips, when dnsmasq is missing.
#include "outbound/dns_resolver.h"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <asio/use_awaitable.hpp>
#include <optional>
#include <random>

#include "outbound/dnsmasq_fixture.h"
#include "outbound/mx_lookup.h"

namespace estafeta::outbound {
namespace {

using namespace std::chrono_literals;

template <class T>
T run(asio::io_context& io, asio::awaitable<T> lookup) {
  std::optional<T> result;
  asio::co_spawn(io, std::move(lookup), [&](std::exception_ptr error, T value) {
    if (error) std::rethrow_exception(error);
    result = std::move(value);
  });
  io.restart();
  io.run();
  EXPECT_TRUE(result.has_value());
  return result ? std::move(*result) : T{};
}

class DnsResolverTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    uint16_t closed = testing::unused_udp_port();
    std::vector<std::string> records = {
        "mx-host=mx.test,a.test,10",
        "mx-host=mx.test,b.test,10",
        "mx-host=mx.test,c.test,20",
        "host-record=a.test,192.0.2.1,2001:db8::1",
        "host-record=b.test,192.0.2.2",
        "host-record=c.test,2001:db8::3",
        "host-record=plain.test,192.0.2.10",
        "mx-host=null.test,.,0",
        "mx-host=dangling.test,gone.test,10",
        "txt-record=txt.test,v=spf1 -all",
        "txt-record=txt.test,part one,part two",
        "dns-rr=_25._tcp.a.test,52,0301011234567890ABCDEF",
        "dns-rr=_25._tcp.short.test,52,0301",
        // NS records (type 2) for zone.test: ns1.zone.test and ns2.other.test, wire format.
        "dns-rr=zone.test,2,036E7331047A6F6E65047465737400",
        "dns-rr=zone.test,2,036E7332056F74686572047465737400",
        "server=/fail.test/#",
        "server=/slow.test/127.0.0.1#" + std::to_string(closed),
        // Reverse names: host-record publishes the PTR of each address too.
        "local=/2.0.192.in-addr.arpa/",
        "local=/8.b.d.0.1.0.0.2.ip6.arpa/",
        "ptr-record=9.2.0.192.in-addr.arpa,one.test",
        "ptr-record=9.2.0.192.in-addr.arpa,two.test",
        "server=/99.2.0.192.in-addr.arpa/127.0.0.1#" + std::to_string(closed),
    };
    // More than 512 bytes of TXT records: the UDP reply is truncated, c-ares asks over TCP.
    for (int i = 0; i < 20; ++i) {
      records.push_back("txt-record=big.test,record-" + std::to_string(100 + i) + "-" +
                        std::string(60, 'x'));
    }
    auto server = testing::Dnsmasq::start(records);
    ASSERT_TRUE(server.ok()) << server.error().message;
    server_ = std::move(server).value().release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  std::unique_ptr<DnsResolver> resolver(std::vector<std::string> nameservers = {}) {
    ResolverOptions options;
    options.nameservers = nameservers.empty() ? std::vector{server_->nameserver()} : nameservers;
    options.timeout = 300ms;
    options.tries = 1;
    auto created = DnsResolver::create(io_, options);
    EXPECT_TRUE(created.ok()) << created.error().message;
    return created ? std::move(created).value() : nullptr;
  }

  static testing::Dnsmasq* server_;
  asio::io_context io_;
};

testing::Dnsmasq* DnsResolverTest::server_ = nullptr;

std::vector<std::string> strings(const DnsAnswer<asio::ip::address>& answer) {
  std::vector<std::string> out;
  for (const auto& address : answer.records) out.push_back(address.to_string());
  return out;
}

TEST_F(DnsResolverTest, MxRecords) {
  auto dns = resolver();
  auto answer = run(io_, dns->mx("mx.test"));
  ASSERT_EQ(answer.status, DnsStatus::Ok) << answer.reason;
  ASSERT_EQ(answer.records.size(), 3u);
  std::multiset<std::pair<int, std::string>> got;
  for (const auto& mx : answer.records) got.insert({mx.preference, mx.host});
  EXPECT_EQ(got, (std::multiset<std::pair<int, std::string>>{
                     {10, "a.test"}, {10, "b.test"}, {20, "c.test"}}));
  EXPECT_FALSE(answer.authenticated);  // dnsmasq does not validate
}

TEST_F(DnsResolverTest, AddressesOfBothFamilies) {
  auto dns = resolver();
  auto both = run(io_, dns->addresses("a.test", Families::Both));
  ASSERT_EQ(both.status, DnsStatus::Ok) << both.reason;
  EXPECT_EQ(strings(both), (std::vector<std::string>{"192.0.2.1", "2001:db8::1"}));
  auto v6 = run(io_, dns->addresses("c.test", Families::Ipv6));
  EXPECT_EQ(strings(v6), (std::vector<std::string>{"2001:db8::3"}));
  auto v4_only = run(io_, dns->addresses("c.test", Families::Ipv4));
  EXPECT_EQ(v4_only.status, DnsStatus::NoData);
  auto missing = run(io_, dns->addresses("nowhere.test", Families::Both));
  EXPECT_EQ(missing.status, DnsStatus::NotFound);
  EXPECT_EQ(missing.reason, "Host not found");
}

TEST_F(DnsResolverTest, NoDataNotFoundAndTemporaryFailures) {
  auto dns = resolver();
  EXPECT_EQ(run(io_, dns->mx("plain.test")).status, DnsStatus::NoData);
  EXPECT_EQ(run(io_, dns->mx("nx.test")).status, DnsStatus::NotFound);
  auto refused = run(io_, dns->mx("x.fail.test"));
  EXPECT_EQ(refused.status, DnsStatus::TempFail);
  EXPECT_NE(refused.reason.find("try again"), std::string::npos) << refused.reason;
  auto slow = run(io_, dns->mx("x.slow.test"));
  EXPECT_EQ(slow.status, DnsStatus::TempFail);
  EXPECT_EQ(slow.reason, "Host not found, try again (timeout)");
}

TEST_F(DnsResolverTest, PtrNames) {
  auto dns = resolver();
  auto v4 = run(io_, dns->ptr(asio::ip::make_address("192.0.2.1")));
  ASSERT_EQ(v4.status, DnsStatus::Ok) << v4.reason;
  EXPECT_EQ(v4.records, (std::vector<std::string>{"a.test"}));
  auto v6 = run(io_, dns->ptr(asio::ip::make_address("2001:db8::1")));
  ASSERT_EQ(v6.status, DnsStatus::Ok) << v6.reason;
  EXPECT_EQ(v6.records, (std::vector<std::string>{"a.test"}));
  auto mapped = run(io_, dns->ptr(asio::ip::make_address("::ffff:192.0.2.2")));
  EXPECT_EQ(mapped.records, (std::vector<std::string>{"b.test"}));
  auto two = run(io_, dns->ptr(asio::ip::make_address("192.0.2.9")));
  std::multiset<std::string> names(two.records.begin(), two.records.end());
  EXPECT_EQ(names, (std::multiset<std::string>{"one.test", "two.test"}));
  auto none = run(io_, dns->ptr(asio::ip::make_address("192.0.2.77")));
  EXPECT_EQ(none.status, DnsStatus::NotFound) << none.reason;
  auto slow = run(io_, dns->ptr(asio::ip::make_address("192.0.2.99")));
  EXPECT_EQ(slow.status, DnsStatus::TempFail);
  EXPECT_EQ(slow.reason, "Host not found, try again (timeout)");
  EXPECT_NE(server_->log().find("1.2.0.192.in-addr.arpa"), std::string::npos);
}

TEST_F(DnsResolverTest, NsNames) {
  auto dns = resolver();
  auto answer = run(io_, dns->ns("zone.test"));
  ASSERT_EQ(answer.status, DnsStatus::Ok) << answer.reason;
  std::multiset<std::string> names(answer.records.begin(), answer.records.end());
  EXPECT_EQ(names, (std::multiset<std::string>{"ns1.zone.test", "ns2.other.test"}));
  EXPECT_EQ(run(io_, dns->ns("a.test")).status, DnsStatus::NoData);
  EXPECT_EQ(run(io_, dns->ns("nowhere.test")).status, DnsStatus::NotFound);
  EXPECT_EQ(run(io_, dns->ns("x.fail.test")).status, DnsStatus::TempFail);
}

TEST_F(DnsResolverTest, NoNameserverAnswers) {
  auto dns = resolver({"127.0.0.1:" + std::to_string(testing::unused_udp_port())});
  auto answer = run(io_, dns->mx("mx.test"));
  EXPECT_EQ(answer.status, DnsStatus::TempFail);
  EXPECT_NE(answer.reason.find("try again"), std::string::npos) << answer.reason;
}

TEST_F(DnsResolverTest, TxtAndTlsa) {
  auto dns = resolver();
  auto txt = run(io_, dns->txt("txt.test"));
  ASSERT_EQ(txt.status, DnsStatus::Ok) << txt.reason;
  std::multiset<std::string> texts(txt.records.begin(), txt.records.end());
  EXPECT_EQ(texts, (std::multiset<std::string>{"v=spf1 -all", "part onepart two"}));
  auto tlsa = run(io_, dns->tlsa("_25._tcp.a.test"));
  ASSERT_EQ(tlsa.status, DnsStatus::Ok) << tlsa.reason;
  EXPECT_EQ(tlsa.records,
            (std::vector<TlsaRecord>{{3, 1, 1, {0x12, 0x34, 0x56, 0x78, 0x90, 0xab, 0xcd, 0xef}}}));
  auto short_tlsa = run(io_, dns->tlsa("_25._tcp.short.test"));
  EXPECT_EQ(short_tlsa.status, DnsStatus::TempFail);
  EXPECT_EQ(run(io_, dns->tlsa("_25._tcp.b.test")).status, DnsStatus::NotFound);
}

TEST_F(DnsResolverTest, LargeReplyOverTcp) {
  auto dns = resolver();
  auto txt = run(io_, dns->txt("big.test"));
  ASSERT_EQ(txt.status, DnsStatus::Ok) << txt.reason;
  EXPECT_EQ(txt.records.size(), 20u);
  EXPECT_NE(server_->log().find("big.test"), std::string::npos);
}

TEST_F(DnsResolverTest, ManyLookupsAtOnce) {
  auto dns = resolver();
  int done = 0;
  for (int i = 0; i < 50; ++i) {
    asio::co_spawn(io_, dns->addresses(i % 2 ? "a.test" : "b.test", Families::Both),
                   [&](std::exception_ptr, DnsAnswer<asio::ip::address> answer) {
                     EXPECT_EQ(answer.status, DnsStatus::Ok) << answer.reason;
                     ++done;
                   });
  }
  io_.run();
  EXPECT_EQ(done, 50);
}

TEST_F(DnsResolverTest, DestroyedWhileWaiting) {
  auto dns = resolver();
  std::optional<DnsAnswer<MxRecord>> answer;
  asio::co_spawn(io_, dns->mx("x.slow.test"),
                 [&](std::exception_ptr, DnsAnswer<MxRecord> value) { answer = value; });
  io_.run_for(50ms);
  EXPECT_FALSE(answer.has_value());
  dns.reset();
  io_.restart();
  io_.run();
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, DnsStatus::TempFail);
  EXPECT_EQ(answer->reason, "Host not found, try again (resolver shut down)");
}

// A nameserver that answers one query for an MX record with the AD bit set, and notes
// whether the query asked for AD.
asio::awaitable<void> answer_with_ad(asio::ip::udp::socket& socket, bool& query_had_ad) {
  std::vector<uint8_t> buffer(512);
  asio::ip::udp::endpoint peer;
  size_t length =
      co_await socket.async_receive_from(asio::buffer(buffer), peer, asio::use_awaitable);
  buffer.resize(length);
  query_had_ad = length > 3 && (buffer[3] & 0x20) != 0;
  buffer[2] |= 0x80;  // QR
  buffer[3] = 0x20;   // AD, NOERROR
  buffer[7] = 1;      // one answer
  const uint8_t record[] = {0xc0, 12, 0, 15,  0,   1, 0,   0,   1,   0,   0, 11,
                            0,    10, 2, 'm', 'x', 4, 't', 'e', 's', 't', 0};
  buffer.insert(buffer.end(), std::begin(record), std::end(record));
  co_await socket.async_send_to(asio::buffer(buffer), peer, asio::use_awaitable);
}

TEST_F(DnsResolverTest, AdBitAskedForAndPassedThrough) {
  asio::ip::udp::socket socket(io_, {asio::ip::make_address("127.0.0.1"), 0});
  bool query_had_ad = false;
  asio::co_spawn(io_, answer_with_ad(socket, query_had_ad), asio::detached);
  auto dns = resolver({"127.0.0.1:" + std::to_string(socket.local_endpoint().port())});
  auto answer = run(io_, dns->mx("signed.test"));
  EXPECT_TRUE(query_had_ad);
  ASSERT_EQ(answer.status, DnsStatus::Ok) << answer.reason;
  EXPECT_TRUE(answer.authenticated);
  EXPECT_EQ(answer.records.at(0).host, "mx.test");
}

TEST_F(DnsResolverTest, BadNameserverIsAnError) {
  ResolverOptions options;
  options.nameservers = {"ns.example.com"};
  EXPECT_FALSE(DnsResolver::create(io_, options).ok());
}

MxPlan plan(asio::io_context& io, DnsResolver& dns, std::string domain, bool mx_lookup,
            MxPlanSettings settings = {}, unsigned seed = 1) {
  auto generator = std::make_shared<std::mt19937>(seed);
  RandomBelow random = [generator](size_t n) {
    return std::uniform_int_distribution<size_t>(0, n - 1)(*generator);
  };
  return run(io, plan_delivery(dns, std::move(domain), mx_lookup, settings, random));
}

std::vector<std::string> targets(const MxPlan& plan) {
  std::vector<std::string> out;
  for (const auto& t : plan.targets) out.push_back(t.host + "/" + t.address.text);
  return out;
}

TEST_F(DnsResolverTest, PlanFromMxRecords) {
  auto dns = resolver();
  std::set<std::vector<std::string>> seen;
  for (unsigned seed = 0; seed < 16; ++seed) {
    auto result = plan(io_, *dns, "mx.test", true, {}, seed);
    ASSERT_FALSE(result.failure) << result.failure->text;
    ASSERT_EQ(result.targets.size(), 4u);
    EXPECT_EQ(result.targets.back().host, "c.test");
    seen.insert(targets(result));
  }
  EXPECT_GE(seen.size(), 2u);  // a.test and b.test (preference 10) in both orders
}

TEST_F(DnsResolverTest, PlanWithoutMxAndFailures) {
  auto dns = resolver();
  EXPECT_EQ(targets(plan(io_, *dns, "plain.test", true)),
            (std::vector<std::string>{"plain.test/192.0.2.10"}));
  auto null_mx = plan(io_, *dns, "null.test", true);
  ASSERT_TRUE(null_mx.failure);
  EXPECT_EQ(null_mx.failure->dsn, "5.1.10");
  EXPECT_EQ(null_mx.failure->text, "Domain null.test does not accept mail (nullMX)");
  auto nx = plan(io_, *dns, "nx.test", true);
  ASSERT_TRUE(nx.failure);
  EXPECT_EQ(nx.failure->dsn, "5.4.4");
  EXPECT_EQ(nx.failure->text,
            "Host or domain name not found. Name service error for name=nx.test type=MX: "
            "Host not found");
  auto dangling = plan(io_, *dns, "dangling.test", true);
  ASSERT_TRUE(dangling.failure);
  EXPECT_EQ(dangling.failure->dsn, "5.4.4");
  auto slow = plan(io_, *dns, "x.slow.test", true);
  ASSERT_TRUE(slow.failure);
  EXPECT_EQ(slow.failure->dsn, "4.4.3");
  EXPECT_FALSE(slow.failure->permanent);
}

TEST_F(DnsResolverTest, PlanForABracketedHost) {
  auto dns = resolver();
  // mx.test has MX records but no address: [mx.test] does not use its MX records.
  auto bracketed = plan(io_, *dns, "mx.test", false);
  ASSERT_TRUE(bracketed.failure);
  EXPECT_EQ(bracketed.failure->dsn, "5.4.4");
  MxPlanSettings ipv4;
  ipv4.ipv6 = false;
  EXPECT_EQ(targets(plan(io_, *dns, "a.test", false, ipv4)),
            (std::vector<std::string>{"a.test/192.0.2.1"}));
  EXPECT_EQ(targets(plan(io_, *dns, "2001:db8::9", false)),
            (std::vector<std::string>{"2001:db8::9/2001:db8::9"}));
}

}  // namespace
}  // namespace estafeta::outbound
