// DNSBL query names and reply filters; see dnsbl.h.
#include "policy/dnsbl.h"

#include <fmt/format.h>

#include "base/ascii.h"
#include "maps/cidr_map.h"

namespace estafeta::policy {
namespace {

// A decimal number 0..255 at the start of `s`; advances `s`.
std::optional<int> number(std::string_view& s) {
  size_t i = 0;
  int value = 0;
  while (i < s.size() && i < 4 && ascii::is_digit(s[i])) value = value * 10 + (s[i++] - '0');
  if (i == 0 || i > 3 || value > 255) return std::nullopt;
  s.remove_prefix(i);
  return value;
}

}  // namespace

Result<DnsblFilter> DnsblFilter::parse(std::string_view text) {
  DnsblFilter filter;
  auto bad = [text] { return make_error(fmt::format("bad DNSBL reply filter \"{}\"", text)); };
  std::string_view rest = text;
  while (true) {
    Pattern pattern;
    for (size_t octet = 0; octet < 4; ++octet) {
      if (octet > 0) {
        if (rest.empty() || rest.front() != '.') return bad();
        rest.remove_prefix(1);
      }
      if (!rest.empty() && rest.front() == '[') {
        rest.remove_prefix(1);
        while (true) {
          auto low = number(rest);
          if (!low) return bad();
          int high = *low;
          if (rest.substr(0, 2) == "..") {
            rest.remove_prefix(2);
            auto h = number(rest);
            if (!h || *h < *low) return bad();
            high = *h;
          }
          pattern[octet].push_back({*low, high});
          if (!rest.empty() && rest.front() == ';') {
            rest.remove_prefix(1);
            continue;
          }
          if (rest.empty() || rest.front() != ']') return bad();
          rest.remove_prefix(1);
          break;
        }
      } else {
        auto n = number(rest);
        if (!n) return bad();
        pattern[octet].push_back({*n, *n});
      }
    }
    filter.patterns_.push_back(std::move(pattern));
    if (rest.empty()) break;
    if (rest.front() != ';') return bad();
    rest.remove_prefix(1);
  }
  return filter;
}

bool DnsblFilter::matches(std::string_view reply) const {
  if (patterns_.empty()) return true;
  std::array<int, 4> octets{};
  std::string_view rest = reply;
  for (size_t i = 0; i < 4; ++i) {
    if (i > 0) {
      if (rest.empty() || rest.front() != '.') return false;
      rest.remove_prefix(1);
    }
    auto n = number(rest);
    if (!n) return false;
    octets[i] = *n;
  }
  if (!rest.empty()) return false;
  for (const Pattern& p : patterns_) {
    bool all = true;
    for (size_t i = 0; i < 4 && all; ++i) {
      bool any = false;
      for (const Range& r : p[i]) any = any || (octets[i] >= r.low && octets[i] <= r.high);
      all = any;
    }
    if (all) return true;
  }
  return false;
}

DnsblArgument split_dnsbl_argument(std::string_view argument) {
  size_t eq = argument.find('=');
  if (eq == std::string_view::npos) return {std::string(argument), ""};
  return {std::string(argument.substr(0, eq)), std::string(argument.substr(eq + 1))};
}

std::optional<std::string> dnsbl_address_query(std::string_view address, std::string_view zone) {
  auto ip = maps::parse_ip_address(address);
  if (!ip.ok()) return std::nullopt;
  std::string out;
  if (!ip->v6) {
    for (int i = 3; i >= 0; --i) out += fmt::format("{}.", ip->bytes[static_cast<size_t>(i)]);
  } else {
    static constexpr char kHex[] = "0123456789abcdef";
    for (int i = 15; i >= 0; --i) {
      uint8_t b = ip->bytes[static_cast<size_t>(i)];
      out += kHex[b & 0xf];
      out += '.';
      out += kHex[b >> 4];
      out += '.';
    }
  }
  out.append(zone);
  return out;
}

std::optional<std::string> dnsbl_domain_query(std::string_view name_or_address,
                                              std::string_view zone) {
  std::string_view domain = name_or_address;
  if (size_t at = domain.rfind('@'); at != std::string_view::npos) domain = domain.substr(at + 1);
  if (domain.empty() || domain.front() == '[') return std::nullopt;
  return fmt::format("{}.{}", domain, zone);
}

}  // namespace estafeta::policy
