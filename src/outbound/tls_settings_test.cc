// Tests for reading the smtp_tls_* parameters from main.cf.
#include "outbound/tls_settings.h"

#include <gtest/gtest.h>

namespace estafeta::outbound {
namespace {

Result<ClientTlsSettings> settings_from(std::string_view main_cf) {
  auto loaded = config::Config::parse(main_cf, "main.cf", "/etc/estafeta", "mx.example.org");
  EXPECT_TRUE(loaded.config.has_value());
  return make_client_tls_settings(*loaded.config);
}

TEST(ClientTlsSettings, Defaults) {
  auto s = settings_from("");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->level, TlsLevel::May);
  EXPECT_EQ(s->ca_file, "");
  EXPECT_EQ(s->ca_path, "");
  EXPECT_EQ(s->key_file, "");
  EXPECT_EQ(s->protocols, TlsProtocols{});
  EXPECT_EQ(s->ciphers, "medium");
  EXPECT_EQ(s->mandatory_ciphers, "medium");
  EXPECT_EQ(s->servername, "");
  EXPECT_EQ(s->loglevel, 1);
  EXPECT_EQ(s->verify_cert_match, (std::vector<std::string>{"hostname"}));
  EXPECT_EQ(s->secure_cert_match, (std::vector<std::string>{"nexthop", "dot-nexthop"}));
  EXPECT_FALSE(s->note_starttls_offer);
  EXPECT_EQ(s->insecure_mx_policy, InsecureMxPolicy::Dane);
}

TEST(ClientTlsSettings, InsecureMxPolicy) {
  EXPECT_EQ(parse_insecure_mx_policy("may"), InsecureMxPolicy::May);
  EXPECT_EQ(parse_insecure_mx_policy("Encrypt"), InsecureMxPolicy::Encrypt);
  EXPECT_EQ(parse_insecure_mx_policy("dane"), InsecureMxPolicy::Dane);
  EXPECT_EQ(parse_insecure_mx_policy("disabled"), std::nullopt);
  EXPECT_EQ(parse_insecure_mx_policy(""), std::nullopt);
  auto s = settings_from("smtp_tls_dane_insecure_mx_policy = may\n");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->insecure_mx_policy, InsecureMxPolicy::May);
  s = settings_from("smtp_tls_dane_insecure_mx_policy = encrypt\n");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->insecure_mx_policy, InsecureMxPolicy::Encrypt);
}

TEST(ClientTlsSettings, Values) {
  auto s = settings_from(
      "smtp_tls_security_level = secure\n"
      "smtp_tls_policy_maps = texthash:/etc/estafeta/tls_policy\n"
      "smtp_tls_CAfile = /etc/ssl/ca.pem\n"
      "smtp_tls_cert_file = /etc/ssl/client.pem\n"
      "smtp_tls_mandatory_protocols = >=TLSv1.2\n"
      "smtp_tls_mandatory_ciphers = high\n"
      "smtp_tls_servername = nexthop\n"
      "smtp_tls_secure_cert_match = nexthop:.example.net, hostname\n"
      "smtp_tls_note_starttls_offer = yes\n");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->level, TlsLevel::Secure);
  EXPECT_EQ(s->policy_maps, "texthash:/etc/estafeta/tls_policy");
  EXPECT_EQ(s->ca_file, "/etc/ssl/ca.pem");
  EXPECT_EQ(s->key_file, "/etc/ssl/client.pem");  // $smtp_tls_cert_file
  EXPECT_FALSE(s->mandatory_protocols.allows(TlsVersion::TLSv1_1));
  EXPECT_TRUE(s->mandatory_protocols.allows(TlsVersion::TLSv1_2));
  EXPECT_EQ(s->mandatory_ciphers, "high");
  EXPECT_EQ(s->servername, "nexthop");
  EXPECT_EQ(s->secure_cert_match,
            (std::vector<std::string>{"nexthop", ".example.net", "hostname"}));
  EXPECT_TRUE(s->note_starttls_offer);
}

TEST(ClientTlsSettings, EmptyLevelIsNone) {
  auto s = settings_from("smtp_tls_security_level =\n");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->level, TlsLevel::None);
}

TEST(ClientTlsSettings, BadProtocolsNameTheParameter) {
  auto s = settings_from("smtp_tls_protocols = TLSv2\n");
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.error().message.starts_with("smtp_tls_protocols: ")) << s.error().message;
}

}  // namespace
}  // namespace estafeta::outbound
