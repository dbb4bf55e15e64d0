// access(5) search orders for smtpd; see access_keys.h.
#include "policy/access_keys.h"

#include "maps/cidr_map.h"
#include "maps/search_keys.h"

namespace estafeta::policy {
namespace {

bool is_numeric_address(std::string_view name) { return maps::parse_ip_address(name).ok(); }

std::vector<AccessKey> mark(std::vector<std::string> keys) {
  std::vector<AccessKey> out;
  out.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) out.push_back({std::move(keys[i]), i > 0});
  return out;
}

}  // namespace

std::vector<AccessKey> host_name_keys(std::string_view name, ParentStyle style) {
  if (name.empty()) return {};
  if (is_numeric_address(name)) return {{std::string(name), false}};
  return mark(maps::access_domain_keys(name, style == ParentStyle::Bare));
}

std::vector<AccessKey> client_address_keys(std::string_view address) {
  return mark(maps::access_client_address_keys(address));
}

std::vector<AccessKey> client_keys(std::string_view name, std::string_view address,
                                   ParentStyle style) {
  std::vector<AccessKey> keys = host_name_keys(name, style);
  for (AccessKey& k : client_address_keys(address)) keys.push_back(std::move(k));
  return keys;
}

std::vector<AccessKey> email_keys(std::string_view address, std::string_view recipient_delimiters,
                                  ParentStyle style) {
  return mark(maps::access_address_keys(address, recipient_delimiters, style == ParentStyle::Bare));
}

std::vector<AccessKey> null_address_keys(std::string_view null_access_lookup_key) {
  return {{std::string(null_access_lookup_key), false}};
}

}  // namespace estafeta::policy
