// The SMTP client's TLS policy for one destination: the security levels, one value of
// smtp_tls_policy_maps ("encrypt protocols=>=TLSv1.2", "secure match=mx.example.com"), and the
// keys the table is searched with for a next-hop destination. Pure; fuzzed by
// outbound_tls_policy_fuzz. What the levels mean and what is not done yet: docs/smtp-tls.md.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace estafeta::outbound {

/// Postfix's TLS security levels, weakest first.
enum class TlsLevel { None, May, Encrypt, Dane, DaneOnly, Fingerprint, Verify, Secure };

/// "none", "may", "encrypt", "dane", "dane-only", "fingerprint", "verify", "secure"
/// (case-insensitive); nullopt for anything else.
std::optional<TlsLevel> parse_tls_level(std::string_view name);
std::string_view tls_level_name(TlsLevel level);

/// One smtp_tls_policy_maps value: a level, then name=value attributes separated by white
/// space. Attributes: match= (colon-separated; for `fingerprint` the digests are separated
/// by '|' instead, since they contain colons), protocols=, ciphers= (a grade), exclude=
/// (colon-separated cipher names), servername=. Each at most once.
struct TlsPolicyEntry {
  TlsLevel level = TlsLevel::None;
  std::vector<std::string> match;         // as written; empty: the level's default
  std::optional<std::string> protocols;   // Postfix protocol list
  std::optional<std::string> ciphers;     // grade
  std::vector<std::string> exclude;       // cipher names
  std::optional<std::string> servername;  // "hostname", "nexthop" or a literal name
  bool operator==(const TlsPolicyEntry&) const = default;
};

/// Parses a table value. Errors (the mail is then deferred, never sent in clear): no level,
/// an unknown level or attribute, an attribute without '=', an empty or repeated attribute,
/// match= with none, may or encrypt, a protocols= or ciphers= value that
/// tls_protocols.h refuses.
Result<TlsPolicyEntry> parse_tls_policy_entry(std::string_view value);

/// The keys smtp_tls_policy_maps is searched with, in order, for a next-hop destination as
/// the routing wrote it: the destination verbatim (lowercased), brackets and port included
/// ("[mx.example.com]:587", "example.com"); then, only for a bare domain (no brackets, no
/// port), each parent domain with a leading dot, nearest first ("a.example.com" ->
/// "a.example.com", ".example.com", ".com"). A trailing dot is dropped.
std::vector<std::string> tls_policy_lookup_keys(std::string_view nexthop);

/// The host or domain of a next-hop destination: brackets and ":port" removed, lowercased,
/// trailing dot dropped ("[MX.Example.com]:587" -> "mx.example.com", "example.com:25" ->
/// "example.com", "[192.0.2.1]" -> "192.0.2.1", "[ipv6:2001:db8::1]" -> "ipv6:2001:db8::1").
std::string nexthop_domain(std::string_view nexthop);

}  // namespace estafeta::outbound
