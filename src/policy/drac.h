// DRAC (POP-before-SMTP) grants, the pure part (an Estafeta addition; docs/drac.md): a
// client address recorded after a successful POP or IMAP login may relay until drac_timeout
// has passed since the grant. This file has the grant's key (the address in canonical
// numeric form, which is also its file name and Redis key suffix), its stored text (the
// grant time in seconds since the epoch) and the expiry rule. The store is
// daemon/drac_store.h. Pure: time is passed in.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace estafeta::policy {

using DracTime = std::chrono::system_clock::time_point;

/// The canonical numeric form of an IPv4 or IPv6 address ("192.0.2.1", "2001:db8::1"; an
/// IPv4-mapped IPv6 address becomes its IPv4 form, as smtpd reports such clients). An Error
/// for anything else (names, brackets, prefixes, scope ids): a key is also a file name, so
/// only canonical numeric addresses are accepted.
Result<std::string> drac_address_key(std::string_view address);

/// The stored text of a grant made at `granted`: its seconds since the epoch and a newline.
std::string format_drac_grant(DracTime granted);

/// The grant time from stored text; nullopt when the text is not one (or lies past the
/// year 2255).
std::optional<DracTime> parse_drac_grant(std::string_view text);

/// Whether a grant made at `granted` still permits at `now`: less than `timeout` has passed
/// (a grant stamped in the future by a clock step is taken as made now).
bool drac_grant_active(DracTime granted, DracTime now, std::chrono::seconds timeout);

}  // namespace estafeta::policy
