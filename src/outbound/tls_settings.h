// The SMTP client's TLS settings from main.cf (smtp_tls_*), checked once when the agent
// starts: a bad value is an error naming the parameter. Pure (reads a config::Config).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "config/config.h"
#include "outbound/tls_policy.h"
#include "outbound/tls_protocols.h"

namespace estafeta::outbound {

/// smtp_tls_dane_insecure_mx_policy: at level `dane`, the policy for an MX host named by an
/// MX answer that was not DNSSEC-validated (outbound/dane.h): `may` (opportunistic TLS, its
/// TLSA records not looked up), `encrypt` (its validated TLSA records only make TLS
/// mandatory), `dane` (they are used as for a secure MX; a match is logged "Trusted").
enum class InsecureMxPolicy { May, Encrypt, Dane };
/// nullopt for a value that is none of may, encrypt, dane (case-insensitive).
std::optional<InsecureMxPolicy> parse_insecure_mx_policy(std::string_view value);

struct ClientTlsSettings {
  TlsLevel level = TlsLevel::May;            // smtp_tls_security_level ("" means none)
  std::string policy_maps;                   // smtp_tls_policy_maps (table specs, as written)
  std::string ca_file;                       // smtp_tls_CAfile; with ca_path empty: system store
  std::string ca_path;                       // smtp_tls_CApath
  std::string cert_file;                     // smtp_tls_cert_file (client certificate, optional)
  std::string key_file;                      // smtp_tls_key_file
  TlsProtocols protocols;                    // smtp_tls_protocols (opportunistic: may)
  TlsProtocols mandatory_protocols;          // smtp_tls_mandatory_protocols (encrypt and above)
  std::string ciphers = "medium";            // smtp_tls_ciphers (grade)
  std::string mandatory_ciphers = "medium";  // smtp_tls_mandatory_ciphers (grade)
  std::string servername;                    // smtp_tls_servername: "", hostname, nexthop, name
  int loglevel = 1;                          // smtp_tls_loglevel
  std::vector<std::string> verify_cert_match{"hostname"};  // smtp_tls_verify_cert_match
  std::vector<std::string> secure_cert_match{"nexthop", "dot-nexthop"};  // ..._secure_...
  bool note_starttls_offer = false;  // smtp_tls_note_starttls_offer
  InsecureMxPolicy insecure_mx_policy = InsecureMxPolicy::Dane;  // ..._dane_insecure_mx_policy
};

/// Reads the smtp_tls_* parameters. Errors: "smtp_tls_protocols: unknown TLS protocol ...".
Result<ClientTlsSettings> make_client_tls_settings(const config::Config& config);

}  // namespace estafeta::outbound
