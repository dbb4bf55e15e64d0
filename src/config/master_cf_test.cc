// Tests of master.cf parsing (columns, continuations, -o overrides including Postfix 3's
// "-o { name = value }", errors with file:line) and of listen_addresses / max_sessions.
#include "config/master_cf.h"

#include <gtest/gtest.h>

namespace estafeta::config {
namespace {

TEST(MasterCf, EmbeddedDefault) {
  MasterCf m = parse_master_cf(kDefaultMasterCf, "default");
  ASSERT_TRUE(m.ok);
  ASSERT_EQ(m.services.size(), 1u);
  const Service& s = m.services[0];
  EXPECT_EQ(s.endpoint, "127.0.0.1:2525");
  EXPECT_EQ(s.type, "inet");
  EXPECT_FALSE(s.is_private);
  EXPECT_TRUE(s.unprivileged);
  EXPECT_FALSE(s.chroot);
  EXPECT_EQ(s.wakeup, "-");
  EXPECT_EQ(s.max_process, "-");
  EXPECT_EQ(s.command, "smtpd");
  EXPECT_TRUE(s.overrides.empty());
  EXPECT_EQ(s.line, 1);
}

TEST(MasterCf, ServicesOverridesAndContinuations) {
  MasterCf m = parse_master_cf(
      "# ==========================================================================\n"
      "# service type  private unpriv  chroot  wakeup  maxproc command + args\n"
      "smtp      inet  n       -       y       -       -       smtpd\n"
      "submission inet n       -       n       -       10      smtpd\n"
      "  -o syslog_name=estafeta/submission\n"
      "  -o smtpd_tls_security_level=encrypt\n"
      "#  -o commented_out=yes\n"
      "  -o { smtpd_banner = $myhostname submission ready }\n"
      "  -v\n"
      "[::1]:2525 inet n y n 60? 5 smtpd -o smtpd_timeout=60s\n"
      "pickup    unix  -       -       y       60      1       pickup\n",
      "/etc/estafeta/master.cf");
  ASSERT_TRUE(m.ok) << (m.diagnostics.empty() ? "" : m.diagnostics[0].to_string());
  ASSERT_EQ(m.services.size(), 4u);
  EXPECT_EQ(m.services[0].endpoint, "smtp");
  EXPECT_TRUE(m.services[0].chroot);
  EXPECT_EQ(m.services[0].line, 3);
  const Service& sub = m.services[1];
  EXPECT_EQ(sub.endpoint, "submission");
  EXPECT_EQ(sub.line, 4);
  EXPECT_EQ(sub.max_process, "10");
  using Overrides = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(sub.overrides, (Overrides{{"syslog_name", "estafeta/submission"},
                                      {"smtpd_tls_security_level", "encrypt"},
                                      {"smtpd_banner", "$myhostname submission ready"}}));
  EXPECT_EQ(sub.args, std::vector<std::string>{"-v"});
  const Service& v6 = m.services[2];
  EXPECT_EQ(v6.endpoint, "[::1]:2525");
  EXPECT_TRUE(v6.unprivileged);
  EXPECT_EQ(v6.wakeup, "60?");
  EXPECT_EQ(v6.overrides, (Overrides{{"smtpd_timeout", "60s"}}));
  EXPECT_EQ(m.services[3].type, "unix");
  EXPECT_TRUE(m.services[3].is_private);
}

TEST(MasterCf, ErrorsCarryFileAndLine) {
  struct Case {
    const char* text;
    const char* diagnostic;
  };
  const Case cases[] = {
      {"# c\nsmtp inet n - n - \n",
       "master.cf:2: error: bad field count: 6 (need at least 8: service type private unpriv "
       "chroot wakeup maxproc command)"},
      {"smtp inet n - n -\n  -\n\nsmtp2 tcp n - n - - smtpd\n",
       "master.cf:4: error: smtp2: unknown service type: tcp"},
      {"smtp inet x - n - - smtpd\n",
       "master.cf:1: error: smtp: private, unpriv and chroot must be y, n or -"},
      {"smtp inet - - n - - smtpd\n",
       "master.cf:1: error: smtp: an inet service cannot be private (the private column must "
       "be n)"},
      {"smtp inet n - n never - smtpd\n", "master.cf:1: error: smtp: bad wakeup time: never"},
      {"smtp inet n - n - lots smtpd\n", "master.cf:1: error: smtp: bad process limit: lots"},
      {"smtp inet n - n - - smtpd -o\n", "master.cf:1: error: smtp: -o without name=value"},
      {"smtp inet n - n - - smtpd -o novalue\n",
       "master.cf:1: error: smtp: bad -o argument: \"novalue\" (need name=value)"},
      {"smtp inet n - n - - smtpd -o { a b }\n",
       "master.cf:1: error: smtp: bad -o argument: \"a b\" (need name=value)"},
      {"smtp inet n - n - - smtpd -o { a = b\n", "master.cf:1: error: missing '}'"},
      {"smtp inet n - n - - smtpd\nsmtp inet n - n - - smtpd\n",
       "master.cf:2: error: duplicate service: smtp inet (first at line 1)"},
  };
  for (const Case& c : cases) {
    MasterCf m = parse_master_cf(c.text, "master.cf");
    EXPECT_FALSE(m.ok) << c.text;
    ASSERT_FALSE(m.diagnostics.empty()) << c.text;
    EXPECT_EQ(m.diagnostics.back().to_string(), c.diagnostic) << c.text;
  }
}

Config config_with(std::string_view main_cf) {
  LoadResult r = Config::parse(main_cf, "main.cf", "/etc/estafeta", "mx.example.com");
  EXPECT_TRUE(r.config.has_value()) << main_cf;
  return std::move(*r.config);
}

std::string addresses(std::string_view endpoint, std::string_view main_cf) {
  Service s;
  s.endpoint = std::string(endpoint);
  s.type = "inet";
  Result<std::vector<ListenAddress>> r = listen_addresses(s, config_with(main_cf));
  if (!r.ok()) {
    return "error: " + r.error().message;
  }
  std::string out;
  for (const ListenAddress& a : r.value()) {
    out += (out.empty() ? "" : " ") + a.host + "/" + std::to_string(a.port);
  }
  return out;
}

TEST(MasterCf, ListenAddresses) {
  struct Case {
    const char* endpoint;
    const char* main_cf;
    const char* expected;
  };
  const Case cases[] = {
      {"127.0.0.1:2525", "", "127.0.0.1/2525"},
      {"[::1]:2525", "", "::1/2525"},
      {"smtp", "", "0.0.0.0/25 ::/25"},
      {"smtp", "inet_protocols = ipv4", "0.0.0.0/25"},
      {"smtp", "inet_protocols = ipv6", "::/25"},
      {"smtp", "inet_protocols = ipv4, ipv6", "0.0.0.0/25 ::/25"},
      {"submission", "inet_interfaces = loopback-only", "127.0.0.1/587 ::1/587"},
      {"smtps", "inet_interfaces = loopback-only\ninet_protocols = ipv4", "127.0.0.1/465"},
      {"submissions", "inet_interfaces = 192.0.2.1, [2001:db8::1]",
       "192.0.2.1/465 2001:db8::1/465"},
      {"2525", "inet_interfaces = 127.0.0.1", "127.0.0.1/2525"},
      {"2525", "", "0.0.0.0/2525 ::/2525"},
      {"localhost:2525", "", "127.0.0.1/2525 ::1/2525"},
      {"smtp", "inet_interfaces = localhost", "127.0.0.1/25 ::1/25"},
      {"mx.example.com:25", "",
       "error: mx.example.com:25: \"mx.example.com\" is not a numeric "
       "IP address"},
      {"127.0.0.1:0", "", "error: 127.0.0.1:0: port out of range: 0"},
      {"127.0.0.1:65536", "", "error: 127.0.0.1:65536: port out of range: 65536"},
      {"127.0.0.1:", "", "error: 127.0.0.1:: unknown service or bad port: \"\""},
      {"pop3", "", "error: pop3: unknown service or bad port: \"pop3\""},
      {"[::1]2525", "", "error: [::1]2525: expected [address]:port"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(addresses(c.endpoint, c.main_cf), c.expected) << c.endpoint << " with " << c.main_cf;
  }
}

TEST(MasterCf, ListenAddressesNeedInet) {
  Service s;
  s.endpoint = "pickup";
  s.type = "unix";
  EXPECT_FALSE(listen_addresses(s, config_with("")).ok());
}

TEST(MasterCf, MaxSessions) {
  Config c = config_with("default_process_limit = 7");
  Service s;
  s.max_process = "-";
  EXPECT_EQ(max_sessions(s, c), 7);
  s.max_process = "25";
  EXPECT_EQ(max_sessions(s, c), 25);
  s.max_process = "0";
  EXPECT_EQ(max_sessions(s, c), 0);
  EXPECT_EQ(max_sessions(s, config_with("")), 0);
  s.max_process = "-";
  EXPECT_EQ(max_sessions(s, config_with("")), 100);
}

}  // namespace
}  // namespace estafeta::config
