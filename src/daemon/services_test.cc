// Tests of what the supervisor hands an exec'd service: its arguments (the master.cf row's
// name, type, maxproc and -o overrides, parsed back by the service), the listening sockets'
// environment variable, the restart delays, and the plan of the embedded default's
// submission services.
#include "daemon/services.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "config/master_cf.h"
#include "daemon/listeners.h"
#include "daemon/runtime.h"
#include "daemon/supervisor.h"

namespace estafeta::daemon {
namespace {

using Overrides = std::vector<std::pair<std::string, std::string>>;

TEST(ServiceArguments, RoundTripOfAMasterCfRow) {
  config::MasterCf m = config::parse_master_cf(
      "submission inet n - n - 10 smtpd -o smtpd_tls_security_level=encrypt\n"
      "  -o { smtpd_banner = $myhostname ready = yes }\n"
      "qmgr unix n - n 300 - qmgr\n",
      "master.cf");
  ASSERT_TRUE(m.ok);
  std::vector<std::string> args = service_arguments(m.services[0]);
  EXPECT_EQ(args, (std::vector<std::string>{"-n", "submission", "-t", "inet", "-m", "10", "-o",
                                            "smtpd_tls_security_level=encrypt", "-o",
                                            "smtpd_banner=$myhostname ready = yes"}));
  auto parsed = parse_service_arguments(args);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->name, "submission");
  EXPECT_EQ(parsed->type, "inet");
  EXPECT_EQ(parsed->max_process, "10");
  EXPECT_EQ(parsed->overrides, (Overrides{{"smtpd_tls_security_level", "encrypt"},
                                          {"smtpd_banner", "$myhostname ready = yes"}}));
  // maxproc "-" is left out: the service applies default_process_limit itself. The wakeup
  // column goes as -w (pickup's scan interval).
  EXPECT_EQ(service_arguments(m.services[1]),
            (std::vector<std::string>{"-n", "qmgr", "-t", "unix", "-w", "300"}));
  EXPECT_EQ(parse_service_arguments({"-w", "60"})->wakeup, "60");
  auto defaults = parse_service_arguments({});
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->max_process, "-");
}

TEST(ServiceArguments, Errors) {
  struct Case {
    std::vector<std::string> args;
    const char* error;
  };
  const Case cases[] = {
      {{"-v"}, "unknown argument: -v"},
      {{"-bs"}, "unknown argument: -bs"},
      {{"-n"}, "-n needs a value"},
      {{"-o", "novalue"}, "-o novalue: need name=value"},
      {{"-o", "=x"}, "-o =x: need name=value"},
  };
  for (const Case& c : cases) {
    auto parsed = parse_service_arguments(c.args);
    ASSERT_FALSE(parsed.ok()) << c.error;
    EXPECT_EQ(parsed.error().message, c.error);
  }
}

TEST(ListenFds, EncodeAndDecode) {
  std::string value = encode_listen_fds({"127.0.0.1:2525", "[::1]:2525"});
  EXPECT_EQ(value, "3=127.0.0.1:2525 4=[::1]:2525");
  auto decoded = decode_listen_fds(value);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  ASSERT_EQ(decoded->size(), 2u);
  EXPECT_EQ((*decoded)[0].fd, 3);
  EXPECT_EQ((*decoded)[0].endpoint, "127.0.0.1:2525");
  EXPECT_EQ((*decoded)[1].fd, 4);
  EXPECT_EQ((*decoded)[1].endpoint, "[::1]:2525");
  EXPECT_TRUE(decode_listen_fds("")->empty());
  for (const char* bad : {"x=127.0.0.1:25", "2=127.0.0.1:25", "3=", "=a", "3", "3=a 3=b", "3x=a"}) {
    EXPECT_FALSE(decode_listen_fds(bad).ok()) << bad;
  }
}

TEST(RestartDelay, DoublesFromOneSecondToAMinute) {
  const long long expected[] = {1, 2, 4, 8, 16, 32, 60, 60, 60};
  for (int failures = 1; failures <= 9; ++failures) {
    EXPECT_EQ(restart_delay(failures).count(), expected[failures - 1]) << failures;
  }
  EXPECT_EQ(restart_delay(1000).count(), 60);
}

}  // namespace
}  // namespace estafeta::daemon

namespace estafeta::daemon {
namespace {

// The embedded default's submission (2587) and submissions (2465) services need a
// certificate: without one they are planned out with one notice each; with one they run.
TEST(ServicePlan, EmbeddedSubmissionServicesWaitForACertificate) {
  char pattern[] = "/tmp/estafeta-plan-XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  const std::string dir = pattern;
  auto plan_with = [&](const std::string& main_cf) {
    std::ofstream(dir + "/main.cf") << "queue_directory = " << dir << "/spool\n" << main_cf;
    std::string report;
    auto plan = load_service_plan(dir, &report);
    EXPECT_TRUE(plan.ok()) << report;
    return plan;
  };
  auto endpoints = [](const ServicePlan& plan) {
    std::string out;
    for (const auto& spec : plan.services) {
      if (spec.role == config::ServiceRole::Smtpd) out += spec.row.endpoint + " ";
    }
    return out;
  };
  auto without = plan_with("");
  ASSERT_TRUE(without.ok());
  EXPECT_EQ(endpoints(*without), "127.0.0.1:2525 ");
  std::vector<std::string> notices;
  for (const auto& d : without->notices) notices.push_back(config::notice_text(d));
  EXPECT_EQ(notices, (std::vector<std::string>{
                         "(embedded default master.cf):10: service 127.0.0.1:2587 (smtpd): not "
                         "started: it needs TLS and smtpd_tls_cert_file is not set",
                         "(embedded default master.cf):15: service 127.0.0.1:2465 (smtpd): not "
                         "started: it needs TLS and smtpd_tls_cert_file is not set"}));
  auto with = plan_with("smtpd_tls_cert_file = /etc/ssl/mail.pem\n");
  ASSERT_TRUE(with.ok());
  EXPECT_EQ(endpoints(*with), "127.0.0.1:2525 127.0.0.1:2587 127.0.0.1:2465 ");
  EXPECT_TRUE(with->notices.empty());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace estafeta::daemon
