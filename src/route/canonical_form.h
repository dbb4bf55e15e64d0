// The first half of Postfix's trivial-rewrite: an address as written by a client or a user
// turned into the canonical user@domain form that every later stage (canonical and virtual
// tables, the resolver, the queue) works on. "site!user" becomes "user@site"
// (swap_bangpath), "user%site" becomes "user@site" (allow_percent_hack), an unqualified
// "user" gets "@$myorigin", "user@host" gets ".$mydomain" with append_dot_mydomain, and a
// trailing dot of the domain is dropped. The null address stays empty. Pure.
#pragma once

#include <string>
#include <string_view>

#include "route/route_settings.h"

namespace estafeta::route {

std::string canonical_form(const RouteSettings& settings, std::string_view address);

}  // namespace estafeta::route
