// What the SMTP client does about TLS with one destination and one server: the effective
// policy (smtp_tls_policy_maps' entry over the smtp_tls_* settings), the plan for a connection
// to one MX host (whether to try STARTTLS, whether it is required, SNI, the names the
// certificate must match), the decision once the peer is known, and Postfix's log and
// deferral texts. Pure; the edge that applies a plan to OpenSSL is net/tls_client.h.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "outbound/dns_types.h"
#include "outbound/tls_policy.h"
#include "outbound/tls_protocols.h"
#include "outbound/tls_settings.h"

namespace estafeta::outbound {

/// The policy in force for one next-hop destination.
struct TlsPolicy {
  TlsLevel level = TlsLevel::None;  // as configured (table entry, else smtp_tls_security_level)
  /// The level acted on before DNS has been asked about a server: `dane` is `may` (what it is
  /// for a server without secure usable TLSA records); else `level`. outbound/dane.h decides
  /// per server and changes the server's plan.
  TlsLevel effective_level = TlsLevel::None;
  std::vector<std::string> match;  // patterns, or SHA-256 fingerprints for `fingerprint`
  TlsProtocols protocols;
  std::string cipher_list;  // OpenSSL syntax
  std::string servername;   // "", "hostname", "nexthop" or a literal name
  /// Set when mail for this destination cannot be sent now (a level without the names or
  /// fingerprints it needs): defer with it.
  std::optional<std::string> defer_reason;
};

/// The entry found in smtp_tls_policy_maps (nullopt: none) over the settings. The opportunistic
/// `may` uses smtp_tls_protocols / smtp_tls_ciphers, stronger levels the mandatory ones; an
/// entry's protocols=, ciphers= and exclude= replace them. Default match lists:
/// smtp_tls_verify_cert_match for verify, smtp_tls_secure_cert_match for secure.
TlsPolicy effective_tls_policy(const ClientTlsSettings& settings,
                               const std::optional<TlsPolicyEntry>& entry);

/// A table value parsed and applied; an error is a malformed policy: the caller defers with
/// invalid_policy_reason(nexthop, error).
Result<TlsPolicy> tls_policy_from_table(const ClientTlsSettings& settings,
                                        std::optional<std::string_view> table_value);

/// How to connect to one server (MX host) of the destination.
struct TlsConnectionPlan {
  bool attempt = false;             // send STARTTLS when offered (level is not none)
  bool required = false;            // encrypt and above: never continue in clear
  TlsLevel level = TlsLevel::None;  // the effective level
  std::string sni;                  // server name to send; empty: none (never an IP literal)
  /// Names for X509_check_host (OpenSSL's wildcard rules; ".example.com" matches any
  /// subdomain); checked at verify and secure. Lowercase, no duplicates.
  std::vector<std::string> names;
  std::vector<std::string> fingerprints;  // fingerprint level: uppercase hex, no colons
  TlsProtocols protocols;
  std::string cipher_list;
  /// Level dane (set by outbound/dane.h apply_dane): the usable TLSA records and their base
  /// domain (the MX host); the certificate must match one of them.
  std::vector<TlsaRecord> tlsa;
  std::string dane_base_domain;
  /// Level dane for a host named by an MX answer that was not DNSSEC-validated
  /// (smtp_tls_dane_insecure_mx_policy = dane): a TLSA match is still required, but it is
  /// reported as "Trusted", not "Verified", since the MX host name could have been forged.
  bool dane_insecure_mx = false;
};

/// `nexthop` as written by the routing ("example.com", "[mx.example.com]:587"); `mx_host`
/// the name of the server connected to. Match patterns: hostname (mx_host), nexthop
/// (nexthop_domain(nexthop)), dot-nexthop (any subdomain of it), else a literal name, with a
/// leading dot for any subdomain.
TlsConnectionPlan plan_tls_connection(const TlsPolicy& policy, std::string_view nexthop,
                                      std::string_view mx_host);

/// Postfix's classification of the peer after the handshake.
enum class PeerTrust {
  Anonymous,  // no certificate
  Untrusted,  // a certificate whose chain does not verify
  Trusted,    // the chain verifies, but no name (or fingerprint) matched
  Verified,   // the chain verifies and a name matched, or a fingerprint matched
};
std::string_view peer_trust_name(PeerTrust trust);  // "Anonymous", ..., "Verified"

/// The classification to log for a peer under `plan`: Verified becomes Trusted when
/// plan.dane_insecure_mx (Postfix's wording for DANE through an insecure MX); otherwise
/// `trust`. refuse_peer takes the classification itself, not this.
PeerTrust reported_peer_trust(const TlsConnectionPlan& plan, PeerTrust trust);

/// A reason to give up on a server: the enhanced status code and the text.
struct TlsRefusal {
  std::string status;  // "4.7.5"
  std::string text;    // "Server certificate not verified"
  bool operator==(const TlsRefusal&) const = default;
};

/// nullopt when the connection may carry mail at `level` (none, may, encrypt: any peer);
/// else why not (dane as set by apply_dane, dane-only, fingerprint, verify, secure: Verified
/// only).
std::optional<TlsRefusal> refuse_peer(TlsLevel level, PeerTrust trust);

/// "4.7.4 TLS is required, but was not offered by host mx.example.com[192.0.2.1]".
TlsRefusal tls_not_offered(std::string_view host, std::string_view address);
/// "4.7.5 Cannot start TLS: handshake failure" (detail appended when given).
TlsRefusal tls_handshake_failed(std::string_view detail);
/// "4.7.5 TLS policy for example.com is invalid: <error>".
TlsRefusal invalid_policy_reason(std::string_view nexthop, const Error& error);

/// smtp_tls_loglevel >= 1: log the established line.
bool log_established(int loglevel);
/// "Verified TLS connection established to mx.example.com[192.0.2.1]:25: TLSv1.3 with cipher
/// TLS_AES_256_GCM_SHA384 (256/256 bits)"; `description` is Transport::tls_description().
std::string tls_established_line(PeerTrust trust, std::string_view host, std::string_view address,
                                 int port, std::string_view description);
/// smtp_tls_note_starttls_offer at level none: "Host offered STARTTLS: [mx.example.com]".
std::string starttls_offer_note(std::string_view host);

}  // namespace estafeta::outbound
