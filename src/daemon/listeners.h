// Binding the TCP listeners of master.cf. Done by the supervisor (possibly as root, for port
// 25) before any worker exists; workers inherit the listening descriptors.
#pragma once

#include <string>

#include "base/result.h"

namespace estafeta::daemon {

/// A bound, listening, non-blocking socket for host:port (numeric host, IPv4 or IPv6).
/// The error says which address failed and why ("bind 127.0.0.1:25: Permission denied").
Result<int> bind_listener(const std::string& host, uint16_t port);

/// "127.0.0.1:2525" or "[::1]:2525".
std::string endpoint_name(const std::string& host, uint16_t port);

}  // namespace estafeta::daemon
