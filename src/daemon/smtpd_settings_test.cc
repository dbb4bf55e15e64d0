// Config -> SmtpdSettings: the main.cf parameters reach the session, the relay policy and
// the limits with their Postfix meaning.
#include "daemon/smtpd_settings.h"

#include <gtest/gtest.h>

namespace estafeta::daemon {
namespace {

std::shared_ptr<const maps::MapSet> no_tables() { return maps::MapSet::open({}).set; }

config::Config parse(std::string_view text) {
  auto loaded = config::Config::parse(text, "main.cf", "/etc/estafeta", "mx.example.org");
  EXPECT_TRUE(loaded.config.has_value());
  return *loaded.config;
}

TEST(SmtpdSettings, Defaults) {
  auto settings = make_smtpd_settings(parse(""), 100, no_tables());
  ASSERT_TRUE(settings.ok());
  EXPECT_EQ(settings->session.hostname, "mx.example.org");
  EXPECT_EQ(settings->session.banner, "mx.example.org ESMTP Estafeta");
  EXPECT_EQ(settings->session.message_size_limit, 10240000u);
  EXPECT_FALSE(settings->session.vrfy_enabled);
  EXPECT_EQ(settings->session.bare_newline, smtp::BareNewlineMode::Normalize);
  EXPECT_EQ(settings->session.bare_newline_reject_code, 550);
  EXPECT_FALSE(settings->session.starttls_available);
  EXPECT_EQ(settings->recipients.local_domains.literals(),
            (std::vector<std::string>{"mx.example.org", "localhost.example.org", "localhost"}));
  EXPECT_EQ(settings->recipients.mynetworks.contains("127.0.0.1"), policy::Match::Yes);
  EXPECT_EQ(settings->limit_exceptions.contains("::1"), policy::Match::Yes);
  EXPECT_EQ(settings->timeout, std::chrono::seconds(300));
  EXPECT_EQ(settings->max_sessions, 100);
  EXPECT_EQ(settings->per_client_limit, 50);
}

TEST(SmtpdSettings, ExplicitValues) {
  auto settings = make_smtpd_settings(parse("mydestination = Example.COM\n"
                                            "mynetworks = 10.0.0.0/8\n"
                                            "smtpd_timeout = 2m\n"
                                            "disable_vrfy_command = no\n"
                                            "smtpd_forbid_bare_newline = no\n"
                                            "smtpd_tls_cert_file = /c.pem\n"
                                            "smtpd_tls_security_level = encrypt\n"),
                                      5, no_tables());
  ASSERT_TRUE(settings.ok());
  EXPECT_EQ(settings->recipients.local_domains.literals(),
            std::vector<std::string>{"example.com"});
  EXPECT_EQ(settings->recipients.mynetworks.contains("127.0.0.1"), policy::Match::No);
  EXPECT_EQ(settings->limit_exceptions.contains("10.1.2.3"), policy::Match::Yes);
  EXPECT_EQ(settings->timeout, std::chrono::seconds(120));
  EXPECT_TRUE(settings->session.vrfy_enabled);
  EXPECT_EQ(settings->session.bare_newline, smtp::BareNewlineMode::No);
  EXPECT_TRUE(settings->session.starttls_available);
  EXPECT_TRUE(settings->session.tls_required);
  EXPECT_EQ(settings->tls_key_file, "/c.pem");  // Postfix: key defaults to the cert file
  EXPECT_EQ(settings->max_sessions, 5);
}

TEST(SmtpdSettings, TablesInDomainAndNetworkLists) {
  auto config = parse(
      "mydestination = localhost, inline:{tabled.example=OK}\n"
      "mynetworks = 127.0.0.0/8, [::1]/128, inline:{192.0.2.9=OK}\n");
  auto specs = smtpd_table_specs(config);
  // mynetworks, then smtpd_client_event_limit_exceptions and
  // smtpd_forbid_bare_newline_exclusions (both $mynetworks by default).
  EXPECT_EQ(specs, (std::vector<std::string>{"inline:{tabled.example=OK}",
                                             "inline:{192.0.2.9=OK}", "inline:{192.0.2.9=OK}",
                                             "inline:{192.0.2.9=OK}"}));
  auto opened = maps::MapSet::open(specs);
  ASSERT_TRUE(opened.ok());
  auto settings = make_smtpd_settings(config, 100, opened.set);
  ASSERT_TRUE(settings.ok());
  EXPECT_EQ(settings->recipients.local_domains.contains("tabled.example"), policy::Match::Yes);
  EXPECT_EQ(settings->recipients.local_domains.contains("other.example"), policy::Match::No);
  EXPECT_EQ(settings->recipients.mynetworks.contains("192.0.2.9"), policy::Match::Yes);
  EXPECT_EQ(settings->recipients.mynetworks.contains("::1"), policy::Match::Yes);
}

// smtpd_forbid_bare_newline and its exclusions (default $mynetworks), per client address.
TEST(SmtpdSettings, BareNewlineModeAndExclusions) {
  using M = smtp::BareNewlineMode;
  struct Case {
    std::string main_cf;
    std::string client;
    M mode;
  };
  const Case cases[] = {
      {"", "127.0.0.1", M::No},  // in the default mynetworks
      {"", "::1", M::No},
      {"", "192.0.2.1", M::Normalize},
      {"smtpd_forbid_bare_newline = yes\n", "192.0.2.1", M::Normalize},
      {"smtpd_forbid_bare_newline = note\n", "192.0.2.1", M::Note},
      {"smtpd_forbid_bare_newline = reject\n", "192.0.2.1", M::Reject},
      {"smtpd_forbid_bare_newline = reject\n", "127.0.0.1", M::No},
      {"smtpd_forbid_bare_newline = no\n", "192.0.2.1", M::No},
      {"mynetworks = 192.0.2.0/24\n", "192.0.2.1", M::No},
      {"mynetworks = 192.0.2.0/24\n", "127.0.0.1", M::Normalize},
      {"smtpd_forbid_bare_newline_exclusions =\n", "127.0.0.1", M::Normalize},
      {"smtpd_forbid_bare_newline_exclusions = 198.51.100.0/24, [2001:db8::]/32\n"
       "smtpd_forbid_bare_newline = reject\n",
       "2001:db8::5", M::No},
      {"smtpd_forbid_bare_newline_exclusions = 198.51.100.0/24\n"
       "smtpd_forbid_bare_newline = reject\n",
       "127.0.0.1", M::Reject},
  };
  for (const Case& c : cases) {
    auto settings = make_smtpd_settings(parse(c.main_cf), 100, no_tables());
    ASSERT_TRUE(settings.ok()) << c.main_cf;
    EXPECT_EQ(settings->bare_newline_for(c.client), c.mode) << c.main_cf << c.client;
  }

  // Tables, as in mynetworks; a table that is not open excludes nobody.
  auto config = parse(
      "smtpd_forbid_bare_newline = reject\n"
      "smtpd_forbid_bare_newline_exclusions = 192.0.2.0/24, inline:{10.0.0.1=OK}\n"
      "smtpd_forbid_bare_newline_reject_code = 521\n");
  auto opened = maps::MapSet::open(smtpd_table_specs(config));
  ASSERT_TRUE(opened.ok());
  auto settings = make_smtpd_settings(config, 100, opened.set);
  ASSERT_TRUE(settings.ok());
  EXPECT_EQ(settings->session.bare_newline_reject_code, 521);
  EXPECT_EQ(settings->bare_newline_for("192.0.2.77"), M::No);
  EXPECT_EQ(settings->bare_newline_for("10.0.0.1"), M::No);
  EXPECT_EQ(settings->bare_newline_for("10.0.0.2"), M::Reject);
  auto missing = make_smtpd_settings(config, 100, no_tables());
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->bare_newline_for("10.0.0.1"), M::Reject);

  auto bad = make_smtpd_settings(parse("smtpd_forbid_bare_newline_exclusions = 10.0.0.1/8\n"),
                                 100, no_tables());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("smtpd_forbid_bare_newline_exclusions"), std::string::npos);
}

TEST(SmtpdSettings, TlsWithoutCertificateIsAnError) {
  auto settings = make_smtpd_settings(parse("smtpd_tls_security_level = may\n"), 100, no_tables());
  ASSERT_FALSE(settings.ok());
  EXPECT_NE(settings.error().message.find("smtpd_tls_cert_file"), std::string::npos);
}

TEST(SmtpdSettings, BadNetworkIsAnError) {
  auto settings = make_smtpd_settings(parse("mynetworks = 10.0.0.0/99\n"), 100, no_tables());
  ASSERT_FALSE(settings.ok());
  EXPECT_NE(settings.error().message.find("mynetworks"), std::string::npos);
}

}  // namespace
}  // namespace estafeta::daemon
