// Applying an MTA-STS policy to a delivery. See mta_sts_plan.h.
#include "outbound/mta_sts_plan.h"

#include <fmt/format.h>

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
