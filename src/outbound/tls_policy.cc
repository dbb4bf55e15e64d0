// TLS levels, smtp_tls_policy_maps values and their lookup keys (see tls_policy.h).
#include "outbound/tls_policy.h"

#include <array>
#include <utility>

#include "base/ascii.h"
#include "outbound/tls_protocols.h"

namespace estafeta::outbound {
namespace {

constexpr std::array<std::pair<std::string_view, TlsLevel>, 8> kLevels = {{
    {"none", TlsLevel::None},
    {"may", TlsLevel::May},
    {"encrypt", TlsLevel::Encrypt},
    {"dane", TlsLevel::Dane},
    {"dane-only", TlsLevel::DaneOnly},
    {"fingerprint", TlsLevel::Fingerprint},
    {"verify", TlsLevel::Verify},
    {"secure", TlsLevel::Secure},
}};

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::vector<std::string> split_on(std::string_view value, char separator) {
  std::vector<std::string> items;
  size_t start = 0;
  while (start <= value.size()) {
    size_t end = value.find(separator, start);
    if (end == std::string_view::npos) end = value.size();
    if (end > start) items.emplace_back(value.substr(start, end - start));
    start = end + 1;
  }
  return items;
}

std::string without_trailing_dot(std::string name) {
  if (name.size() > 1 && name.back() == '.') name.pop_back();
  return name;
}

}  // namespace

std::optional<TlsLevel> parse_tls_level(std::string_view name) {
  for (const auto& [text, level] : kLevels) {
    if (ascii::iequals(name, text)) return level;
  }
  return std::nullopt;
}

std::string_view tls_level_name(TlsLevel level) {
  for (const auto& [text, value] : kLevels) {
    if (value == level) return text;
  }
  return "none";
}

Result<TlsPolicyEntry> parse_tls_policy_entry(std::string_view value) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < value.size()) {
    if (is_blank(value[i])) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < value.size() && !is_blank(value[end])) ++end;
    words.push_back(value.substr(i, end - i));
    i = end;
  }
  if (words.empty()) return make_error("empty TLS policy");
  auto level = parse_tls_level(words[0]);
  if (!level) return make_error("unknown TLS security level \"" + std::string(words[0]) + "\"");
  TlsPolicyEntry entry;
  entry.level = *level;
  bool seen_match = false, seen_exclude = false;
  for (size_t w = 1; w < words.size(); ++w) {
    std::string_view word = words[w];
    size_t eq = word.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return make_error("TLS policy attribute without a name=value form: \"" + std::string(word) +
                        "\"");
    }
    std::string name = ascii::lower(word.substr(0, eq));
    std::string_view attr = word.substr(eq + 1);
    if (attr.empty()) return make_error("empty TLS policy attribute " + name + "=");
    auto repeated = [&] { return make_error("TLS policy attribute " + name + "= given twice"); };
    if (name == "match") {
      if (seen_match) return repeated();
      seen_match = true;
      if (entry.level < TlsLevel::Dane) {
        return make_error("TLS policy attribute match= is not allowed with level " +
                          std::string(tls_level_name(entry.level)));
      }
      entry.match = split_on(attr, entry.level == TlsLevel::Fingerprint ? '|' : ':');
      if (entry.match.empty()) return make_error("empty TLS policy attribute match=");
    } else if (name == "protocols") {
      if (entry.protocols) return repeated();
      if (auto parsed = parse_tls_protocols(attr); !parsed) {
        return make_error("TLS policy protocols=: " + parsed.error().message);
      }
      entry.protocols = std::string(attr);
    } else if (name == "ciphers") {
      if (entry.ciphers) return repeated();
      if (auto parsed = openssl_cipher_list(attr, {}); !parsed) {
        return make_error("TLS policy ciphers=: " + parsed.error().message);
      }
      entry.ciphers = std::string(attr);
    } else if (name == "exclude") {
      if (seen_exclude) return repeated();
      seen_exclude = true;
      entry.exclude = split_on(attr, ':');
      if (auto parsed = openssl_cipher_list("medium", entry.exclude); !parsed) {
        return make_error("TLS policy exclude=: " + parsed.error().message);
      }
    } else if (name == "servername") {
      if (entry.servername) return repeated();
      entry.servername = std::string(attr);
    } else {
      return make_error("unknown TLS policy attribute \"" + name + "\"");
    }
  }
  return entry;
}

std::string nexthop_domain(std::string_view nexthop) {
  std::string_view host = nexthop;
  if (host.starts_with("[")) {
    size_t close = host.find(']');
    host = close == std::string_view::npos ? host.substr(1) : host.substr(1, close - 1);
  } else if (size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  return without_trailing_dot(ascii::lower(host));
}

std::vector<std::string> tls_policy_lookup_keys(std::string_view nexthop) {
  std::string verbatim = ascii::lower(nexthop);
  bool bare = !verbatim.starts_with("[") && verbatim.find(':') == std::string::npos;
  if (bare) verbatim = without_trailing_dot(std::move(verbatim));
  std::vector<std::string> keys;
  if (verbatim.empty()) return keys;
  keys.push_back(verbatim);
  if (!bare) return keys;
  for (size_t dot = verbatim.find('.'); dot != std::string::npos;
       dot = verbatim.find('.', dot + 1)) {
    if (dot + 1 < verbatim.size()) keys.push_back(verbatim.substr(dot));
  }
  return keys;
}

}  // namespace estafeta::outbound
