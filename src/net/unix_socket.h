// Unix-domain sockets between Estafeta's own processes: the wake-up datagrams (public/qmgr,
// public/pickup) and the stream sockets of the services (private/local, private/bounce,
// public/showq). One place for the address, the bind with its mode and the best-effort send,
// so that every process treats a too-long path and a missing listener the same way.
#pragma once

#include <sys/stat.h>
#include <sys/un.h>

#include <string>
#include <string_view>

#include "base/result.h"

namespace estafeta::net {

// Every call below fails (DatagramSender: does not send) when `path` does not fit a unix
// socket address.

/// A socket of `type` (SOCK_STREAM or SOCK_DGRAM; close-on-exec, plus `flags` such as
/// SOCK_NONBLOCK) bound at `path` after removing a stale socket there, then given
/// permissions `mode`; listening when a stream.
Result<int> bind_unix_socket(const std::string& path, int type, mode_t mode, int flags = 0);

/// A stream connection to the listener at `path` (close-on-exec, plus `flags`).
Result<int> connect_unix_stream(const std::string& path, int flags = 0);

/// Sends datagrams to one listening socket, best effort: never blocks, and a listener that
/// is missing or whose queue is full is reported by send() returning false (errno set), not
/// waited for. The receivers rescan on their own, so a lost datagram only delays.
class DatagramSender {
 public:
  explicit DatagramSender(const std::string& path);
  ~DatagramSender();
  DatagramSender(const DatagramSender&) = delete;
  DatagramSender& operator=(const DatagramSender&) = delete;

  /// Sends one datagram; false when it did not go (errno says why).
  bool send(std::string_view payload) const;

 private:
  int fd_ = -1;
  sockaddr_un address_{};
  bool address_ok_ = false;
};

}  // namespace estafeta::net
