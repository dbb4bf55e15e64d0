// What one smtpd listener needs to know, derived once from the immutable Config (with the
// service's master.cf -o overrides applied): session limits, the recipient policy, timeouts,
// connection limits and TLS. Pure apart from reading nothing: a plain value.
#pragma once

#include <chrono>
#include <string>

#include "base/result.h"
#include "config/config.h"
#include "maps/map_set.h"
#include "policy/network.h"
#include "policy/recipient_check.h"
#include "smtp/server_session.h"

namespace estafeta::daemon {

struct SmtpdSettings {
  smtp::SessionSettings session;
  policy::RecipientPolicy recipients;       // its tables live in `tables`
  std::shared_ptr<const maps::MapSet> tables;
  policy::NetworkSet limit_exceptions;       // smtpd_client_event_limit_exceptions
  std::chrono::seconds timeout{300};         // smtpd_timeout
  long long max_sessions = 100;              // master.cf maxproc
  long long per_client_limit = 50;           // smtpd_client_connection_count_limit; 0 = none
  bool wrapper_mode = false;                 // smtpd_tls_wrappermode (implicit TLS, port 465)
  std::string tls_security_level;            // "", none, may, encrypt
  std::string tls_cert_file;
  std::string tls_key_file;
  bool tls_wanted() const { return !tls_cert_file.empty() && (wrapper_mode || offer_starttls()); }
  bool offer_starttls() const {
    return tls_security_level == "may" || tls_security_level == "encrypt";
  }
};

/// The "type:name" tables these settings look things up in (mydestination, relay_domains,
/// mynetworks may name tables, as in Postfix).
std::vector<std::string> smtpd_table_specs(const config::Config& config);

/// Builds the settings; an error names the parameter whose value cannot be used. `tables`
/// must hold every spec of smtpd_table_specs(config) (a missing one fails every lookup with
/// a temporary error).
Result<SmtpdSettings> make_smtpd_settings(const config::Config& config, long long max_sessions,
                                          std::shared_ptr<const maps::MapSet> tables);

}  // namespace estafeta::daemon
