// Postfix's smtp_sasl_* parameters. See sasl_settings.h.
#include "outbound/sasl_settings.h"

#include <fmt/format.h>

#include "base/ascii.h"

namespace estafeta::outbound {
namespace {

std::vector<std::string> words(std::string_view value) {
  std::vector<std::string> out;
  std::string word;
  for (char c : value) {
    if (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (!word.empty()) out.push_back(std::move(word));
      word.clear();
    } else {
      word += c;
    }
  }
  if (!word.empty()) out.push_back(std::move(word));
  return out;
}

}  // namespace

SaslSecurityOptions parse_sasl_security_options(std::string_view value) {
  SaslSecurityOptions out;
  for (const std::string& w : words(value)) {
    const std::string lower = ascii::lower(w);
    if (lower == "noplaintext" || lower == "noactive" || lower == "nodictionary" ||
        lower == "mutual_auth") {
      out.plaintext_allowed = false;
    } else if (lower != "noanonymous") {
      out.unknown.push_back(w);
    }
  }
  return out;
}

SaslSettings make_sasl_settings(const config::Config& c, std::vector<std::string>& warnings) {
  SaslSettings s;
  s.enable = c.get_bool("smtp_sasl_auth_enable");
  for (const std::string& m : words(c.get("smtp_sasl_mechanism_filter"))) {
    s.mechanisms.push_back(ascii::upper(m));
  }
  auto options = [&](const char* name, bool& allowed) {
    const SaslSecurityOptions o = parse_sasl_security_options(c.get(name));
    allowed = o.plaintext_allowed;
    for (const std::string& w : o.unknown) {
      warnings.push_back(
          fmt::format("{}: unknown or unsupported option \"{}\" is ignored", name, w));
    }
  };
  options("smtp_sasl_security_options", s.plaintext_in_clear);
  options("smtp_sasl_tls_security_options", s.plaintext_with_tls);
  return s;
}

std::vector<std::string> sasl_password_keys(std::string_view nexthop,
                                            std::string_view server_host) {
  std::vector<std::string> keys;
  auto add = [&](std::string_view k) {
    if (k.empty()) return;
    for (const std::string& have : keys) {
      if (ascii::iequals(have, k)) return;
    }
    keys.emplace_back(k);
  };
  add(nexthop);
  // "[host]:port" / "host:port" -> without the port (an IPv6 literal's colons are inside []).
  const size_t close = nexthop.rfind(']');
  const size_t colon = nexthop.rfind(':');
  if (colon != std::string_view::npos && (close == std::string_view::npos || colon > close) &&
      (nexthop.front() == '[' || nexthop.find(':') == colon)) {
    add(nexthop.substr(0, colon));
  }
  add(server_host);
  return keys;
}

SaslCredentials parse_sasl_credentials(std::string_view value) {
  const size_t colon = value.find(':');
  if (colon == std::string_view::npos) return {std::string(value), ""};
  return {std::string(value.substr(0, colon)), std::string(value.substr(colon + 1))};
}

}  // namespace estafeta::outbound
