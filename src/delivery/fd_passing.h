// One datagram with at most one file descriptor beside it (SCM_RIGHTS) over a
// SOCK_SEQPACKET socket: the transport of delivery/privileged_delivery.h. Errors are
// Result; received descriptors are close-on-exec. Also the memfds that travel beside them: the
// writing of a whole result, a message copy sealed for a delivery child.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace estafeta::delivery {

/// Sends `bytes` as one datagram, with `fd` (borrowed) beside it when >= 0. Never raises
/// SIGPIPE (EPIPE is an error).
Status send_datagram(int socket, std::string_view bytes, int fd);

/// Writes all of `data` to `fd` (a result memfd), retrying after EINTR; false on error.
bool write_whole(int fd, std::string_view data);

/// `bytes` in a sealed memfd (close-on-exec), for a delivery child to read with pread.
Result<int> sealed_message_fd(std::string_view bytes);

struct Datagram {
  std::string bytes;
  int fd = -1;  // owned by the receiver; -1: none came
};

/// The largest datagram receive_datagram takes.
inline constexpr size_t kMaxDatagramBytes = 64 * 1024;

/// Receives one datagram of at most `max_bytes` (at most kMaxDatagramBytes). nullopt: the peer closed the socket. An
/// error: the receive failed, or the datagram was too long or carried more than one
/// descriptor (any that came are closed).
Result<std::optional<Datagram>> receive_datagram(int socket, size_t max_bytes);

}  // namespace estafeta::delivery
