// The TLS protocol and cipher settings of the SMTP client in Postfix's syntax, turned into what
// OpenSSL needs: smtp_tls_protocols / smtp_tls_mandatory_protocols / the policy's
// `protocols=` ("!SSLv2, !SSLv3", ">=TLSv1.2", "TLSv1.2 TLSv1.3", "<=TLSv1.2") become a set of
// allowed versions; a cipher grade (high, medium, low, export, null) plus `exclude=` names
// becomes an OpenSSL cipher list. Pure.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace estafeta::outbound {

/// The TLS versions OpenSSL can negotiate, oldest first (SSLv2 and SSLv3 are never enabled).
enum class TlsVersion { TLSv1, TLSv1_1, TLSv1_2, TLSv1_3 };
inline constexpr int kTlsVersionCount = 4;

/// "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3".
std::string_view tls_version_name(TlsVersion version);

/// Which versions may be used; at least one (parse_tls_protocols refuses an empty set).
struct TlsProtocols {
  std::array<bool, kTlsVersionCount> allowed{true, true, true, true};
  bool allows(TlsVersion v) const { return allowed[static_cast<int>(v)]; }
  TlsVersion lowest() const;   // precondition: some version allowed
  TlsVersion highest() const;  // precondition: some version allowed
  bool operator==(const TlsProtocols&) const = default;
};

/// Items separated by white space, commas or colons: a name (only those named are allowed),
/// `!name` (that one is not), `>=name` and `<=name` (bounds). Names: SSLv2, SSLv3, TLSv1,
/// TLSv1.1, TLSv1.2, TLSv1.3 (case-insensitive). Empty: every version. An unknown name, or a
/// value that leaves no TLS version, is an error.
Result<TlsProtocols> parse_tls_protocols(std::string_view value);

/// The OpenSSL cipher list (TLS 1.2 and older; TLS 1.3 suites are not affected) for a Postfix
/// cipher grade (high, medium, low, export, null; case-insensitive), with each `exclude`
/// name (an OpenSSL cipher name or class such as "aNULL", "RC4", "AES256-SHA") removed.
/// An unknown grade or an exclusion with characters other than letters, digits, '-', '_',
/// '+', '.' and '=' is an error.
Result<std::string> openssl_cipher_list(std::string_view grade,
                                        const std::vector<std::string>& exclude);

}  // namespace estafeta::outbound
