// DANE decisions for the SMTP client: see dane.h.
#include "outbound/dane.h"

#include <algorithm>

#include "base/ascii.h"

namespace estafeta::outbound {
namespace {

constexpr uint8_t kUsageDaneTa = 2;
constexpr uint8_t kUsageDaneEe = 3;
constexpr size_t kSha256Length = 32;
constexpr size_t kSha512Length = 64;

DaneDecision defer(std::string text) {
  DaneDecision d;
  d.mode = DaneDecision::Mode::Defer;
  d.status = "4.7.5";
  d.text = std::move(text);
  return d;
}

DaneDecision mode(DaneDecision::Mode m) {
  DaneDecision d;
  d.mode = m;
  return d;
}

}  // namespace

std::optional<DnsSupportLevel> parse_dns_support_level(std::string_view value) {
  if (value.empty()) return DnsSupportLevel::Default;
  if (ascii::iequals(value, "disabled")) return DnsSupportLevel::Disabled;
  if (ascii::iequals(value, "enabled")) return DnsSupportLevel::Enabled;
  if (ascii::iequals(value, "dnssec")) return DnsSupportLevel::Dnssec;
  return std::nullopt;
}

bool is_dane_level(TlsLevel level) {
  return level == TlsLevel::Dane || level == TlsLevel::DaneOnly;
}

std::string tlsa_query_name(std::string_view host, uint16_t port) {
  std::string name = ascii::lower(host);
  if (!name.empty() && name.back() == '.') name.pop_back();
  return "_" + std::to_string(port) + "._tcp." + name;
}

bool tlsa_usable(const TlsaRecord& record) {
  if (record.usage != kUsageDaneTa && record.usage != kUsageDaneEe) return false;
  if (record.selector > 1) return false;
  switch (record.matching_type) {
    case 0:
      return !record.data.empty();
    case 1:
      return record.data.size() == kSha256Length;
    case 2:
      return record.data.size() == kSha512Length;
    default:
      return false;
  }
}

namespace {

/// An insecure MX that DANE does not go past: always at dane-only, under policy `may` at dane.
bool stops_at_insecure_mx(const DaneFacts& facts) {
  if (facts.mx_secure) return false;
  return facts.level == TlsLevel::DaneOnly || facts.insecure_mx_policy == InsecureMxPolicy::May;
}

}  // namespace

bool needs_tlsa_lookup(const DaneFacts& facts) {
  return is_dane_level(facts.level) && facts.dnssec && facts.address_secure &&
         !stops_at_insecure_mx(facts);
}

DaneDecision decide_dane(const DaneFacts& facts, const DnsAnswer<TlsaRecord>* tlsa) {
  using Mode = DaneDecision::Mode;
  if (!is_dane_level(facts.level)) return mode(Mode::NotDane);
  const bool only = facts.level == TlsLevel::DaneOnly;
  const std::string name = tlsa_query_name(facts.host, facts.port);
  if (!facts.dnssec) {
    if (only) return defer("TLS policy dane-only requires smtp_dns_support_level = dnssec");
    return mode(Mode::Opportunistic);
  }
  if (stops_at_insecure_mx(facts)) {
    if (only) {
      return defer("DANE required, but the MX records that name " + facts.host +
                   " are not DNSSEC-validated");
    }
    return mode(Mode::Opportunistic);  // smtp_tls_dane_insecure_mx_policy = may
  }
  if (!facts.address_secure || tlsa == nullptr) {
    if (only) {
      return defer("DANE required, but the address records of " + facts.host +
                   " are not DNSSEC-validated");
    }
    return mode(Mode::Opportunistic);
  }
  if (tlsa->status == DnsStatus::TempFail) {
    return defer("TLSA lookup error for " + name + ": " + tlsa->reason);
  }
  if (tlsa->status != DnsStatus::Ok || !tlsa->authenticated) {
    if (only) {
      const char* why = tlsa->status != DnsStatus::Ok ? "no TLSA records found"
                                                      : "TLSA records not DNSSEC-validated";
      return defer("DANE required, but " + std::string(why) + " for " + name);
    }
    return mode(Mode::Opportunistic);
  }
  DaneDecision d;
  for (const TlsaRecord& record : tlsa->records) {
    if (tlsa_usable(record)) d.records.push_back(record);
  }
  if (d.records.empty()) {
    if (only) return defer("DANE required, but all TLSA records of " + name + " are unusable");
    d.mode = Mode::Encrypt;  // published but unusable: Postfix's mandatory unauthenticated TLS
    return d;
  }
  if (!facts.mx_secure && facts.insecure_mx_policy == InsecureMxPolicy::Encrypt) {
    d.records.clear();  // Postfix: verification not possible, the MX RRset is insecure
    d.mode = Mode::Encrypt;
    return d;
  }
  d.mode = Mode::Authenticate;
  d.insecure_mx = !facts.mx_secure;
  return d;
}

void apply_dane(TlsConnectionPlan& plan, const DaneDecision& decision, std::string_view host) {
  using Mode = DaneDecision::Mode;
  if (decision.mode != Mode::Encrypt && decision.mode != Mode::Authenticate) return;
  plan.attempt = true;
  plan.required = true;
  plan.names.clear();
  plan.fingerprints.clear();
  plan.tlsa.clear();
  plan.dane_base_domain.clear();
  plan.dane_insecure_mx = false;
  if (decision.mode == Mode::Encrypt) {
    plan.level = TlsLevel::Encrypt;
    return;
  }
  std::string base = ascii::lower(host);
  if (!base.empty() && base.back() == '.') base.pop_back();
  plan.level = TlsLevel::Dane;
  plan.tlsa = decision.records;
  plan.dane_base_domain = base;
  plan.sni = base;
  plan.names.push_back(base);
  plan.dane_insecure_mx = decision.insecure_mx;
}

std::string dane_without_dnssec_warning(TlsLevel level) {
  return "TLS level " + std::string(tls_level_name(level)) +
         " requires smtp_dns_support_level = dnssec; " +
         (level == TlsLevel::DaneOnly ? "mail is deferred" : "using opportunistic TLS instead");
}

}  // namespace estafeta::outbound
