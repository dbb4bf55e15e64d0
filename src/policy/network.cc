// IP network parsing and matching for mynetworks and connection-limit exceptions.
#include "policy/network.h"

#include <arpa/inet.h>

#include <charconv>

namespace estafeta::policy {

std::optional<IpBytes> parse_ip(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  if (text.size() > 5 && (text.substr(0, 5) == "IPv6:" || text.substr(0, 5) == "ipv6:")) {
    text.remove_prefix(5);
  }
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  std::string s(text);
  IpBytes out{};
  in_addr v4{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    out[10] = 0xff;
    out[11] = 0xff;
    const auto* b = reinterpret_cast<const uint8_t*>(&v4.s_addr);
    std::copy(b, b + 4, out.begin() + 12);
    return out;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::copy(v6.s6_addr, v6.s6_addr + 16, out.begin());
    return out;
  }
  return std::nullopt;
}

bool Network::contains(const IpBytes& address) const {
  int bits = prefix_bits;
  for (size_t i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    uint8_t mask = bits >= 8 ? 0xff : uint8_t(0xff << (8 - bits));
    if ((address[i] & mask) != (base[i] & mask)) return false;
  }
  return true;
}

std::optional<Network> parse_network(std::string_view text) {
  std::string_view addr = text;
  std::optional<int> prefix;
  if (auto slash = text.rfind('/'); slash != std::string_view::npos) {
    addr = text.substr(0, slash);
    std::string_view digits = text.substr(slash + 1);
    int n = -1;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
    prefix = n;
  }
  auto ip = parse_ip(addr);
  if (!ip) return std::nullopt;
  bool is_v4 = addr.find(':') == std::string_view::npos;
  Network net;
  net.base = *ip;
  if (prefix) {
    if (*prefix < 0 || *prefix > (is_v4 ? 32 : 128)) return std::nullopt;
    net.prefix_bits = is_v4 ? 96 + *prefix : *prefix;
  }
  // Clear host bits so that equal networks compare equal.
  int bits = net.prefix_bits;
  for (size_t i = 0; i < 16; ++i, bits -= 8) {
    if (bits >= 8) continue;
    net.base[i] &= bits <= 0 ? 0 : uint8_t(0xff << (8 - bits));
  }
  return net;
}

NetworkList NetworkList::parse(const std::vector<std::string>& items,
                               std::vector<std::string>* bad) {
  NetworkList list;
  for (const auto& item : items) {
    if (auto net = parse_network(item)) {
      list.networks_.push_back(*net);
    } else if (bad) {
      bad->push_back(item);
    }
  }
  return list;
}

bool NetworkList::contains(std::string_view address) const {
  auto ip = parse_ip(address);
  if (!ip) return false;
  for (const auto& net : networks_) {
    if (net.contains(*ip)) return true;
  }
  return false;
}

}  // namespace estafeta::policy
