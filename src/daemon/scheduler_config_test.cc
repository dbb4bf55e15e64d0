// main.cf -> the scheduler's settings: Postfix's defaults, and the per-transport destination
// limits of local, relay, smtp and virtual (which follow the default_ ones unless set).
#include "daemon/scheduler_config.h"

#include <gtest/gtest.h>

#include <string_view>

namespace estafeta::daemon {
namespace {

config::Config config_from(std::string_view main_cf) {
  auto loaded = config::Config::parse(main_cf, "main.cf", "/etc/estafeta", "mx.example.org");
  EXPECT_TRUE(loaded.config.has_value());
  for (const auto& d : loaded.diagnostics) ADD_FAILURE() << d.message;
  return loaded.config ? *loaded.config : config::Config::defaults();
}

qmgr::SchedulerSettings settings_from(std::string_view main_cf) {
  return scheduler_settings(config_from(main_cf));
}

TEST(SchedulerConfigTest, PostfixDefaults) {
  const qmgr::SchedulerSettings s = settings_from("");
  for (std::string_view transport : {"relay", "smtp", "virtual", "pipe-to-something"}) {
    const qmgr::TransportLimits limits = s.limits_for(transport);
    EXPECT_EQ(limits.destination_concurrency_limit, 20) << transport;
    EXPECT_EQ(limits.destination_recipient_limit, 50) << transport;
    EXPECT_EQ(limits.initial_destination_concurrency, 5) << transport;
  }
  EXPECT_EQ(s.limits_for("local").destination_concurrency_limit, 2);
  EXPECT_EQ(s.limits_for("local").destination_recipient_limit, 1);
}

TEST(SchedulerConfigTest, TransportLimitsFollowTheDefaultOnesUnlessSet) {
  const qmgr::SchedulerSettings s = settings_from(
      "default_destination_concurrency_limit = 7\n"
      "default_destination_recipient_limit = 9\n"
      "virtual_destination_concurrency_limit = 50\n"
      "smtp_destination_recipient_limit = 3\n"
      "relay_destination_concurrency_limit = 4\n"
      "local_destination_concurrency_limit = 6\n");
  EXPECT_EQ(s.limits_for("virtual").destination_concurrency_limit, 50);
  EXPECT_EQ(s.limits_for("virtual").destination_recipient_limit, 9);
  EXPECT_EQ(s.limits_for("smtp").destination_concurrency_limit, 7);
  EXPECT_EQ(s.limits_for("smtp").destination_recipient_limit, 3);
  EXPECT_EQ(s.limits_for("relay").destination_concurrency_limit, 4);
  EXPECT_EQ(s.limits_for("relay").destination_recipient_limit, 9);
  EXPECT_EQ(s.limits_for("local").destination_concurrency_limit, 6);
  EXPECT_EQ(s.limits_for("local").destination_recipient_limit, 1);
  // A transport without parameters of its own takes the default ones.
  EXPECT_EQ(s.limits_for("lmtp").destination_concurrency_limit, 7);
  // The initial window never exceeds a transport's limit.
  EXPECT_EQ(s.limits_for("relay").initial_destination_concurrency, 4);
}

TEST(SchedulerConfigTest, AnyMasterCfTransportHasItsOwnLimits) {
  const qmgr::SchedulerSettings s = settings_from(
      "default_destination_concurrency_limit = 7\n"
      "slow_destination_concurrency_limit = 1\n"
      "slow_destination_rate_delay = 3s\n"
      "slow_destination_recipient_limit = 2\n"
      "bulk_initial_destination_concurrency = 3\n"
      "virtual_initial_destination_concurrency = 2\n");
  const qmgr::TransportLimits slow = s.limits_for("slow");
  EXPECT_EQ(slow.destination_concurrency_limit, 1);
  EXPECT_EQ(slow.rate_delay, std::chrono::seconds(3));
  EXPECT_EQ(slow.destination_recipient_limit, 2);
  EXPECT_EQ(slow.initial_destination_concurrency, 1);  // capped by its limit
  EXPECT_EQ(s.limits_for("bulk").initial_destination_concurrency, 3);
  EXPECT_EQ(s.limits_for("bulk").destination_concurrency_limit, 7);
  EXPECT_EQ(s.limits_for("virtual").initial_destination_concurrency, 2);
  EXPECT_EQ(s.limits_for("virtual").destination_concurrency_limit, 7);
  EXPECT_EQ(s.limits_for("smtp").rate_delay, std::chrono::seconds(0));
}

TEST(SchedulerConfigTest, ParametersOfNoMasterCfTransportAreNamed) {
  const config::Config c = config_from(
      "slow_destination_concurrency_limit = 1\nslwo_destination_rate_delay = 1s\n"
      "smtp_destination_concurrency_limit = 3\n");
  const std::set<std::string, std::less<>> agents = {"local", "smtp", "slow", "virtual"};
  EXPECT_EQ(transport_parameters_without_transport(c, agents),
            std::vector<std::string>{"slwo_destination_rate_delay"});
}

TEST(SchedulerConfigTest, QueueTimes) {
  const qmgr::SchedulerSettings s = settings_from(
      "maximal_queue_lifetime = 2d\nbounce_queue_lifetime = 1h\nminimal_backoff_time = 10m\n"
      "defer_transports = smtp, relay\n");
  EXPECT_EQ(s.maximal_queue_lifetime, std::chrono::seconds(2 * 86400));
  EXPECT_EQ(s.bounce_queue_lifetime, std::chrono::seconds(3600));
  EXPECT_EQ(s.minimal_backoff_time, std::chrono::seconds(600));
  EXPECT_EQ(s.defer_transports.count("relay"), 1u);
  EXPECT_EQ(s.defer_transports.count("smtp"), 1u);
}

}  // namespace
}  // namespace estafeta::daemon
