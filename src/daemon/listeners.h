// Binding the TCP listeners of master.cf, and handing them to an exec'd smtpd. The supervisor
// binds (possibly as root, for port 25) and keeps the listening descriptors across reloads;
// each `estafeta smtpd` it execs receives its row's descriptors from 3 up, named in the
// environment (as systemd's LISTEN_FDS, with the endpoint beside each descriptor):
//   ESTAFETA_LISTEN_FDS="3=127.0.0.1:2525 4=[::1]:2525"
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace estafeta::daemon {

/// A bound, listening, non-blocking socket for host:port (numeric host, IPv4 or IPv6).
/// The error says which address failed and why ("bind 127.0.0.1:25: Permission denied").
Result<int> bind_listener(const std::string& host, uint16_t port);

/// "127.0.0.1:2525" or "[::1]:2525".
std::string endpoint_name(const std::string& host, uint16_t port);

/// The environment variable that names the descriptors passed to an exec'd service.
inline constexpr const char* kListenFdsVariable = "ESTAFETA_LISTEN_FDS";
/// The first passed descriptor (0, 1 and 2 are the standard streams).
inline constexpr int kFirstPassedFd = 3;

struct PassedListener {
  int fd = -1;
  std::string endpoint;  // "127.0.0.1:2525"
};

/// The variable's value for `endpoints` passed as descriptors 3, 4, ... in that order.
std::string encode_listen_fds(const std::vector<std::string>& endpoints);
/// Parses the value: "FD=ENDPOINT" items separated by spaces, each FD >= 3 and distinct.
Result<std::vector<PassedListener>> decode_listen_fds(std::string_view value);
/// In an exec'd service: the listeners the supervisor passed (empty when the variable is
/// not set). Unsets the variable (no program this one starts inherits it), checks that each
/// descriptor is a listening socket and marks it close-on-exec.
Result<std::vector<PassedListener>> take_passed_listeners();

}  // namespace estafeta::daemon
