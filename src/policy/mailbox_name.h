// Which local parts may name a mailbox directory. Used by smtpd at RCPT time (refuse early)
// and by the delivery agent (refuse again: never trust the queue file to be well-formed).
// Security: the result becomes a path component under mail_spool_directory, so it must not
// be able to climb out of it ("..", "/") or hide ("." prefix) or carry control bytes.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/ascii.h"

namespace estafeta::policy {

/// The directory name for a local part: lower-cased; nullopt if it is empty, longer than 64
/// octets (RFC 5321 §4.5.3.1.1), starts with '.', or contains '/', a control byte or space.
inline std::optional<std::string> mailbox_name(std::string_view local_part) {
  if (local_part.empty() || local_part.size() > 64 || local_part.front() == '.') {
    return std::nullopt;
  }
  for (char c : local_part) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '/' || u < 0x21 || u == 0x7f) return std::nullopt;
  }
  return ascii::lower(local_part);
}

}  // namespace estafeta::policy
