// Address canonicalization (see canonical_form.h).
#include "route/canonical_form.h"

#include "maps/search_keys.h"

namespace estafeta::route {
namespace {

bool is_address_literal(std::string_view domain) {
  return !domain.empty() && domain.front() == '[';
}

}  // namespace

std::string canonical_form(const RouteSettings& settings, std::string_view address) {
  if (address.empty()) return {};
  std::string out(address);
  if (out.find('@') == std::string::npos) {
    // Only an address without '@' is source-routed this way; "a!b@c" is left to the resolver.
    if (settings.swap_bangpath) {
      if (auto bang = out.find('!');
          bang != std::string::npos && bang > 0 && bang + 1 < out.size()) {
        out = out.substr(bang + 1) + "@" + out.substr(0, bang);
      }
    }
    if (out.find('@') == std::string::npos && settings.allow_percent_hack) {
      if (auto percent = out.rfind('%'); percent != std::string::npos && percent > 0) {
        out[percent] = '@';
      }
    }
  }
  if (out.find('@') == std::string::npos) {
    if (settings.myorigin.empty()) return out;
    return out + "@" + settings.myorigin;
  }
  maps::AddressParts parts = maps::split_address(out);
  std::string domain(parts.domain);
  while (domain.size() > 1 && domain.back() == '.' && domain[domain.size() - 2] != '.') {
    domain.pop_back();
  }
  if (settings.append_dot_mydomain && !domain.empty() && !is_address_literal(domain) &&
      domain.find('.') == std::string::npos && !settings.mydomain.empty()) {
    domain += "." + settings.mydomain;
  }
  return std::string(parts.local) + "@" + domain;
}

}  // namespace estafeta::route
