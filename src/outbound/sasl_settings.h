// SMTP AUTH settings of the smtp agent (Postfix's smtp_sasl_* parameters): whether to
// authenticate, the mechanisms allowed, what the security options allow in clear and over
// TLS, the keys smtp_sasl_password_maps is searched with, and its "user:password" values.
// Pure. Only PLAIN and LOGIN exist here, both plaintext mechanisms, so of the security
// options only those that rule them out matter: noplaintext, noactive, nodictionary and
// mutual_auth each forbid both; noanonymous is always true (we never use ANONYMOUS).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace estafeta::outbound {

struct SaslSettings {
  bool enable = false;                  // smtp_sasl_auth_enable
  std::vector<std::string> mechanisms;  // smtp_sasl_mechanism_filter, upper-cased; empty: any
  bool plaintext_in_clear = false;      // smtp_sasl_security_options
  bool plaintext_with_tls = true;       // smtp_sasl_tls_security_options
};

struct SaslSecurityOptions {
  bool plaintext_allowed = true;
  std::vector<std::string> unknown;  // words we do not know: warned about, ignored
};

/// "noplaintext, noanonymous" (commas and/or spaces between words, any case).
SaslSecurityOptions parse_sasl_security_options(std::string_view value);

/// From main.cf; `warnings` gets one line per word we do not implement.
SaslSettings make_sasl_settings(const config::Config& config, std::vector<std::string>& warnings);

/// The smtp_sasl_password_maps keys for a server of a next hop, first match wins: the next
/// hop as written ("[smtp.example]:587", "example.com"), then without its ":port", then the
/// server's host name (an MX host) when it differs. No duplicates.
std::vector<std::string> sasl_password_keys(std::string_view nexthop, std::string_view server_host);

struct SaslCredentials {
  std::string username;
  std::string password;
};

/// "user:password" (split at the first colon; no colon: an empty password).
SaslCredentials parse_sasl_credentials(std::string_view value);

}  // namespace estafeta::outbound
