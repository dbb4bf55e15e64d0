// Address masquerading (see masquerade.h).
#include "rewrite/masquerade.h"

#include "base/ascii.h"
#include "maps/search_keys.h"

namespace estafeta::rewrite {

std::string masquerade(std::string_view address, const MasqueradeRules& rules) {
  const maps::AddressParts parts = maps::split_address(address);
  if (!parts.has_at || rules.domains.empty()) return std::string(address);
  for (const std::string& name : rules.exceptions) {
    if (ascii::iequals(name, parts.local)) return std::string(address);
  }
  const std::string_view domain = parts.domain;
  for (std::string_view entry : rules.domains) {
    bool strip = true;
    while (!entry.empty() && entry.front() == '!') {
      strip = !strip;
      entry.remove_prefix(1);
    }
    if (entry.empty()) continue;
    if (entry.size() == domain.size()) {
      if (ascii::iequals(entry, domain)) break;
    } else if (entry.size() < domain.size()) {
      const std::string_view parent = domain.substr(domain.size() - entry.size());
      if (domain[domain.size() - entry.size() - 1] == '.' && ascii::iequals(entry, parent)) {
        if (!strip) break;
        std::string out(parts.local);
        out += '@';
        out += entry;
        return out;
      }
    }
  }
  return std::string(address);
}

}  // namespace estafeta::rewrite
