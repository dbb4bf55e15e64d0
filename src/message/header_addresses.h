// The addresses named in an address header (To, Cc, Bcc, Resent-*): RFC 5322 §3.4
// address-list, with the obsolete forms mail programs still write. Display names, comments,
// group names and source routes are dropped; each mailbox becomes its addr-spec with the
// whitespace outside quoted strings removed ("Ann <ann @ example.org>" -> "ann@example.org").
// Lenient as Sendmail and Postfix are: what cannot be parsed is skipped, never a failure.
// Pure; fuzzed (fuzz/message_header_addresses_fuzz.cc).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace estafeta::message {

/// The addr-specs in an unfolded or folded header value (CR and LF count as white space).
std::vector<std::string> header_addresses(std::string_view value);

}  // namespace estafeta::message
