// The addresses named in an address header (To, Cc, Bcc, Resent-*): RFC 5322 §3.4
// address-list, with the obsolete forms mail programs still write. Display names, comments,
// group names and source routes are dropped; each mailbox becomes its addr-spec with the
// whitespace outside quoted strings removed ("Ann <ann @ example.org>" -> "ann@example.org").
// Lenient as Sendmail and Postfix are: what cannot be parsed is skipped, never a failure.
// The same scanner reports where each addr-spec sits in the value, so address rewriting
// (canonical, masquerading) replaces exactly those bytes and keeps display names, comments,
// groups and folding. Pure; fuzzed (fuzz/message_header_addresses_fuzz.cc,
// fuzz/rewrite_header_fuzz.cc).
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace estafeta::message {

/// The addr-specs in an unfolded or folded header value (CR and LF count as white space).
std::vector<std::string> header_addresses(std::string_view value);

/// One addr-spec of a header value and where it is: value.substr(begin, end - begin) is its
/// text as written (white space, comments and a source route included when they sit between
/// its first and last character), `address` its normalized form as header_addresses() gives.
struct HeaderAddress {
  std::string address;
  size_t begin = 0;
  size_t end = 0;
};

/// The addr-specs with their byte ranges, in order; ranges never overlap.
std::vector<HeaderAddress> header_address_spans(std::string_view value);

/// `value` with each addr-spec replaced by what `rewrite` returns for its normalized form;
/// nullopt, or the unchanged address, keeps the original bytes, so an identity function
/// returns `value` unchanged.
std::string rewrite_header_addresses(
    std::string_view value,
    const std::function<std::optional<std::string>(std::string_view address)>& rewrite);

}  // namespace estafeta::message
