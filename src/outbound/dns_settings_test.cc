// Tests of the outbound DNS settings (dns_settings.h).
#include "outbound/dns_settings.h"

#include <gtest/gtest.h>

namespace estafeta::outbound {
namespace {

TEST(DnsSettings, NameserverCsv) {
  auto csv = nameserver_csv({"127.0.0.1", "127.0.0.1:5353", "[::1]:53", "::1", "[2001:db8::2]"});
  ASSERT_TRUE(csv.ok()) << csv.error().message;
  EXPECT_EQ(*csv, "127.0.0.1:53,127.0.0.1:5353,[::1]:53,[::1]:53,[2001:db8::2]:53");
  EXPECT_EQ(*nameserver_csv({}), "");
  for (const char* bad : {"ns.example.com", "127.0.0.1:0", "127.0.0.1:x", "[::1", "[::1]x",
                          "1.2.3.4,5.6.7.8", "[127.0.0.1]:53", ""}) {
    EXPECT_FALSE(nameserver_csv({bad}).ok()) << bad;
  }
}

config::Config parse(std::string_view main_cf) {
  auto loaded = config::Config::parse(main_cf, "main.cf", "/etc/estafeta", "mx.example.com");
  EXPECT_TRUE(loaded.config.has_value());
  return *loaded.config;
}

TEST(DnsSettings, FromMainCf) {
  auto defaults = mx_plan_settings(parse(""));
  EXPECT_EQ(defaults.myhostname, "mx.example.com");
  EXPECT_TRUE(defaults.ipv4);
  EXPECT_TRUE(defaults.ipv6);
  EXPECT_EQ(defaults.address_preference, AddressPreference::Any);
  EXPECT_EQ(defaults.mx_address_limit, 5u);
  EXPECT_EQ(defaults.mx_session_limit, 2u);
  EXPECT_TRUE(resolver_options(parse("")).nameservers.empty());

  auto set = mx_plan_settings(
      parse("inet_protocols = ipv4\nsmtp_address_preference = ipv6\nsmtp_mx_address_limit = 0\n"
            "smtp_mx_session_limit = 3\n"));
  EXPECT_TRUE(set.ipv4);
  EXPECT_FALSE(set.ipv6);
  EXPECT_EQ(set.address_preference, AddressPreference::Ipv6);
  EXPECT_EQ(set.mx_address_limit, 0u);
  EXPECT_EQ(set.mx_session_limit, 3u);
  auto options = resolver_options(parse("resolver_nameservers = 127.0.0.1:5353, [::1]:53\n"));
  EXPECT_EQ(options.nameservers, (std::vector<std::string>{"127.0.0.1:5353", "[::1]:53"}));
}

}  // namespace
}  // namespace estafeta::outbound
