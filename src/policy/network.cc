// Literal network lists (see network.h).
#include "policy/network.h"

namespace estafeta::policy {
namespace {

// Same family and the first `prefix` bits equal.
bool in_network(const maps::IpNetwork& network, const maps::IpNetwork& address) {
  if (network.v6 != address.v6) return false;
  int bits = network.prefix;
  for (size_t i = 0; bits > 0; ++i, bits -= 8) {
    uint8_t mask = bits >= 8 ? 0xff : uint8_t(0xff << (8 - bits));
    if ((network.bytes[i] & mask) != (address.bytes[i] & mask)) return false;
  }
  return true;
}

}  // namespace

NetworkList NetworkList::parse(const std::vector<std::string>& items,
                               std::vector<std::string>* bad) {
  NetworkList list;
  for (const auto& item : items) {
    auto network = maps::parse_cidr_pattern(item);
    if (network.ok()) {
      list.networks_.push_back(*network);
    } else if (bad) {
      bad->push_back(item + ": " + network.error().message);
    }
  }
  return list;
}

bool NetworkList::contains(std::string_view address) const {
  auto parsed = maps::parse_ip_address(address);
  if (!parsed.ok()) return false;
  for (const auto& network : networks_) {
    if (in_network(network, *parsed)) return true;
  }
  return false;
}

}  // namespace estafeta::policy
