// Host name and address literal syntax, with Postfix's rules (valid_hostname.c), for the
// HELO and address restrictions (reject_invalid_helo_hostname, reject_non_fqdn_*) and for
// the client's PTR names (client_name.h): labels of letters, digits, '-' and '_', 1 to 63
// characters, not starting or ending with '-', at most 255 characters in all, not
// all-numeric; one trailing dot (but not two) is ignored by the restrictions' callers. Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace estafeta::policy {

/// Why `name` is not a syntactically valid host name, in the words of Postfix's
/// valid_hostname warnings ("misplaced delimiter", "numeric hostname", "bad length 300",
/// ...), or nullopt when it is one.
std::optional<std::string> hostname_syntax_problem(std::string_view name);

/// A syntactically valid host name (see above); an IP address is not one.
bool valid_hostname(std::string_view name);

/// A numeric IPv4 (four decimal octets, the first not 0) or IPv6 address.
bool valid_host_address(std::string_view address);

/// The inside of an address literal: "192.0.2.1" or "IPv6:2001:db8::1".
bool valid_address_literal(std::string_view inside);

/// `name` without one trailing dot ("example.com." -> "example.com"; "a.." unchanged).
std::string_view strip_trailing_dot(std::string_view name);

}  // namespace estafeta::policy
