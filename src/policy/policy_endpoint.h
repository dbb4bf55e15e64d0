// Where a check_policy_service server listens, from the name Postfix's main.cf gives it:
//   inet:host:port        TCP; host is a name or an address, an IPv6 one in brackets
//                         ("inet:[::1]:9998"); port is a number
//   unix:/path/name       a UNIX-domain stream socket ("local:" is accepted too)
//   unix:private/name     a relative path is relative to the queue directory, as in Postfix
//   private/name, public/name, /path/name   the same without the "unix:" prefix
// Pure: no name is resolved and no file is looked at.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace estafeta::policy {

struct PolicyEndpoint {
  enum class Kind { Inet, Unix };
  Kind kind = Kind::Unix;
  std::string host;   // Inet: a host name or address (no brackets)
  uint16_t port = 0;  // Inet
  std::string path;   // Unix: the socket's path (absolute when queue_directory is)
};

/// The endpoint `service` names; relative UNIX paths are joined to `queue_directory`. An
/// Error says why the name is unusable ("bad port in inet:host:x").
Result<PolicyEndpoint> parse_policy_endpoint(std::string_view service,
                                             std::string_view queue_directory);

}  // namespace estafeta::policy
