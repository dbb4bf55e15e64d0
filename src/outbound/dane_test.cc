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
  DaneFacts f;
  f.level = level;
  f.dnssec = dnssec;
  f.mx_secure = secure;
  f.address_secure = secure;
  f.host = "MX.Example.com.";
  f.port = 25;
  return f;
}

DaneFacts insecure_mx_facts(TlsLevel level, InsecureMxPolicy policy, bool mx_secure,
                            bool address_secure) {
  DaneFacts f = facts(level);
  f.mx_secure = mx_secure;
  f.address_secure = address_secure;
  f.insecure_mx_policy = policy;
  return f;
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

// smtp_tls_dane_insecure_mx_policy: every value x a validated or insecure MX answer x a
// validated or insecure address answer, with validated usable TLSA records published.
TEST(DaneDecision, InsecureMxPolicyTable) {
  const auto good = answer(DnsStatus::Ok, true, {record(3, 1, 1, 32)});
  using P = InsecureMxPolicy;
  struct Case {
    P policy;
    bool mx_secure;
    bool address_secure;
    bool lookup;      // needs_tlsa_lookup
    Mode dane;        // at level dane
    bool half_dane;   // Authenticate reported as Trusted
    Mode dane_only;   // at level dane-only
  };
  const Case cases[] = {
      // A validated MX: the policy plays no part.
      {P::May, true, true, true, Mode::Authenticate, false, Mode::Authenticate},
      {P::Encrypt, true, true, true, Mode::Authenticate, false, Mode::Authenticate},
      {P::Dane, true, true, true, Mode::Authenticate, false, Mode::Authenticate},
      {P::May, true, false, false, Mode::Opportunistic, false, Mode::Defer},
      {P::Encrypt, true, false, false, Mode::Opportunistic, false, Mode::Defer},
      {P::Dane, true, false, false, Mode::Opportunistic, false, Mode::Defer},
      // An insecure MX, the host's addresses validated.
      {P::May, false, true, false, Mode::Opportunistic, false, Mode::Defer},
      {P::Encrypt, false, true, true, Mode::Encrypt, false, Mode::Defer},
      {P::Dane, false, true, true, Mode::Authenticate, true, Mode::Defer},
      // An insecure MX and insecure addresses: never a TLSA lookup.
      {P::May, false, false, false, Mode::Opportunistic, false, Mode::Defer},
      {P::Encrypt, false, false, false, Mode::Opportunistic, false, Mode::Defer},
      {P::Dane, false, false, false, Mode::Opportunistic, false, Mode::Defer},
  };
  for (const Case& c : cases) {
    const std::string name = std::string(c.policy == P::May       ? "may"
                                          : c.policy == P::Encrypt ? "encrypt"
                                                                   : "dane") +
                             (c.mx_secure ? " secure MX" : " insecure MX") +
                             (c.address_secure ? " secure address" : " insecure address");
    const DaneFacts f = insecure_mx_facts(TlsLevel::Dane, c.policy, c.mx_secure,
                                          c.address_secure);
    EXPECT_EQ(needs_tlsa_lookup(f), c.lookup) << name;
    const DaneDecision d = decide_dane(f, c.lookup ? &good : nullptr);
    EXPECT_EQ(d.mode, c.dane) << name;
    EXPECT_EQ(d.insecure_mx, c.half_dane) << name;
    if (d.mode == Mode::Encrypt) {
      EXPECT_TRUE(d.records.empty()) << name;
    }
    DaneFacts only = f;
    only.level = TlsLevel::DaneOnly;
    // dane-only looks up TLSA records only through a validated MX and address answer.
    EXPECT_EQ(needs_tlsa_lookup(only), c.mx_secure && c.address_secure) << name;
    const DaneDecision o = decide_dane(only, needs_tlsa_lookup(only) ? &good : nullptr);
    EXPECT_EQ(o.mode, c.dane_only) << name;
    EXPECT_FALSE(o.insecure_mx) << name;
  }
}

TEST(DaneDecision, InsecureMxWithOtherTlsaAnswers) {
  const auto unusable = answer(DnsStatus::Ok, true, {record(1, 1, 1, 32)});
  const auto nodata = answer(DnsStatus::NoData, true);
  const auto insecure = answer(DnsStatus::Ok, false, {record(3, 1, 1, 32)});
  const auto servfail = answer(DnsStatus::TempFail, false, {}, "Host not found, try again");
  for (InsecureMxPolicy policy : {InsecureMxPolicy::Encrypt, InsecureMxPolicy::Dane}) {
    const DaneFacts f = insecure_mx_facts(TlsLevel::Dane, policy, false, true);
    EXPECT_EQ(decide_dane(f, &unusable).mode, Mode::Encrypt);
    EXPECT_EQ(decide_dane(f, &nodata).mode, Mode::Opportunistic);
    EXPECT_EQ(decide_dane(f, &insecure).mode, Mode::Opportunistic);
    const DaneDecision d = decide_dane(f, &servfail);
    EXPECT_EQ(d.mode, Mode::Defer);
    EXPECT_EQ(d.text, "TLSA lookup error for _25._tcp.mx.example.com: Host not found, try again");
  }
  EXPECT_EQ(decide_dane(insecure_mx_facts(TlsLevel::DaneOnly, InsecureMxPolicy::Dane, false,
                                          true),
                        nullptr)
                .text,
            "DANE required, but the MX records that name MX.Example.com. are not "
            "DNSSEC-validated");
  EXPECT_EQ(decide_dane(insecure_mx_facts(TlsLevel::DaneOnly, InsecureMxPolicy::Dane, true,
                                          false),
                        nullptr)
                .text,
            "DANE required, but the address records of MX.Example.com. are not "
            "DNSSEC-validated");
  // Not a DANE level: the policy changes nothing.
  EXPECT_EQ(decide_dane(insecure_mx_facts(TlsLevel::Verify, InsecureMxPolicy::Dane, false, true),
                        nullptr)
                .mode,
            Mode::NotDane);
}

TEST(DaneDecision, InsecureMxMatchIsReportedTrusted) {
  const auto good = answer(DnsStatus::Ok, true, {record(3, 1, 1, 32)});
  TlsConnectionPlan plan;
  plan.level = TlsLevel::May;
  plan.attempt = true;
  apply_dane(plan, decide_dane(insecure_mx_facts(TlsLevel::Dane, InsecureMxPolicy::Dane, false,
                                                 true),
                               &good),
             "mx.example.com");
  EXPECT_EQ(plan.level, TlsLevel::Dane);
  EXPECT_TRUE(plan.required);
  EXPECT_TRUE(plan.dane_insecure_mx);
  EXPECT_EQ(plan.tlsa, good.records);
  // The match is still required, but it is logged as Trusted.
  EXPECT_FALSE(refuse_peer(plan.level, PeerTrust::Verified));
  EXPECT_TRUE(refuse_peer(plan.level, PeerTrust::Untrusted));
  EXPECT_EQ(reported_peer_trust(plan, PeerTrust::Verified), PeerTrust::Trusted);
  EXPECT_EQ(reported_peer_trust(plan, PeerTrust::Untrusted), PeerTrust::Untrusted);

  TlsConnectionPlan secure;
  secure.level = TlsLevel::May;
  apply_dane(secure, decide_dane(facts(TlsLevel::Dane), &good), "mx.example.com");
  EXPECT_FALSE(secure.dane_insecure_mx);
  EXPECT_EQ(reported_peer_trust(secure, PeerTrust::Verified), PeerTrust::Verified);

  // Under policy encrypt the records only make TLS mandatory.
  TlsConnectionPlan encrypt;
  encrypt.level = TlsLevel::May;
  apply_dane(encrypt, decide_dane(insecure_mx_facts(TlsLevel::Dane, InsecureMxPolicy::Encrypt,
                                                    false, true),
                                  &good),
             "mx.example.com");
  EXPECT_EQ(encrypt.level, TlsLevel::Encrypt);
  EXPECT_TRUE(encrypt.required);
  EXPECT_TRUE(encrypt.tlsa.empty());
  EXPECT_FALSE(encrypt.dane_insecure_mx);
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
