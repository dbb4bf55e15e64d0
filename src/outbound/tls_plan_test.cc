// Tests for the effective TLS policy, the per-server plan, the peer decision and log texts.
#include "outbound/tls_plan.h"

#include <gtest/gtest.h>

namespace estafeta::outbound {
namespace {

ClientTlsSettings settings() {
  ClientTlsSettings s;
  s.protocols = *parse_tls_protocols(">=TLSv1");
  s.mandatory_protocols = *parse_tls_protocols(">=TLSv1.2");
  s.ciphers = "medium";
  s.mandatory_ciphers = "high";
  return s;
}

TEST(EffectivePolicy, DefaultLevelFromSettings) {
  TlsPolicy p = effective_tls_policy(settings(), std::nullopt);
  EXPECT_EQ(p.level, TlsLevel::May);
  EXPECT_EQ(p.effective_level, TlsLevel::May);
  EXPECT_EQ(p.protocols, settings().protocols);  // opportunistic settings
  EXPECT_EQ(p.cipher_list, *openssl_cipher_list("medium", {}));
  EXPECT_FALSE(p.defer_reason);
}

TEST(EffectivePolicy, MandatorySettingsForEncryptAndAbove) {
  auto p = tls_policy_from_table(settings(), "encrypt");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->protocols, settings().mandatory_protocols);
  EXPECT_EQ(p->cipher_list, *openssl_cipher_list("high", {}));
}

TEST(EffectivePolicy, EntryAttributesReplaceSettings) {
  auto p = tls_policy_from_table(
      settings(), "verify protocols=TLSv1.3 ciphers=medium exclude=RC4 servername=nexthop");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->protocols, *parse_tls_protocols("TLSv1.3"));
  EXPECT_EQ(p->cipher_list, "HIGH:MEDIUM:!aNULL:!eNULL:!RC4");
  EXPECT_EQ(p->servername, "nexthop");
  EXPECT_EQ(p->match, (std::vector<std::string>{"hostname"}));  // smtp_tls_verify_cert_match
}

TEST(EffectivePolicy, SecureDefaultMatch) {
  auto p = tls_policy_from_table(settings(), "secure");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->match, (std::vector<std::string>{"nexthop", "dot-nexthop"}));
}

TEST(EffectivePolicy, MalformedEntryIsAnError) {
  auto p = tls_policy_from_table(settings(), "secure mtch=x");
  ASSERT_FALSE(p.ok());
  TlsRefusal r = invalid_policy_reason("example.com", p.error());
  EXPECT_EQ(r.status, "4.7.5");
  EXPECT_EQ(r.text, "TLS policy for example.com is invalid: unknown TLS policy attribute \"mtch\"");
}

TEST(EffectivePolicy, DaneIsMayUntilDnsIsAskedDaneOnlyIsRequired) {
  auto dane = tls_policy_from_table(settings(), "dane");
  ASSERT_TRUE(dane.ok());
  EXPECT_EQ(dane->level, TlsLevel::Dane);
  EXPECT_EQ(dane->effective_level, TlsLevel::May);
  EXPECT_FALSE(dane->defer_reason);
  auto only = tls_policy_from_table(settings(), "dane-only");
  ASSERT_TRUE(only.ok());
  EXPECT_FALSE(only->defer_reason);
  EXPECT_EQ(only->effective_level, TlsLevel::DaneOnly);
  EXPECT_TRUE(plan_tls_connection(*only, "example.com", "mx.example.com").required);
}

TEST(EffectivePolicy, EmptyMatchListDefers) {
  ClientTlsSettings s = settings();
  s.level = TlsLevel::Verify;
  s.verify_cert_match.clear();
  EXPECT_TRUE(effective_tls_policy(s, std::nullopt).defer_reason);
  TlsPolicyEntry fingerprint;
  fingerprint.level = TlsLevel::Fingerprint;
  EXPECT_TRUE(effective_tls_policy(settings(), fingerprint).defer_reason);
}

TEST(ConnectionPlan, LevelsDecideAttemptAndRequired) {
  const std::tuple<const char*, bool, bool> cases[] = {
      {"none", false, false},  {"may", true, false},   {"dane", true, false},
      {"encrypt", true, true}, {"verify", true, true}, {"secure", true, true},
  };
  for (const auto& [value, attempt, required] : cases) {
    auto p = tls_policy_from_table(settings(), value);
    ASSERT_TRUE(p.ok());
    TlsConnectionPlan plan = plan_tls_connection(*p, "example.com", "mx.example.com");
    EXPECT_EQ(plan.attempt, attempt) << value;
    EXPECT_EQ(plan.required, required) << value;
  }
}

TEST(ConnectionPlan, MatchStrategiesBecomeNames) {
  auto p = tls_policy_from_table(
      settings(),
      "secure match=hostname:nexthop:dot-nexthop:Relay.Example.ORG:.example.net:nexthop");
  ASSERT_TRUE(p.ok());
  TlsConnectionPlan plan = plan_tls_connection(*p, "[Example.com]:587", "MX1.example.com.");
  EXPECT_EQ(plan.names, (std::vector<std::string>{"mx1.example.com", "example.com", ".example.com",
                                                  "relay.example.org", ".example.net"}));
}

TEST(ConnectionPlan, NoNamesBelowVerify) {
  auto p = tls_policy_from_table(settings(), "encrypt");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(plan_tls_connection(*p, "example.com", "mx.example.com").names.empty());
}

TEST(ConnectionPlan, Fingerprints) {
  auto p = tls_policy_from_table(settings(), "fingerprint match=ab:cd:EF|0123");
  ASSERT_TRUE(p.ok());
  TlsConnectionPlan plan = plan_tls_connection(*p, "example.com", "mx.example.com");
  EXPECT_EQ(plan.fingerprints, (std::vector<std::string>{"ABCDEF", "0123"}));
  EXPECT_TRUE(plan.names.empty());
}

TEST(ConnectionPlan, ServerName) {
  ClientTlsSettings s = settings();
  EXPECT_EQ(plan_tls_connection(effective_tls_policy(s, {}), "example.com", "mx.example.com").sni,
            "");
  s.servername = "hostname";
  EXPECT_EQ(plan_tls_connection(effective_tls_policy(s, {}), "example.com", "MX.example.com").sni,
            "mx.example.com");
  s.servername = "nexthop";
  EXPECT_EQ(plan_tls_connection(effective_tls_policy(s, {}), "[example.com]:25", "mx").sni,
            "example.com");
  EXPECT_EQ(plan_tls_connection(effective_tls_policy(s, {}), "[192.0.2.1]", "192.0.2.1").sni, "");
  EXPECT_EQ(plan_tls_connection(effective_tls_policy(s, {}), "[ipv6:2001:db8::1]", "x").sni, "");
  s.servername = "Smtp.Example.net";
  EXPECT_EQ(plan_tls_connection(effective_tls_policy(s, {}), "example.com", "mx").sni,
            "smtp.example.net");
}

TEST(RefusePeer, OnlyVerifiedPassesStrictLevels) {
  for (TlsLevel level : {TlsLevel::None, TlsLevel::May, TlsLevel::Encrypt}) {
    for (PeerTrust trust :
         {PeerTrust::Anonymous, PeerTrust::Untrusted, PeerTrust::Trusted, PeerTrust::Verified}) {
      EXPECT_FALSE(refuse_peer(level, trust));
    }
  }
  for (TlsLevel level : {TlsLevel::Dane, TlsLevel::DaneOnly, TlsLevel::Fingerprint,
                         TlsLevel::Verify, TlsLevel::Secure}) {
    EXPECT_FALSE(refuse_peer(level, PeerTrust::Verified));
    EXPECT_EQ(refuse_peer(level, PeerTrust::Trusted),
              (TlsRefusal{"4.7.5", "Server certificate not verified"}));
    EXPECT_EQ(refuse_peer(level, PeerTrust::Untrusted),
              (TlsRefusal{"4.7.5", "Server certificate not trusted"}));
    EXPECT_TRUE(refuse_peer(level, PeerTrust::Anonymous));
  }
}

TEST(TlsTexts, PostfixFormats) {
  EXPECT_EQ(tls_established_line(PeerTrust::Verified, "mx.example.com", "192.0.2.1", 25,
                                 "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)"),
            "Verified TLS connection established to mx.example.com[192.0.2.1]:25: TLSv1.3 with "
            "cipher TLS_AES_256_GCM_SHA384 (256/256 bits)");
  EXPECT_EQ(tls_established_line(PeerTrust::Untrusted, "h", "2001:db8::1", 587, "x"),
            "Untrusted TLS connection established to h[2001:db8::1]:587: x");
  EXPECT_EQ(tls_not_offered("mx.example.com", "192.0.2.1").text,
            "TLS is required, but was not offered by host mx.example.com[192.0.2.1]");
  EXPECT_EQ(tls_not_offered("a", "b").status, "4.7.4");
  EXPECT_EQ(starttls_offer_note("mx.example.com"), "Host offered STARTTLS: [mx.example.com]");
  EXPECT_FALSE(log_established(0));
  EXPECT_TRUE(log_established(1));
  EXPECT_EQ(tls_handshake_failed("").text, "Cannot start TLS: handshake failure");
}

}  // namespace
}  // namespace estafeta::outbound
