// Search orders of access(5) and virtual(5); see search_keys.h.
#include "maps/search_keys.h"

#include <initializer_list>

#include "address/extension.h"

namespace estafeta::maps {
namespace {

// Joins pieces into one string. (Also sidesteps GCC 12's false -Wrestrict on chains of
// std::string operator+ at -O3, GCC bug 105329.)
std::string concat(std::initializer_list<std::string_view> parts) {
  size_t n = 0;
  for (std::string_view p : parts) n += p.size();
  std::string out;
  out.reserve(n);
  for (std::string_view p : parts) out.append(p);
  return out;
}

void push_unique(std::vector<std::string>& keys, std::string key) {
  for (const std::string& k : keys) {
    if (k == key) return;
  }
  keys.push_back(std::move(key));
}

}  // namespace

std::optional<SplitLocalpart> split_localpart(std::string_view localpart,
                                              std::string_view delimiters) {
  address::SplitLocalPart split = address::split_extension(localpart, delimiters);
  if (split.delimiter == 0) return std::nullopt;
  return SplitLocalpart{std::string(split.user), std::string(split.extension)};
}

std::vector<std::string> access_domain_keys(std::string_view domain,
                                            bool parent_domain_matches_subdomains) {
  std::vector<std::string> keys;
  if (domain.empty()) return keys;
  keys.emplace_back(domain);
  size_t pos = 0;
  while ((pos = domain.find('.', pos + 1)) != std::string_view::npos) {
    std::string_view parent =
        parent_domain_matches_subdomains ? domain.substr(pos + 1) : domain.substr(pos);
    if (parent.empty() || parent == ".") break;
    push_unique(keys, std::string(parent));
  }
  return keys;
}

AddressParts split_address(std::string_view address) {
  size_t at = address.rfind('@');
  if (at == std::string_view::npos) return AddressParts{address, {}, false};
  return AddressParts{address.substr(0, at), address.substr(at + 1), true};
}

std::vector<std::string> access_address_keys(std::string_view address,
                                             std::string_view recipient_delimiters,
                                             bool parent_domain_matches_subdomains) {
  std::vector<std::string> keys;
  AddressParts a = split_address(address);
  std::optional<SplitLocalpart> split = split_localpart(a.local, recipient_delimiters);
  if (!a.has_at) {
    keys.emplace_back(address);
  } else {
    keys.emplace_back(address);
    if (split) push_unique(keys, concat({split->user, "@", a.domain}));
    for (std::string& k : access_domain_keys(a.domain, parent_domain_matches_subdomains)) {
      push_unique(keys, std::move(k));
    }
  }
  if (!a.local.empty()) {
    push_unique(keys, concat({a.local, "@"}));
    if (split) push_unique(keys, concat({split->user, "@"}));
  }
  return keys;
}

std::vector<std::string> access_client_address_keys(std::string_view address) {
  std::vector<std::string> keys;
  if (address.empty()) return keys;
  char delim = address.find(':') != std::string_view::npos ? ':' : '.';
  std::string_view rest = address;
  while (!rest.empty()) {
    keys.emplace_back(rest);
    size_t pos = rest.rfind(delim);
    if (pos == std::string_view::npos) break;
    rest = rest.substr(0, pos);
  }
  return keys;
}

std::vector<VirtualKey> virtual_search_keys(std::string_view address,
                                            std::string_view recipient_delimiters) {
  std::vector<VirtualKey> keys;
  auto add = [&keys](std::string key, bool partial, bool local_only, std::string extension) {
    for (const VirtualKey& k : keys) {
      if (k.key == key) return;
    }
    keys.push_back({std::move(key), partial, local_only, std::move(extension)});
  };
  const AddressParts a = split_address(address);
  const address::SplitLocalPart split = address::split_extension(a.local, recipient_delimiters);
  std::string extension;
  if (split.delimiter != 0)
    extension = concat({std::string_view(&split.delimiter, 1), split.extension});
  if (a.has_at) {
    add(std::string(address), false, false, "");
    if (split.delimiter != 0) add(concat({split.user, "@", a.domain}), true, false, extension);
  }
  if (!a.local.empty()) add(std::string(a.local), a.has_at, a.has_at, "");
  if (split.delimiter != 0) add(std::string(split.user), true, a.has_at, extension);
  if (a.has_at && !a.domain.empty()) add(concat({"@", a.domain}), true, false, "");
  return keys;
}

std::vector<std::string> virtual_address_keys(std::string_view address,
                                              std::string_view recipient_delimiters,
                                              bool domain_is_local) {
  std::vector<std::string> keys;
  for (VirtualKey& k : virtual_search_keys(address, recipient_delimiters)) {
    if (!k.local_only || domain_is_local) keys.push_back(std::move(k.key));
  }
  return keys;
}

}  // namespace estafeta::maps
