// Tests for the DANE decision (outbound/dane.h): table-driven over what DNS said.
#include "outbound/dane.h"

#include <gtest/gtest.h>

namespace estafeta::outbound {
namespace {

using Mode = DaneDecision::Mode;

TlsaRecord record(uint8_t usage, uint8_t selector, uint8_t matching, size_t length) {
  return TlsaRecord{usage, selector, matching, std::vector<uint8_t>(length, 0xab)};
}

DnsAnswer<TlsaRecord> answer(DnsStatus status, bool ad, std::vector<TlsaRecord> records = {},
                             std::string reason = "") {
  DnsAnswer<TlsaRecord> a;
  a.status = status;
  a.authenticated = ad;
  a.records = std::move(records);
  a.reason = std::move(reason);
  return a;
}

DaneFacts facts(TlsLevel level, bool dnssec = true, bool secure = true) {
  return DaneFacts{level, dnssec, secure, "MX.Example.com.", 25};
}

TEST(DnsSupportLevel, Parses) {
  EXPECT_EQ(parse_dns_support_level(""), DnsSupportLevel::Default);
  EXPECT_EQ(parse_dns_support_level("disabled"), DnsSupportLevel::Disabled);
  EXPECT_EQ(parse_dns_support_level("enabled"), DnsSupportLevel::Enabled);
  EXPECT_EQ(parse_dns_support_level("DNSSEC"), DnsSupportLevel::Dnssec);
  EXPECT_EQ(parse_dns_support_level("dane"), std::nullopt);
}

TEST(Tlsa, QueryNameAndUsability) {
  EXPECT_EQ(tlsa_query_name("MX.Example.com.", 25), "_25._tcp.mx.example.com");
  EXPECT_EQ(tlsa_query_name("smtp.example.net", 587), "_587._tcp.smtp.example.net");
  EXPECT_TRUE(tlsa_usable(record(3, 1, 1, 32)));
  EXPECT_TRUE(tlsa_usable(record(2, 0, 2, 64)));
  EXPECT_TRUE(tlsa_usable(record(3, 0, 0, 700)));
  EXPECT_FALSE(tlsa_usable(record(0, 0, 1, 32)));  // PKIX-TA
  EXPECT_FALSE(tlsa_usable(record(1, 1, 1, 32)));  // PKIX-EE
  EXPECT_FALSE(tlsa_usable(record(4, 1, 1, 32)));
  EXPECT_FALSE(tlsa_usable(record(3, 2, 1, 32)));  // selector
  EXPECT_FALSE(tlsa_usable(record(3, 1, 3, 32)));  // matching type
  EXPECT_FALSE(tlsa_usable(record(3, 1, 1, 31)));  // SHA-256 of the wrong length
  EXPECT_FALSE(tlsa_usable(record(3, 1, 2, 32)));  // SHA-512 of the wrong length
}

TEST(DaneDecision, LookupOnlyForSecureHostsAtDaneLevels) {
  EXPECT_TRUE(needs_tlsa_lookup(facts(TlsLevel::Dane)));
  EXPECT_TRUE(needs_tlsa_lookup(facts(TlsLevel::DaneOnly)));
  EXPECT_FALSE(needs_tlsa_lookup(facts(TlsLevel::May)));
  EXPECT_FALSE(needs_tlsa_lookup(facts(TlsLevel::Verify)));
  EXPECT_FALSE(needs_tlsa_lookup(facts(TlsLevel::Dane, false)));
  EXPECT_FALSE(needs_tlsa_lookup(facts(TlsLevel::Dane, true, false)));
}

TEST(DaneDecision, DaneLevelTable) {
  const auto good = answer(DnsStatus::Ok, true, {record(3, 1, 1, 32), record(0, 0, 1, 32)});
  const auto unusable = answer(DnsStatus::Ok, true, {record(1, 1, 1, 32)});
  const auto insecure = answer(DnsStatus::Ok, false, {record(3, 1, 1, 32)});
  const auto nxdomain = answer(DnsStatus::NotFound, true, {}, "Host not found");
  const auto nodata = answer(DnsStatus::NoData, true);
  const auto servfail = answer(DnsStatus::TempFail, false, {}, "Host not found, try again");
  struct Case {
    const char* name;
    DaneFacts facts;
    const DnsAnswer<TlsaRecord>* tlsa;
    Mode dane;       // at level dane
    Mode dane_only;  // the same facts at level dane-only
  };
  const Case cases[] = {
      {"usable records", facts(TlsLevel::Dane), &good, Mode::Authenticate, Mode::Authenticate},
      {"all unusable", facts(TlsLevel::Dane), &unusable, Mode::Encrypt, Mode::Defer},
      {"unvalidated TLSA", facts(TlsLevel::Dane), &insecure, Mode::Opportunistic, Mode::Defer},
      {"secure NXDOMAIN", facts(TlsLevel::Dane), &nxdomain, Mode::Opportunistic, Mode::Defer},
      {"secure NODATA", facts(TlsLevel::Dane), &nodata, Mode::Opportunistic, Mode::Defer},
      {"lookup error", facts(TlsLevel::Dane), &servfail, Mode::Defer, Mode::Defer},
      {"insecure MX or host", facts(TlsLevel::Dane, true, false), nullptr, Mode::Opportunistic,
       Mode::Defer},
      {"no dnssec", facts(TlsLevel::Dane, false), nullptr, Mode::Opportunistic, Mode::Defer},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(decide_dane(c.facts, c.tlsa).mode, c.dane) << c.name;
    DaneFacts only = c.facts;
    only.level = TlsLevel::DaneOnly;
    const DaneDecision d = decide_dane(only, c.tlsa);
    EXPECT_EQ(d.mode, c.dane_only) << c.name;
    if (d.mode == Mode::Defer) {
      EXPECT_EQ(d.status, "4.7.5") << c.name;
    }
  }
  EXPECT_EQ(decide_dane(facts(TlsLevel::Verify), &good).mode, Mode::NotDane);
}

TEST(DaneDecision, UsableRecordsOnlyAndDeferTexts) {
  const auto good = answer(DnsStatus::Ok, true, {record(0, 0, 1, 32), record(2, 1, 2, 64)});
  DaneDecision d = decide_dane(facts(TlsLevel::Dane), &good);
  ASSERT_EQ(d.records.size(), 1u);
  EXPECT_EQ(d.records[0].usage, 2);
  const auto servfail = answer(DnsStatus::TempFail, false, {}, "Host not found, try again");
  EXPECT_EQ(decide_dane(facts(TlsLevel::Dane), &servfail).text,
            "TLSA lookup error for _25._tcp.mx.example.com: Host not found, try again");
  const auto nxdomain = answer(DnsStatus::NotFound, true);
  EXPECT_EQ(decide_dane(facts(TlsLevel::DaneOnly), &nxdomain).text,
            "DANE required, but no TLSA records found for _25._tcp.mx.example.com");
  EXPECT_EQ(decide_dane(facts(TlsLevel::DaneOnly, false), nullptr).text,
            "TLS policy dane-only requires smtp_dns_support_level = dnssec");
}

TEST(DaneDecision, ApplyChangesThePlan) {
  TlsConnectionPlan may;
  may.level = TlsLevel::May;
  may.attempt = true;
  may.sni = "";
  TlsConnectionPlan plan = may;
  apply_dane(plan, decide_dane(facts(TlsLevel::Dane), nullptr), "mx.example.com");
  EXPECT_EQ(plan.level, TlsLevel::May);
  EXPECT_FALSE(plan.required);

  const auto unusable = answer(DnsStatus::Ok, true, {record(1, 1, 1, 32)});
  plan = may;
  apply_dane(plan, decide_dane(facts(TlsLevel::Dane), &unusable), "mx.example.com");
  EXPECT_EQ(plan.level, TlsLevel::Encrypt);
  EXPECT_TRUE(plan.required);
  EXPECT_TRUE(plan.tlsa.empty());

  const auto good = answer(DnsStatus::Ok, true, {record(3, 1, 1, 32)});
  plan = may;
  apply_dane(plan, decide_dane(facts(TlsLevel::Dane), &good), "MX.Example.com.");
  EXPECT_EQ(plan.level, TlsLevel::Dane);
  EXPECT_TRUE(plan.required);
  EXPECT_TRUE(plan.attempt);
  EXPECT_EQ(plan.tlsa, good.records);
  EXPECT_EQ(plan.dane_base_domain, "mx.example.com");
  EXPECT_EQ(plan.sni, "mx.example.com");
  EXPECT_EQ(plan.names, std::vector<std::string>{"mx.example.com"});
  // A DANE plan accepts only a Verified peer (never clear text, never an unmatched one).
  EXPECT_TRUE(refuse_peer(plan.level, PeerTrust::Trusted));
  EXPECT_FALSE(refuse_peer(plan.level, PeerTrust::Verified));
}

}  // namespace
}  // namespace estafeta::outbound
