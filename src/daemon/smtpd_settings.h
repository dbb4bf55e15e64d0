// What one smtpd listener needs to know, derived once from the immutable Config (with the
// service's master.cf -o overrides applied): session limits, the recipient policy, timeouts,
// connection limits and TLS. Pure apart from reading nothing: a plain value.
#pragma once

#include <chrono>
#include <string>

#include "base/result.h"
#include "config/config.h"
#include "policy/network.h"
#include "policy/recipient_check.h"
#include "smtp/server_session.h"

namespace estafeta::daemon {

struct SmtpdSettings {
  smtp::SessionSettings session;
  policy::RecipientPolicy recipients;
  policy::NetworkList limit_exceptions;      // smtpd_client_event_limit_exceptions
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

/// Builds the settings; an error names the parameter whose value cannot be used.
Result<SmtpdSettings> make_smtpd_settings(const config::Config& config, long long max_sessions);

}  // namespace estafeta::daemon
