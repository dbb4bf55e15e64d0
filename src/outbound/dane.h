// DANE for the SMTP client (RFC 7672) as Postfix applies it at the TLS levels `dane` and
// `dane-only`: from what DNS said about one server (were its MX and address records
// DNSSEC-validated, what the TLSA lookup at _PORT._tcp.HOST returned) to what the connection
// must do: opportunistic TLS, mandatory TLS without authentication, TLS authenticated by the
// usable TLSA records, or no connection (deferred). Pure; the TLSA lookup is the caller's
// (DnsResolver::tlsa), applying the records to OpenSSL is net/tls_client.h's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "outbound/dns_types.h"
#include "outbound/tls_plan.h"
#include "outbound/tls_policy.h"

namespace estafeta::outbound {

/// smtp_dns_support_level: "" (Postfix's default: as enabled), disabled, enabled, dnssec.
/// Only `dnssec` makes the AD bit of replies count; DANE needs it.
enum class DnsSupportLevel { Default, Disabled, Enabled, Dnssec };
/// nullopt for a value that is none of those.
std::optional<DnsSupportLevel> parse_dns_support_level(std::string_view value);

/// `dane` or `dane-only`.
bool is_dane_level(TlsLevel level);

/// "_25._tcp.mx.example.com" (a trailing dot of the host dropped, lowercased).
std::string tlsa_query_name(std::string_view host, uint16_t port);

/// A record OpenSSL can check and RFC 7672 allows for SMTP: usage DANE-TA(2) or DANE-EE(3)
/// (PKIX-TA(0) and PKIX-EE(1) are unusable, as in Postfix), selector Cert(0) or SPKI(1),
/// matching type Full(0), SHA2-256(1) with 32 bytes or SHA2-512(2) with 64 bytes.
bool tlsa_usable(const TlsaRecord& record);

/// What DNS said about the server, for the decision.
struct DaneFacts {
  TlsLevel level = TlsLevel::None;  // the destination's configured level
  bool dnssec = false;              // smtp_dns_support_level = dnssec
  /// The MX answer that named the host (its NODATA for a domain without MX records) was
  /// DNSSEC-validated (AD bit); true for a host given without an MX lookup ([host]).
  bool mx_secure = false;
  /// The host's address answer was DNSSEC-validated.
  bool address_secure = false;
  /// smtp_tls_dane_insecure_mx_policy: what level `dane` does when !mx_secure.
  InsecureMxPolicy insecure_mx_policy = InsecureMxPolicy::Dane;
  std::string host;  // the server's name (the TLSA base domain)
  uint16_t port = 25;
};

/// Whether the decision needs the TLSA answer: a DANE level, DNSSEC on, the host's address
/// answer validated, and either its MX answer validated or (level `dane` only) an insecure
/// MX policy other than `may`.
bool needs_tlsa_lookup(const DaneFacts& facts);

struct DaneDecision {
  enum class Mode {
    NotDane,        // not a DANE level: the policy's plan as it is
    Opportunistic,  // `dane` without secure TLSA records: as `may`
    Encrypt,        // secure TLSA records, none usable: TLS required, not authenticated
    Authenticate,   // TLS required, the certificate must match one of `records`
    Defer,          // no connection to this server: `status` `text`
  };
  Mode mode = Mode::NotDane;
  std::vector<TlsaRecord> records;  // Authenticate: the usable records
  /// Authenticate through an insecure MX (smtp_tls_dane_insecure_mx_policy = dane): a match
  /// is logged "Trusted" (TlsConnectionPlan::dane_insecure_mx).
  bool insecure_mx = false;
  std::string status;               // Defer: "4.7.5"
  std::string text;                 // Defer: "TLSA lookup error for _25._tcp.mx...: ..."
  bool operator==(const DaneDecision&) const = default;
};

/// The decision for one server. `tlsa`: the answer for tlsa_query_name(host, port) when
/// needs_tlsa_lookup(facts), else nullptr. `dane`: no DNSSEC, an insecure address answer,
/// an insecure MX with policy `may`, no TLSA records (secure NXDOMAIN or NODATA) or an
/// unvalidated TLSA answer -> Opportunistic; a failed TLSA lookup (SERVFAIL, a bogus
/// answer, timeout) -> Defer "TLSA lookup error"; secure records -> Authenticate with the
/// usable ones, Encrypt when none is usable. Through an insecure MX, usable records give
/// Encrypt under policy `encrypt` and Authenticate (insecure_mx set) under `dane`.
/// `dane-only`: every case that is not Authenticate defers (never clear text), and an
/// insecure MX defers whatever the policy (as in Postfix).
DaneDecision decide_dane(const DaneFacts& facts, const DnsAnswer<TlsaRecord>* tlsa);

/// The server's plan under the decision (plan_tls_connection's result for that server):
/// Encrypt -> level encrypt; Authenticate -> level dane, TLS required, the records, the host
/// as TLSA base domain, SNI and name to match (for DANE-TA(2); DANE-EE(3) checks no name),
/// dane_insecure_mx as the decision's insecure_mx.
/// NotDane, Opportunistic and Defer leave it unchanged.
void apply_dane(TlsConnectionPlan& plan, const DaneDecision& decision, std::string_view host);

/// Logged when `dane` or `dane-only` is configured without smtp_dns_support_level = dnssec.
std::string dane_without_dnssec_warning(TlsLevel level);

}  // namespace estafeta::outbound
