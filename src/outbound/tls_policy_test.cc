// Tests for the TLS policy table values, lookup keys and protocol / cipher settings.
#include "outbound/tls_policy.h"

#include <gtest/gtest.h>

#include "outbound/tls_protocols.h"

namespace estafeta::outbound {
namespace {

TEST(TlsLevel, ParsesEveryLevelCaseInsensitively) {
  const std::pair<const char*, TlsLevel> cases[] = {
      {"none", TlsLevel::None},          {"may", TlsLevel::May},
      {"Encrypt", TlsLevel::Encrypt},    {"dane", TlsLevel::Dane},
      {"DANE-ONLY", TlsLevel::DaneOnly}, {"fingerprint", TlsLevel::Fingerprint},
      {"verify", TlsLevel::Verify},      {"secure", TlsLevel::Secure}};
  for (const auto& [text, level] : cases) {
    ASSERT_EQ(parse_tls_level(text), level) << text;
    EXPECT_EQ(parse_tls_level(tls_level_name(level)), level);
  }
  EXPECT_FALSE(parse_tls_level("maybe"));
  EXPECT_FALSE(parse_tls_level(""));
}

TEST(TlsPolicyEntry, LevelAndAttributes) {
  auto entry = parse_tls_policy_entry(
      "  secure match=mx.example.com:.example.net protocols=>=TLSv1.2 ciphers=high "
      "exclude=RC4:aNULL servername=hostname ");
  ASSERT_TRUE(entry.ok()) << entry.error().message;
  EXPECT_EQ(entry->level, TlsLevel::Secure);
  EXPECT_EQ(entry->match, (std::vector<std::string>{"mx.example.com", ".example.net"}));
  EXPECT_EQ(entry->protocols, ">=TLSv1.2");
  EXPECT_EQ(entry->ciphers, "high");
  EXPECT_EQ(entry->exclude, (std::vector<std::string>{"RC4", "aNULL"}));
  EXPECT_EQ(entry->servername, "hostname");
}

TEST(TlsPolicyEntry, BareLevel) {
  auto entry = parse_tls_policy_entry("encrypt");
  ASSERT_TRUE(entry.ok());
  EXPECT_EQ(entry->level, TlsLevel::Encrypt);
  EXPECT_TRUE(entry->match.empty());
  EXPECT_FALSE(entry->protocols);
}

TEST(TlsPolicyEntry, FingerprintsAreSeparatedByBars) {
  auto entry = parse_tls_policy_entry("fingerprint match=AB:CD:EF|01:23");
  ASSERT_TRUE(entry.ok()) << entry.error().message;
  EXPECT_EQ(entry->match, (std::vector<std::string>{"AB:CD:EF", "01:23"}));
}

TEST(TlsPolicyEntry, MalformedValuesAreErrors) {
  const char* bad[] = {
      "",                                                     // no level
      "   ",                                                  // no level
      "sometimes",                                            // unknown level
      "encrypt foo=bar",                                      // unknown attribute
      "encrypt protocols",                                    // no '='
      "encrypt =x",                                           // no name
      "encrypt protocols=",                                   // empty
      "encrypt protocols=TLSv9",                              // unknown protocol
      "encrypt protocols=!TLSv1:!TLSv1.1:!TLSv1.2:!TLSv1.3",  // nothing left
      "encrypt ciphers=super",                                // unknown grade
      "encrypt exclude=RC4;rm",                               // bad cipher name
      "may match=hostname",                                   // match below dane
      "encrypt match=hostname",
      "verify match=a match=b",  // repeated
      "verify protocols=TLSv1.2 protocols=TLSv1.3",
      "secure match=:",  // nothing in the list
  };
  for (const char* value : bad) {
    EXPECT_FALSE(parse_tls_policy_entry(value).ok()) << '"' << value << '"';
  }
}

TEST(TlsPolicyKeys, BareDomainThenParentsWithLeadingDot) {
  EXPECT_EQ(tls_policy_lookup_keys("Mail.Example.COM."),
            (std::vector<std::string>{"mail.example.com", ".example.com", ".com"}));
  EXPECT_EQ(tls_policy_lookup_keys("example"), (std::vector<std::string>{"example"}));
}

TEST(TlsPolicyKeys, BracketsOrPortOnlyVerbatim) {
  EXPECT_EQ(tls_policy_lookup_keys("[mx.example.com]:587"),
            (std::vector<std::string>{"[mx.example.com]:587"}));
  EXPECT_EQ(tls_policy_lookup_keys("[MX.example.com]"),
            (std::vector<std::string>{"[mx.example.com]"}));
  EXPECT_EQ(tls_policy_lookup_keys("example.com:2525"),
            (std::vector<std::string>{"example.com:2525"}));
  EXPECT_TRUE(tls_policy_lookup_keys("").empty());
}

TEST(NexthopDomain, StripsBracketsPortAndCase) {
  EXPECT_EQ(nexthop_domain("[MX.Example.com]:587"), "mx.example.com");
  EXPECT_EQ(nexthop_domain("example.com:25"), "example.com");
  EXPECT_EQ(nexthop_domain("example.com."), "example.com");
  EXPECT_EQ(nexthop_domain("[192.0.2.1]"), "192.0.2.1");
  EXPECT_EQ(nexthop_domain("[ipv6:2001:db8::1]:25"), "ipv6:2001:db8::1");
}

TlsProtocols allowed(bool v10, bool v11, bool v12, bool v13) {
  TlsProtocols p;
  p.allowed = {v10, v11, v12, v13};
  return p;
}

TEST(TlsProtocols, PostfixSyntax) {
  const std::pair<const char*, TlsProtocols> cases[] = {
      {"", allowed(true, true, true, true)},
      {"!SSLv2, !SSLv3", allowed(true, true, true, true)},
      {">=TLSv1", allowed(true, true, true, true)},
      {">=TLSv1.2", allowed(false, false, true, true)},
      {"<=TLSv1.2", allowed(true, true, true, false)},
      {">=TLSv1.1 <=TLSv1.2", allowed(false, true, true, false)},
      {"!SSLv2:!SSLv3:!TLSv1:!TLSv1.1", allowed(false, false, true, true)},
      {"TLSv1.2 TLSv1.3", allowed(false, false, true, true)},
      {"tlsv1.3", allowed(false, false, false, true)},
      {"TLSv1 !TLSv1.1 TLSv1.2", allowed(true, false, true, false)},
  };
  for (const auto& [text, expected] : cases) {
    auto parsed = parse_tls_protocols(text);
    ASSERT_TRUE(parsed.ok()) << text << ": " << parsed.error().message;
    EXPECT_EQ(*parsed, expected) << text;
  }
  auto hole = parse_tls_protocols("!TLSv1.1");
  ASSERT_TRUE(hole.ok());
  EXPECT_EQ(hole->lowest(), TlsVersion::TLSv1);
  EXPECT_EQ(hole->highest(), TlsVersion::TLSv1_3);
  EXPECT_FALSE(hole->allows(TlsVersion::TLSv1_1));
  EXPECT_FALSE(parse_tls_protocols("SSLv3").ok());      // nothing left
  EXPECT_FALSE(parse_tls_protocols(">=TLSv1.4").ok());  // unknown
  EXPECT_FALSE(parse_tls_protocols("<=SSLv3").ok());
}

TEST(CipherList, GradesAndExclusions) {
  EXPECT_EQ(*openssl_cipher_list("high", {}), "HIGH:!aNULL:!eNULL");
  EXPECT_EQ(*openssl_cipher_list("MEDIUM", {"RC4", "AES256-SHA"}),
            "HIGH:MEDIUM:!aNULL:!eNULL:!RC4:!AES256-SHA");
  EXPECT_EQ(*openssl_cipher_list("export", {}), *openssl_cipher_list("low", {}));
  EXPECT_FALSE(openssl_cipher_list("strong", {}).ok());
  EXPECT_FALSE(openssl_cipher_list("high", {"A:B"}).ok());
  EXPECT_FALSE(openssl_cipher_list("high", {""}).ok());
}

}  // namespace
}  // namespace estafeta::outbound
