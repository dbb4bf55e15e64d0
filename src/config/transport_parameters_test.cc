// Tests for per-transport scheduler parameters: which names they are, and that main.cf takes
// them without an "unknown parameter" warning but with their default_ counterpart's checks.
#include "config/transport_parameters.h"

#include <gtest/gtest.h>

#include "config/config.h"

namespace estafeta::config {
namespace {

TEST(TransportParameters, NamesOfAnyTransport) {
  auto p = split_transport_parameter("slow_destination_concurrency_limit");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->transport, "slow");
  EXPECT_EQ(p->setting, TransportSetting::kDestinationConcurrencyLimit);
  EXPECT_EQ(p->like->name, "default_destination_concurrency_limit");
  p = split_transport_parameter("smtp_ipv6_initial_destination_concurrency");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->transport, "smtp_ipv6");
  EXPECT_EQ(p->setting, TransportSetting::kInitialDestinationConcurrency);
  EXPECT_EQ(split_transport_parameter("x_destination_recipient_limit")->setting,
            TransportSetting::kDestinationRecipientLimit);
  EXPECT_EQ(split_transport_parameter("x_destination_rate_delay")->setting,
            TransportSetting::kDestinationRateDelay);
}

TEST(TransportParameters, OtherNamesAreNot) {
  for (const char* name :
       {"_destination_concurrency_limit", "default_destination_concurrency_limit",
        "slow_destination_concurrency", "slow/x_destination_rate_delay",
        "smtp-amavis_destination_recipient_limit", "slow_destination_concurrency_limit_x",
        "myhostname", ""}) {
    EXPECT_FALSE(split_transport_parameter(name).has_value()) << name;
  }
}

TEST(TransportParameters, MainCfTakesThemWithTheirDefaultCounterpartsChecks) {
  auto loaded = Config::parse(
      "slow_destination_concurrency_limit = 1\nslow_destination_rate_delay = 2s\n"
      "slow_initial_destination_concurrency = $slow_destination_concurrency_limit\n",
      "main.cf", "/etc/estafeta", "mx.example.org");
  ASSERT_TRUE(loaded.config.has_value());
  EXPECT_TRUE(loaded.diagnostics.empty()) << loaded.diagnostics.front().message;
  EXPECT_EQ(loaded.config->get("slow_initial_destination_concurrency"), "1");

  loaded = Config::parse("slow_destination_recipient_limit = 0\n", "main.cf", "/etc/estafeta",
                         "mx.example.org");
  EXPECT_FALSE(loaded.config.has_value());  // at least 1, as default_destination_recipient_limit
  ASSERT_FALSE(loaded.diagnostics.empty());
  EXPECT_NE(
      loaded.diagnostics.front().message.find("bad value for slow_destination_recipient_limit"),
      std::string::npos)
      << loaded.diagnostics.front().message;
  loaded = Config::parse("slow_destination_rate_delay = soon\n", "main.cf", "/etc/estafeta",
                         "mx.example.org");
  EXPECT_FALSE(loaded.config.has_value());
}

}  // namespace
}  // namespace estafeta::config
