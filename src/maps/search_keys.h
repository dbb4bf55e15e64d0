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

/// One key of the virtual(5) order, with what a lookup must know about it.
struct VirtualKey {
  std::string key;
  bool partial = false;     ///< derived from the address: pattern tables are not asked
  bool local_only = false;  ///< "user+ext" or "user" of a qualified address: only when the
                            ///< domain is local
  std::string extension;    ///< "+ext" (delimiter included) when the key is the address
                            ///< without its extension, else ""
};

/// virtual(5) order, every key: "user+ext@domain", "user@domain", "user+ext" and "user"
/// (local_only), the "@domain" catch-all. An address without '@' yields "user+ext", "user".
/// Duplicates are dropped (the first stays). maps/address_search.h looks them up.
std::vector<VirtualKey> virtual_search_keys(std::string_view address,
                                            std::string_view recipient_delimiters);

/// virtual(5) order as plain keys: virtual_search_keys() without the local_only keys unless
/// `domain_is_local` ($myorigin, $mydestination, ...).
std::vector<std::string> virtual_address_keys(std::string_view address,
                                              std::string_view recipient_delimiters,
                                              bool domain_is_local);

}  // namespace estafeta::maps
