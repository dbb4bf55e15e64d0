// Outbound DNS settings from main.cf: see dns_settings.h.
#include "outbound/dns_settings.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace estafeta::outbound {
namespace {

bool is_address(int family, const std::string& text) {
  unsigned char buffer[16];
  return inet_pton(family, text.c_str(), buffer) == 1;
}

Result<unsigned> parse_port(std::string_view text, std::string_view entry) {
  unsigned port = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (text.empty() || error != std::errc{} || end != text.data() + text.size() || port == 0 ||
      port > 65535) {
    return make_error(fmt::format("bad port in nameserver \"{}\"", entry));
  }
  return port;
}

Result<std::string> canonical_nameserver(std::string_view entry) {
  std::string host;
  unsigned port = 53;
  bool ipv6 = false;
  if (!entry.empty() && entry.front() == '[') {
    size_t close = entry.find(']');
    if (close == std::string_view::npos) {
      return make_error(fmt::format("missing ']' in nameserver \"{}\"", entry));
    }
    host = std::string(entry.substr(1, close - 1));
    std::string_view rest = entry.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return make_error(fmt::format("text after ']' in nameserver \"{}\"", entry));
      }
      auto parsed = parse_port(rest.substr(1), entry);
      if (!parsed) return parsed.error();
      port = *parsed;
    }
    ipv6 = true;
  } else if (std::count(entry.begin(), entry.end(), ':') > 1) {
    host = std::string(entry);
    ipv6 = true;
  } else {
    size_t colon = entry.find(':');
    host = std::string(entry.substr(0, colon));
    if (colon != std::string_view::npos) {
      auto parsed = parse_port(entry.substr(colon + 1), entry);
      if (!parsed) return parsed.error();
      port = *parsed;
    }
  }
  if (!is_address(ipv6 ? AF_INET6 : AF_INET, host)) {
    return make_error(
        fmt::format("nameserver \"{}\" is not a numeric IPv4 or IPv6 address", entry));
  }
  return ipv6 ? fmt::format("[{}]:{}", host, port) : fmt::format("{}:{}", host, port);
}

}  // namespace

Result<std::string> nameserver_csv(const std::vector<std::string>& nameservers) {
  std::string csv;
  for (const std::string& entry : nameservers) {
    auto canonical = canonical_nameserver(entry);
    if (!canonical) return canonical.error();
    if (!csv.empty()) csv += ',';
    csv += *canonical;
  }
  return csv;
}

ResolverOptions resolver_options(const config::Config& config) {
  ResolverOptions options;
  options.nameservers = config.get_list("resolver_nameservers");
  return options;
}

MxPlanSettings mx_plan_settings(const config::Config& config) {
  MxPlanSettings settings;
  settings.myhostname = config.get("myhostname");
  auto protocols = config.get_list("inet_protocols");
  bool all = std::find(protocols.begin(), protocols.end(), "all") != protocols.end();
  settings.ipv4 = all || std::find(protocols.begin(), protocols.end(), "ipv4") != protocols.end();
  settings.ipv6 = all || std::find(protocols.begin(), protocols.end(), "ipv6") != protocols.end();
  std::string preference = config.get("smtp_address_preference");
  settings.address_preference = preference == "ipv4"   ? AddressPreference::Ipv4
                                : preference == "ipv6" ? AddressPreference::Ipv6
                                                       : AddressPreference::Any;
  settings.mx_address_limit = static_cast<size_t>(config.get_int("smtp_mx_address_limit"));
  settings.mx_session_limit = static_cast<size_t>(config.get_int("smtp_mx_session_limit"));
  return settings;
}

}  // namespace estafeta::outbound
