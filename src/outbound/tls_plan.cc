// Effective TLS policy, per-server plan, peer decision and log texts (see tls_plan.h).
#include "outbound/tls_plan.h"

#include <algorithm>

#include "base/ascii.h"

namespace estafeta::outbound {
namespace {

// An IPv4 or IPv6 literal (SNI must not carry one, RFC 6066 section 3).
bool is_address_literal(std::string_view name) {
  if (name.find(':') != std::string_view::npos) return true;
  return !name.empty() && std::all_of(name.begin(), name.end(),
                                      [](char c) { return ascii::is_digit(c) || c == '.'; });
}

std::string normal_name(std::string_view name) {
  std::string lowered = ascii::lower(name);
  if (lowered.size() > 1 && lowered.back() == '.') lowered.pop_back();
  return lowered;
}

std::string normal_fingerprint(std::string_view text) {
  std::string hex;
  for (char c : text) {
    if (c != ':') hex.push_back(ascii::to_upper(c));
  }
  return hex;
}

}  // namespace

TlsPolicy effective_tls_policy(const ClientTlsSettings& settings,
                               const std::optional<TlsPolicyEntry>& entry) {
  TlsPolicy policy;
  policy.level = entry ? entry->level : settings.level;
  policy.effective_level = policy.level == TlsLevel::Dane ? TlsLevel::May : policy.level;
  bool mandatory = policy.effective_level >= TlsLevel::Encrypt;
  policy.protocols = mandatory ? settings.mandatory_protocols : settings.protocols;
  std::string grade = mandatory ? settings.mandatory_ciphers : settings.ciphers;
  std::vector<std::string> exclude;
  policy.servername = settings.servername;
  if (entry) {
    if (entry->protocols) {
      // parse_tls_policy_entry accepted it.
      if (auto parsed = parse_tls_protocols(*entry->protocols)) policy.protocols = *parsed;
    }
    if (entry->ciphers) grade = *entry->ciphers;
    exclude = entry->exclude;
    if (entry->servername) policy.servername = *entry->servername;
    policy.match = entry->match;
  }
  if (auto list = openssl_cipher_list(grade, exclude)) {
    policy.cipher_list = *list;
  } else {  // checked when the settings and the entry were read; be safe anyway
    policy.cipher_list = "HIGH:!aNULL:!eNULL";
  }
  if (policy.match.empty()) {
    if (policy.level == TlsLevel::Verify) policy.match = settings.verify_cert_match;
    if (policy.level == TlsLevel::Secure) policy.match = settings.secure_cert_match;
  }
  if (policy.level == TlsLevel::Fingerprint && policy.match.empty()) {
    policy.defer_reason = "4.7.5 TLS policy fingerprint without match= fingerprints";
  } else if ((policy.level == TlsLevel::Verify || policy.level == TlsLevel::Secure) &&
             policy.match.empty()) {
    policy.defer_reason = "4.7.5 TLS policy " + std::string(tls_level_name(policy.level)) +
                          " with an empty certificate match list";
  }
  return policy;
}

Result<TlsPolicy> tls_policy_from_table(const ClientTlsSettings& settings,
                                        std::optional<std::string_view> table_value) {
  if (!table_value) return effective_tls_policy(settings, std::nullopt);
  auto entry = parse_tls_policy_entry(*table_value);
  if (!entry) return entry.error();
  return effective_tls_policy(settings, *entry);
}

TlsConnectionPlan plan_tls_connection(const TlsPolicy& policy, std::string_view nexthop,
                                      std::string_view mx_host) {
  TlsConnectionPlan plan;
  plan.level = policy.effective_level;
  plan.attempt = plan.level != TlsLevel::None;
  plan.required = plan.level >= TlsLevel::Encrypt;
  plan.protocols = policy.protocols;
  plan.cipher_list = policy.cipher_list;
  std::string domain = nexthop_domain(nexthop);
  std::string host = normal_name(mx_host);

  std::string sni;
  if (policy.servername == "hostname") {
    sni = host;
  } else if (policy.servername == "nexthop") {
    sni = domain;
  } else {
    sni = normal_name(policy.servername);
  }
  if (!is_address_literal(sni)) plan.sni = sni;

  if (plan.level == TlsLevel::Fingerprint) {
    for (const std::string& fp : policy.match) plan.fingerprints.push_back(normal_fingerprint(fp));
  } else if (plan.level == TlsLevel::Verify || plan.level == TlsLevel::Secure) {
    for (const std::string& pattern : policy.match) {
      std::string name;
      if (ascii::iequals(pattern, "hostname")) {
        name = host;
      } else if (ascii::iequals(pattern, "nexthop")) {
        name = domain;
      } else if (ascii::iequals(pattern, "dot-nexthop")) {
        name = "." + domain;
      } else {
        name = normal_name(pattern);
      }
      if (name.empty() || name == ".") continue;
      if (std::find(plan.names.begin(), plan.names.end(), name) == plan.names.end()) {
        plan.names.push_back(std::move(name));
      }
    }
  }
  return plan;
}

std::string_view peer_trust_name(PeerTrust trust) {
  switch (trust) {
    case PeerTrust::Anonymous:
      return "Anonymous";
    case PeerTrust::Untrusted:
      return "Untrusted";
    case PeerTrust::Trusted:
      return "Trusted";
    case PeerTrust::Verified:
      return "Verified";
  }
  return "Untrusted";
}

PeerTrust reported_peer_trust(const TlsConnectionPlan& plan, PeerTrust trust) {
  if (plan.dane_insecure_mx && trust == PeerTrust::Verified) return PeerTrust::Trusted;
  return trust;
}

std::optional<TlsRefusal> refuse_peer(TlsLevel level, PeerTrust trust) {
  switch (level) {
    case TlsLevel::None:
    case TlsLevel::May:
    case TlsLevel::Encrypt:
      return std::nullopt;
    case TlsLevel::Dane:  // only once apply_dane found usable TLSA records
    case TlsLevel::DaneOnly:
    case TlsLevel::Fingerprint:
    case TlsLevel::Verify:
    case TlsLevel::Secure:
      break;
  }
  if (trust == PeerTrust::Verified) return std::nullopt;
  if (trust == PeerTrust::Trusted) return TlsRefusal{"4.7.5", "Server certificate not verified"};
  if (trust == PeerTrust::Anonymous) return TlsRefusal{"4.7.5", "Server certificate not found"};
  return TlsRefusal{"4.7.5", "Server certificate not trusted"};
}

TlsRefusal tls_not_offered(std::string_view host, std::string_view address) {
  return {"4.7.4", "TLS is required, but was not offered by host " + std::string(host) + "[" +
                       std::string(address) + "]"};
}

TlsRefusal tls_handshake_failed(std::string_view detail) {
  std::string text = "Cannot start TLS: handshake failure";
  if (!detail.empty()) text += ": " + std::string(detail);
  return {"4.7.5", std::move(text)};
}

TlsRefusal invalid_policy_reason(std::string_view nexthop, const Error& error) {
  return {"4.7.5", "TLS policy for " + std::string(nexthop) + " is invalid: " + error.message};
}

bool log_established(int loglevel) { return loglevel >= 1; }

std::string tls_established_line(PeerTrust trust, std::string_view host, std::string_view address,
                                 int port, std::string_view description) {
  return std::string(peer_trust_name(trust)) + " TLS connection established to " +
         std::string(host) + "[" + std::string(address) + "]:" + std::to_string(port) + ": " +
         std::string(description);
}

std::string starttls_offer_note(std::string_view host) {
  return "Host offered STARTTLS: [" + std::string(host) + "]";
}

}  // namespace estafeta::outbound
