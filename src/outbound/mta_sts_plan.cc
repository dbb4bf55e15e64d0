// Applying an MTA-STS policy to a delivery. See mta_sts_plan.h.
#include "outbound/mta_sts_plan.h"

#include <fmt/format.h>

#include <algorithm>

namespace estafeta::outbound {

bool mta_sts_applies(const MtaStsScope& scope) {
  return scope.enabled && scope.mx_lookup && !scope.table_entry && !scope.dane_usable;
}

TlsPolicy mta_sts_tls_policy(const ClientTlsSettings& settings) {
  TlsPolicyEntry entry;
  entry.level = TlsLevel::Secure;
  entry.match = {"hostname"};
  entry.servername = "hostname";  // SNI: the MX host name
  return effective_tls_policy(settings, entry);
}

MtaStsApplied apply_mta_sts(const std::optional<MtaStsPolicy>& policy, std::string_view domain,
                            std::vector<DeliveryTarget> targets) {
  MtaStsApplied out;
  if (!policy || policy->mode == MtaStsMode::None) {
    out.targets = std::move(targets);
    return out;
  }
  out.enforce = policy->mode == MtaStsMode::Enforce;
  out.testing = !out.enforce;
  std::vector<std::string> skipped;  // each host once, however many addresses it has
  for (DeliveryTarget& t : targets) {
    if (mta_sts_mx_matches(policy->mx, t.host)) {
      out.targets.push_back(std::move(t));
      continue;
    }
    if (std::find(skipped.begin(), skipped.end(), t.host) == skipped.end()) {
      skipped.push_back(t.host);
      out.log_lines.push_back(mta_sts_mx_mismatch_line(domain, t.host, policy->mode));
    }
    if (out.testing) out.targets.push_back(std::move(t));
  }
  if (out.enforce && out.targets.empty()) {
    out.defer = mta_sts_defer_text(domain, "no MX host matches the policy");
  }
  return out;
}

std::optional<std::string> mta_sts_testing_report(std::string_view domain, std::string_view host,
                                                  bool tls_active, std::optional<PeerTrust> trust) {
  if (tls_active && trust == PeerTrust::Verified) return std::nullopt;
  return fmt::format(
      "MTA-STS policy for {} (testing): delivery to {} would have been deferred: {}", domain, host,
      !tls_active ? std::string("TLS not used")
                  : fmt::format("certificate not verified for {} ({})", host,
                                peer_trust_name(trust.value_or(PeerTrust::Anonymous))));
}

std::string mta_sts_mx_mismatch_line(std::string_view domain, std::string_view mx_host,
                                     MtaStsMode mode) {
  return fmt::format("MTA-STS policy for {}{}: MX host {} does not match the policy, {}", domain,
                     mode == MtaStsMode::Testing ? " (testing)" : "", mx_host,
                     mode == MtaStsMode::Testing ? "would be skipped" : "skipped");
}

std::string mta_sts_defer_text(std::string_view domain, std::string_view why) {
  return fmt::format("MTA-STS policy for {}: {}", domain, why);
}

}  // namespace estafeta::outbound
