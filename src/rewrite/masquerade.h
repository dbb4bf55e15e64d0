// Address masquerading (masquerade_domains, Postfix cleanup_masquerade): subdomains below a
// listed domain are stripped from the domain part ("user@host.a.example" -> "user@a.example"
// with "a.example" listed). The list is tried in order and the first entry that equals the
// domain or is a parent of it decides: a plain entry strips (unless it equals the domain,
// which is then left alone), a "!entry" protects the domain from the entries after it
// (each '!' toggles). Local parts listed in masquerade_exceptions (compared without regard
// to case, the whole local part) are never masqueraded. Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace estafeta::rewrite {

struct MasqueradeRules {
  std::vector<std::string> domains;     ///< masquerade_domains, in order
  std::vector<std::string> exceptions;  ///< masquerade_exceptions: local parts
  bool empty() const { return domains.empty(); }
};

/// The masqueraded address (the input when no rule applies).
std::string masquerade(std::string_view address, const MasqueradeRules& rules);

}  // namespace estafeta::rewrite
