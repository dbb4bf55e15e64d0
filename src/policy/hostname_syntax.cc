// Host name syntax; see hostname_syntax.h.
#include "policy/hostname_syntax.h"

#include <fmt/format.h>

#include "base/ascii.h"
#include "maps/cidr_map.h"

namespace estafeta::policy {

namespace {
constexpr size_t kMaxHostnameLength = 255;
constexpr size_t kMaxLabelLength = 63;
}  // namespace

std::optional<std::string> hostname_syntax_problem(std::string_view name) {
  if (name.empty()) return "empty hostname";
  size_t label_length = 0;
  bool numeric_only = true;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool last = i + 1 == name.size();
    if (ascii::is_alpha(c) || ascii::is_digit(c) || c == '_') {
      if (++label_length > kMaxLabelLength) return "hostname label too long";
      if (!ascii::is_digit(c)) numeric_only = false;
    } else if (c == '.') {
      if (label_length == 0 || last) return "misplaced delimiter";
      label_length = 0;
    } else if (c == '-') {
      numeric_only = false;
      ++label_length;
      if (label_length == 1 || last || name[i + 1] == '.') return "misplaced hyphen";
    } else {
      return fmt::format("invalid character {}(decimal)", static_cast<unsigned char>(c));
    }
  }
  if (numeric_only) return "numeric hostname";
  if (name.size() > kMaxHostnameLength) return fmt::format("bad length {}", name.size());
  return std::nullopt;
}

bool valid_hostname(std::string_view name) { return !hostname_syntax_problem(name); }

bool valid_host_address(std::string_view address) {
  if (address.find(':') != std::string_view::npos) {
    auto ip = maps::parse_ip_address(address);
    return ip.ok() && ip->v6;
  }
  // Four decimal octets, no leading '0' octet (Postfix: "bad initial octet").
  int octets = 0;
  size_t i = 0;
  while (i <= address.size()) {
    size_t start = i;
    int value = 0;
    while (i < address.size() && ascii::is_digit(address[i]) && i - start < 4) {
      value = value * 10 + (address[i++] - '0');
    }
    size_t length = i - start;
    if (length == 0 || length > 3 || value > 255) return false;
    if (octets == 0 && value == 0) return false;
    ++octets;
    if (i == address.size()) break;
    if (address[i] != '.') return false;
    ++i;
  }
  return octets == 4;
}

bool valid_address_literal(std::string_view inside) {
  if (ascii::istarts_with(inside, "IPv6:")) {
    std::string_view v6 = inside.substr(5);
    return v6.find(':') != std::string_view::npos && valid_host_address(v6);
  }
  return inside.find(':') == std::string_view::npos && valid_host_address(inside);
}

std::string_view strip_trailing_dot(std::string_view name) {
  if (name.size() > 1 && name.back() == '.' && name[name.size() - 2] != '.') {
    name.remove_suffix(1);
  }
  return name;
}

}  // namespace estafeta::policy
