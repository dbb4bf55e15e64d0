// The access(5) search orders of smtpd's check_*_access restrictions: which keys are looked
// up, in which order, for an email address, a host name, a client (name, then address) and
// the null sender. The orders come from maps/search_keys.h; this adds what smtpd needs on
// top: which keys are "partial" (derived from the string: a pattern table, regexp: pcre:
// cidr:, is asked only for the full string, never for a parent domain, a shorter network or
// user@), and the rule that a numeric host name has no parent domains. The caller looks the
// keys up in order and stops at the first Found (DUNNO included) or TempFail. Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace estafeta::policy {

struct AccessKey {
  std::string key;
  bool partial = false;  ///< not the full string: skipped for pattern tables
  bool operator==(const AccessKey&) const = default;
};

/// How parent domains are written: with parent_domain_matches_subdomains listing
/// smtpd_access_maps (Postfix's default), "example.com" matches its subdomains; else only
/// ".example.com" does.
enum class ParentStyle { Bare, Dot };

/// A host or domain name (HELO, client name, ETRN domain): "a.example.com", then the
/// parents ("example.com", "com" or ".example.com", ".com"). A numeric name
/// ("192.0.2.1") has no parents.
std::vector<AccessKey> host_name_keys(std::string_view name, ParentStyle style);

/// A client IP address: "192.0.2.1", "192.0.2", "192.0", "192"; IPv6 is cut at ':'
/// ("2001:db8::1", "2001:db8:", "2001:db8", "2001").
std::vector<AccessKey> client_address_keys(std::string_view address);

/// check_client_access: the client name and its parents, then its address and networks.
std::vector<AccessKey> client_keys(std::string_view name, std::string_view address,
                                   ParentStyle style);

/// An email address: "user+ext@domain" (full), "user@domain", the domain and its parents,
/// "user+ext@", "user@". `recipient_delimiters` as recipient_delimiter ("" for none). The
/// null address is the caller's business (null_address_keys()).
std::vector<AccessKey> email_keys(std::string_view address, std::string_view recipient_delimiters,
                                  ParentStyle style);

/// The null sender: smtpd_null_access_lookup_key ("<>") as a full key.
std::vector<AccessKey> null_address_keys(std::string_view null_access_lookup_key);

}  // namespace estafeta::policy
