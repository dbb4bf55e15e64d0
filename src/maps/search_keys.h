// Search orders: which keys a caller tries, in which order, for one address, domain or
// client IP. Pure functions, no table access: the policy and rewriting code looks each key
// up in its tables and stops at the first Found (or TempFail). Orders follow access(5) and
// virtual(5); the recipient delimiter follows Postfix's split_addr() rules.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace estafeta::maps {

struct SplitLocalpart {
  std::string user;       ///< "user" of "user+ext"
  std::string extension;  ///< "ext" (without the delimiter)
};

/// address::split_extension() as owned strings: nullopt when the local part has no extension
/// (no delimiter, an empty user, postmaster / mailer-daemon / double-bounce, and, when '-' is
/// a delimiter, owner-foo and foo-request). "user+" splits with an empty extension.
std::optional<SplitLocalpart> split_localpart(std::string_view localpart,
                                              std::string_view delimiters);

/// An address split at its last '@' (RFC 5321 local parts may contain a quoted '@'). A bare
/// "postmaster" has no '@' and an empty domain.
struct AddressParts {
  std::string_view local;
  std::string_view domain;
  bool has_at = false;
};
AddressParts split_address(std::string_view address);

/// access(5) domain order: "sub.example.com", then parents. With
/// parent_domain_matches_subdomains (smtpd_access_maps listed): "example.com", "com";
/// without: ".example.com", ".com".
std::vector<std::string> access_domain_keys(std::string_view domain,
                                            bool parent_domain_matches_subdomains);

/// access(5) address order: "user+ext@domain", "user@domain", the domain keys above,
/// "user+ext@", "user@". An address without '@' yields itself, then "user+ext@", "user@".
/// The null address is the caller's business (smtpd_null_access_lookup_key, "<>").
std::vector<std::string> access_address_keys(std::string_view address,
                                             std::string_view recipient_delimiters,
                                             bool parent_domain_matches_subdomains);

/// access(5) client address order: "192.168.1.7", "192.168.1", "192.168", "192"; IPv6 is
/// truncated at ':' the same way, on the string form ("2001:db8::1", "2001:db8:", ...).
std::vector<std::string> access_client_address_keys(std::string_view address);

/// virtual(5) order: "user+ext@domain", "user@domain", then, only when `domain_is_local`
/// ($myorigin, $mydestination, ...): "user+ext", "user"; last the "@domain" catch-all.
std::vector<std::string> virtual_address_keys(std::string_view address,
                                              std::string_view recipient_delimiters,
                                              bool domain_is_local);

}  // namespace estafeta::maps
