// Config -> SmtpdSettings: the main.cf parameters reach the session, the relay policy and
// the limits with their Postfix meaning.
#include "daemon/smtpd_settings.h"

#include <gtest/gtest.h>

namespace estafeta::daemon {
namespace {

config::Config parse(std::string_view text) {
  auto loaded = config::Config::parse(text, "main.cf", "/etc/estafeta", "mx.example.org");
  EXPECT_TRUE(loaded.config.has_value());
  return *loaded.config;
}

TEST(SmtpdSettings, Defaults) {
  auto settings = make_smtpd_settings(parse(""), 100);
  ASSERT_TRUE(settings.ok());
  EXPECT_EQ(settings->session.hostname, "mx.example.org");
  EXPECT_EQ(settings->session.banner, "mx.example.org ESMTP Estafeta");
  EXPECT_EQ(settings->session.message_size_limit, 10240000u);
  EXPECT_FALSE(settings->session.vrfy_enabled);
  EXPECT_TRUE(settings->session.forbid_bare_newline);
  EXPECT_FALSE(settings->session.starttls_available);
  EXPECT_EQ(settings->recipients.local_domains,
            (std::vector<std::string>{"mx.example.org", "localhost.example.org", "localhost"}));
  EXPECT_TRUE(settings->recipients.mynetworks.contains("127.0.0.1"));
  EXPECT_TRUE(settings->limit_exceptions.contains("::1"));
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
                                      5);
  ASSERT_TRUE(settings.ok());
  EXPECT_EQ(settings->recipients.local_domains, std::vector<std::string>{"example.com"});
  EXPECT_FALSE(settings->recipients.mynetworks.contains("127.0.0.1"));
  EXPECT_TRUE(settings->limit_exceptions.contains("10.1.2.3"));
  EXPECT_EQ(settings->timeout, std::chrono::seconds(120));
  EXPECT_TRUE(settings->session.vrfy_enabled);
  EXPECT_FALSE(settings->session.forbid_bare_newline);
  EXPECT_TRUE(settings->session.starttls_available);
  EXPECT_TRUE(settings->session.tls_required);
  EXPECT_EQ(settings->tls_key_file, "/c.pem");  // Postfix: key defaults to the cert file
  EXPECT_EQ(settings->max_sessions, 5);
}

TEST(SmtpdSettings, TlsWithoutCertificateIsAnError) {
  auto settings = make_smtpd_settings(parse("smtpd_tls_security_level = may\n"), 100);
  ASSERT_FALSE(settings.ok());
  EXPECT_NE(settings.error().message.find("smtpd_tls_cert_file"), std::string::npos);
}

TEST(SmtpdSettings, BadNetworkIsAnError) {
  auto settings = make_smtpd_settings(parse("mynetworks = 10.0.0.0/99\n"), 100);
  ASSERT_FALSE(settings.ok());
  EXPECT_NE(settings.error().message.find("mynetworks"), std::string::npos);
}

}  // namespace
}  // namespace estafeta::daemon
