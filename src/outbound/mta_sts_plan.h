// How the smtp agent applies an MTA-STS policy (RFC 8461 4, 5) to one delivery, pure: whether
// MTA-STS is consulted for a next hop at all, which MX hosts an enforced policy allows, the TLS
// policy it imposes on them (level secure, the certificate verified for the MX host name) and
// the texts logged or used to defer. The edge that finds the policy is mta_sts_resolver.h;
// smtp_delivery.cc calls these.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "outbound/mta_sts_policy.h"
#include "outbound/mx_plan.h"
#include "outbound/tls_plan.h"

namespace estafeta::outbound {

/// What decides whether a next hop's policy domain is looked up.
struct MtaStsScope {
  bool enabled = false;      // smtp_mta_sts_enable
  bool mx_lookup = false;    // the next hop is found by MX lookup (not [host], not a relay)
  bool table_entry = false;  // smtp_tls_policy_maps has an entry for it: that entry wins
  /// DANE wins where it applies: smtp_delivery.cc sets this for a DANE level with
  /// smtp_dns_support_level = dnssec and a validated MX answer (the TLSA records then decide
  /// per server).
  bool dane_usable = false;
};
bool mta_sts_applies(const MtaStsScope& scope);

/// An enforced policy's TLS for its MX hosts: level secure, the certificate matched against
/// the MX host name (smtp_tls_CAfile or the system store), the mandatory protocols and
/// ciphers.
TlsPolicy mta_sts_tls_policy(const ClientTlsSettings& settings);

/// The servers of a destination under its policy (nullopt: none). `enforce`: only the MX hosts
/// the policy matches are kept (the others logged and skipped), `tls` is then
/// mta_sts_tls_policy, and when none is left `defer` says why. `testing`: every server is
/// kept, the mismatches are logged, and the caller logs what TLS would have failed. `none`:
/// nothing changes.
struct MtaStsApplied {
  std::vector<DeliveryTarget> targets;
  std::vector<std::string> log_lines;
  bool enforce = false;
  bool testing = false;
  std::optional<std::string> defer;  // 4.7.5
};
MtaStsApplied apply_mta_sts(const std::optional<MtaStsPolicy>& policy, std::string_view domain,
                            std::vector<DeliveryTarget> targets);

/// `testing`: what an enforced policy would have refused on a connection that carried mail
/// (no TLS, or a certificate not verified for the MX host), as a line to log; nullopt when it
/// would have passed.
std::optional<std::string> mta_sts_testing_report(std::string_view domain, std::string_view host,
                                                  bool tls_active, std::optional<PeerTrust> trust);

/// "MTA-STS policy for example.com: MX host mx.other.test does not match the policy, skipped"
/// (`testing`: "... would be skipped").
std::string mta_sts_mx_mismatch_line(std::string_view domain, std::string_view mx_host,
                                     MtaStsMode mode);
/// The deferral when an enforced policy leaves no usable server: "MTA-STS policy for
/// example.com: <why>", DSN 4.7.5.
std::string mta_sts_defer_text(std::string_view domain, std::string_view why);

}  // namespace estafeta::outbound
