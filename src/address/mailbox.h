// RFC 5321 §4.1.2 Path and Mailbox: "<>", "<local@domain>", "<@relay,@relay:local@domain>".
// The parser is strict RFC 5321 (dot-atoms, quoted strings, domains, [IPv4] and [IPv6:...]
// literals) plus RFC 6531 UTF-8 when SMTPUTF8 is in effect; source routes are checked and
// dropped (§4.1.1.3, appendix C). Length limits: local part 64, domain 255, path 256 octets.
// Unqualified "<postmaster>" is accepted (§4.1.1.3). Pure; errors carry a short reason.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace estafeta::address {

constexpr size_t kMaxLocalPartLength = 64;  // RFC 5321 §4.5.3.1.1
constexpr size_t kMaxPathLength = 256;      // RFC 5321 §4.5.3.1.3, with the angle brackets

struct Mailbox {
  std::string local_part;  // unquoted: "john doe" for "\"john doe\"@example.org"
  std::string domain;      // as sent ("Example.ORG", "[192.0.2.1]"); "" only for postmaster
  /// The canonical RFC 5321 text: local part quoted only where a dot-string cannot hold it.
  std::string text() const;
};

struct Path {
  bool is_null = false;  // "<>"
  Mailbox mailbox;       // empty when is_null
  /// "" for the null path, else mailbox.text().
  std::string address() const { return is_null ? std::string() : mailbox.text(); }
};

struct ParseOptions {
  bool smtputf8 = false;    // RFC 6531: UTF-8 allowed in local part and domain
  bool allow_null = false;  // "<>" is a valid reverse-path, never a forward-path
};

/// Parses a path including its angle brackets. Never fails on any input other than by
/// returning an Error.
Result<Path> parse_path(std::string_view text, const ParseOptions& options);

/// Parses a bare mailbox "local@domain" (no brackets, no source route).
Result<Mailbox> parse_mailbox(std::string_view text, const ParseOptions& options);

/// True if `local` can be written as an RFC 5321 Dot-string (no quoting needed).
bool is_dot_string(std::string_view local, bool utf8);

/// `local` as a Dot-string if possible, else as a Quoted-string with '"' and '\' escaped.
std::string quote_local_part(std::string_view local);

}  // namespace estafeta::address
