// Host name syntax; see hostname_syntax.h.
#include "policy/hostname_syntax.h"

#include "base/ascii.h"
#include "maps/cidr_map.h"

namespace estafeta::policy {

bool valid_hostname(std::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  bool non_numeric = false;
  size_t label_start = 0;
  for (size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '.') {
      size_t length = i - label_start;
      if (length == 0 || length > 63) return false;
      if (name[label_start] == '-' || name[i - 1] == '-') return false;
      label_start = i + 1;
      continue;
    }
    char c = name[i];
    if (ascii::is_alpha(c) || c == '-' || c == '_') {
      non_numeric = true;
    } else if (!ascii::is_digit(c)) {
      return false;
    }
  }
  return non_numeric;
}

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
