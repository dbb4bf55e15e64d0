// Postfix TLS protocol lists and cipher grades -> OpenSSL settings (see tls_protocols.h).
#include "outbound/tls_protocols.h"

#include <algorithm>
#include <optional>

#include "base/ascii.h"

namespace estafeta::outbound {
namespace {

constexpr std::array<std::string_view, kTlsVersionCount> kNames = {"TLSv1", "TLSv1.1", "TLSv1.2",
                                                                   "TLSv1.3"};

// -1 for SSLv2/SSLv3 (known, never enabled); nullopt for an unknown name.
std::optional<int> version_index(std::string_view name) {
  if (ascii::iequals(name, "SSLv2") || ascii::iequals(name, "SSLv3")) return -1;
  for (int i = 0; i < kTlsVersionCount; ++i) {
    if (ascii::iequals(name, kNames[i])) return i;
  }
  return std::nullopt;
}

bool is_separator(char c) { return c == ' ' || c == '\t' || c == ',' || c == ':' || c == '\n'; }

}  // namespace

std::string_view tls_version_name(TlsVersion version) { return kNames[static_cast<int>(version)]; }

TlsVersion TlsProtocols::lowest() const {
  for (int i = 0; i < kTlsVersionCount; ++i) {
    if (allowed[i]) return static_cast<TlsVersion>(i);
  }
  return TlsVersion::TLSv1_3;
}

TlsVersion TlsProtocols::highest() const {
  for (int i = kTlsVersionCount - 1; i >= 0; --i) {
    if (allowed[i]) return static_cast<TlsVersion>(i);
  }
  return TlsVersion::TLSv1;
}

Result<TlsProtocols> parse_tls_protocols(std::string_view value) {
  std::array<bool, kTlsVersionCount> named{};
  std::array<bool, kTlsVersionCount> excluded{};
  bool any_named = false;
  int lower = 0;
  int upper = kTlsVersionCount - 1;
  size_t i = 0;
  while (i < value.size()) {
    if (is_separator(value[i])) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < value.size() && !is_separator(value[end])) ++end;
    std::string_view item = value.substr(i, end - i);
    i = end;
    enum { Name, Not, AtLeast, AtMost } kind = Name;
    if (item.starts_with("!")) {
      kind = Not;
      item.remove_prefix(1);
    } else if (item.starts_with(">=")) {
      kind = AtLeast;
      item.remove_prefix(2);
    } else if (item.starts_with("<=")) {
      kind = AtMost;
      item.remove_prefix(2);
    }
    auto index = version_index(item);
    if (!index) return make_error("unknown TLS protocol \"" + std::string(item) + "\"");
    switch (kind) {
      case Name:
        any_named = true;
        if (*index >= 0) named[*index] = true;
        break;
      case Not:
        if (*index >= 0) excluded[*index] = true;
        break;
      case AtLeast:
        lower = std::max(lower, *index);
        break;
      case AtMost:
        if (*index < 0) return make_error("no TLS protocol is at most " + std::string(item));
        upper = std::min(upper, *index);
        break;
    }
  }
  TlsProtocols result;
  bool any = false;
  for (int v = 0; v < kTlsVersionCount; ++v) {
    result.allowed[v] = (!any_named || named[v]) && !excluded[v] && v >= lower && v <= upper;
    any = any || result.allowed[v];
  }
  if (!any) return make_error("no TLS protocol version is left enabled");
  return result;
}

Result<std::string> openssl_cipher_list(std::string_view grade,
                                        const std::vector<std::string>& exclude) {
  // Anonymous (aNULL) suites are never offered: a client that cannot authenticate the server
  // gains nothing from them, and a certificate is needed to classify the peer.
  std::string list;
  if (ascii::iequals(grade, "high")) {
    list = "HIGH:!aNULL:!eNULL";
  } else if (ascii::iequals(grade, "medium")) {
    list = "HIGH:MEDIUM:!aNULL:!eNULL";
  } else if (ascii::iequals(grade, "low") || ascii::iequals(grade, "export")) {
    list = "HIGH:MEDIUM:LOW:!aNULL:!eNULL";
  } else if (ascii::iequals(grade, "null")) {
    list = "eNULL:!aNULL";
  } else {
    return make_error("unknown cipher grade \"" + std::string(grade) + "\"");
  }
  for (const std::string& name : exclude) {
    if (name.empty()) return make_error("empty cipher exclusion");
    for (char c : name) {
      if (!ascii::is_alpha(c) && !ascii::is_digit(c) && c != '-' && c != '_' && c != '+' &&
          c != '.' && c != '=') {
        return make_error("bad cipher exclusion \"" + name + "\"");
      }
    }
    list += ":!" + name;
  }
  return list;
}

}  // namespace estafeta::outbound
