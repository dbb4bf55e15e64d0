// Tests of smtpd's client name lookups (client_names.h) against a real dnsmasq on loopback
// (outbound/dnsmasq_fixture.h), with a short resolver timeout; the test fails, never skips,
// when dnsmasq is missing.
#include "daemon/client_names.h"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <optional>

#include "log/memory_sink.h"
#include "outbound/dnsmasq_fixture.h"

namespace estafeta::daemon {
namespace {

using namespace std::chrono_literals;
using smtp::NameStatus;

class ClientNamesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string closed = std::to_string(outbound::testing::unused_udp_port());
    auto server = outbound::testing::Dnsmasq::start({
        "local=/2.0.192.in-addr.arpa/",
        "local=/8.b.d.0.1.0.0.2.ip6.arpa/",
        "host-record=good.test,192.0.2.1,2001:db8::1",  // its PTRs too
        "ptr-record=2.2.0.192.in-addr.arpa,forged.test",
        "host-record=forged.test,192.0.2.200",
        "ptr-record=3.2.0.192.in-addr.arpa,slow.test",
        "server=/slow.test/127.0.0.1#" + closed,
        "ptr-record=4.2.0.192.in-addr.arpa,nowhere.test",
        "ptr-record=5.2.0.192.in-addr.arpa,192.0.2.5",
        "ptr-record=6.2.0.192.in-addr.arpa,other.test",
        "ptr-record=6.2.0.192.in-addr.arpa,also.test",
        "host-record=other.test,192.0.2.66",
        "host-record=also.test,192.0.2.6",
        "server=/7.2.0.192.in-addr.arpa/127.0.0.1#" + closed,
    });
    ASSERT_TRUE(server.ok()) << server.error().message;
    server_ = std::move(server).value().release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  smtp::ClientInfo look_up(const std::string& address) {
    outbound::ResolverOptions options;
    options.nameservers = {server_->nameserver()};
    options.timeout = 300ms;
    options.tries = 1;
    auto resolver = outbound::DnsResolver::create(io_, options);
    EXPECT_TRUE(resolver.ok());
    std::optional<smtp::ClientInfo> result;
    asio::co_spawn(io_,
                   look_up_client_names(io_, **resolver, log_, smtp::ClientInfo{address, "unknown", 4242}),
                   [&](std::exception_ptr error, smtp::ClientInfo client) {
                     if (error) std::rethrow_exception(error);
                     result = std::move(client);
                   });
    io_.restart();
    io_.run();
    EXPECT_TRUE(result.has_value());
    return result.value_or(smtp::ClientInfo{});
  }

  std::vector<std::string> lines() const { return sink_->lines(); }

  static outbound::testing::Dnsmasq* server_;
  asio::io_context io_;
  std::shared_ptr<log::MemorySink> sink_ = std::make_shared<log::MemorySink>();
  log::Logger log_{sink_, "estafeta/smtpd"};
};

outbound::testing::Dnsmasq* ClientNamesTest::server_ = nullptr;

TEST_F(ClientNamesTest, ForwardConfirmed) {
  for (const char* address : {"192.0.2.1", "2001:db8::1"}) {
    auto client = look_up(address);
    EXPECT_EQ(client.hostname, "good.test") << address;
    EXPECT_EQ(client.hostname_status, NameStatus::Ok);
    EXPECT_EQ(client.reverse_hostname, "good.test");
    EXPECT_EQ(client.reverse_hostname_status, NameStatus::Ok);
    EXPECT_EQ(client.address, address);
    EXPECT_EQ(client.port, 4242);
  }
  EXPECT_TRUE(lines().empty());
}

TEST_F(ClientNamesTest, ForgedName) {
  auto client = look_up("192.0.2.2");
  EXPECT_EQ(client.hostname, "unknown");
  EXPECT_EQ(client.hostname_status, NameStatus::NotFound);
  EXPECT_EQ(client.reverse_hostname, "forged.test");
  EXPECT_EQ(client.reverse_hostname_status, NameStatus::Ok);
  EXPECT_EQ(lines(), (std::vector<std::string>{
                         "estafeta/smtpd: warning: hostname forged.test does not resolve to "
                         "address 192.0.2.2"}));
}

TEST_F(ClientNamesTest, NameWithoutAddress) {
  auto client = look_up("192.0.2.4");
  EXPECT_EQ(client.hostname, "unknown");
  EXPECT_EQ(client.hostname_status, NameStatus::NotFound);
  EXPECT_EQ(client.reverse_hostname, "nowhere.test");
  EXPECT_EQ(lines(), (std::vector<std::string>{
                         "estafeta/smtpd: warning: hostname nowhere.test does not resolve to "
                         "address 192.0.2.4: Host not found"}));
}

TEST_F(ClientNamesTest, ForwardLookupTimesOut) {
  auto client = look_up("192.0.2.3");
  EXPECT_EQ(client.hostname, "unknown");
  EXPECT_EQ(client.hostname_status, NameStatus::TempFail);
  EXPECT_EQ(client.reverse_hostname, "slow.test");
  EXPECT_EQ(client.reverse_hostname_status, NameStatus::Ok);
  EXPECT_EQ(lines(), (std::vector<std::string>{
                         "estafeta/smtpd: warning: hostname slow.test does not resolve to "
                         "address 192.0.2.3: Host not found, try again (timeout)"}));
}

TEST_F(ClientNamesTest, PtrLookupTimesOut) {
  auto client = look_up("192.0.2.7");
  EXPECT_EQ(client.hostname, "unknown");
  EXPECT_EQ(client.hostname_status, NameStatus::TempFail);
  EXPECT_EQ(client.reverse_hostname, "unknown");
  EXPECT_EQ(client.reverse_hostname_status, NameStatus::TempFail);
  EXPECT_TRUE(lines().empty());
}

TEST_F(ClientNamesTest, NoPtrRecord) {
  for (const char* address : {"192.0.2.99", "2001:db8::99"}) {
    auto client = look_up(address);
    EXPECT_EQ(client.hostname, "unknown");
    EXPECT_EQ(client.hostname_status, NameStatus::NotFound);
    EXPECT_EQ(client.reverse_hostname, "unknown");
    EXPECT_EQ(client.reverse_hostname_status, NameStatus::NotFound);
  }
  EXPECT_TRUE(lines().empty());
}

TEST_F(ClientNamesTest, NumericPtrName) {
  auto client = look_up("192.0.2.5");
  EXPECT_EQ(client.hostname, "unknown");
  EXPECT_EQ(client.reverse_hostname, "unknown");
  EXPECT_EQ(client.reverse_hostname_status, NameStatus::NotFound);
  EXPECT_EQ(lines(),
            (std::vector<std::string>{"estafeta/smtpd: warning: numeric hostname: 192.0.2.5"}));
}

TEST_F(ClientNamesTest, OneOfTwoPtrNamesConfirms) {
  auto client = look_up("192.0.2.6");
  EXPECT_EQ(client.hostname, "also.test");
  EXPECT_EQ(client.hostname_status, NameStatus::Ok);
  EXPECT_NE(client.reverse_hostname, "unknown");  // the first of the reply's order
}

TEST_F(ClientNamesTest, AddressThatDoesNotParse) {
  auto client = look_up("not-an-address");
  EXPECT_EQ(client.hostname, "unknown");
  EXPECT_EQ(client.hostname_status, NameStatus::NotFound);
}

}  // namespace
}  // namespace estafeta::daemon
