// Unix-domain sockets between Estafeta's processes (see unix_socket.h).
#include "net/unix_socket.h"

#include <fmt/format.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace estafeta::net {
namespace {

Error socket_error(std::string_view what, const std::string& path) {
  const int code = errno;
  return make_error(fmt::format("{} {}: {}", what, path, std::strerror(code)), code);
}

// The address of the socket at `path`; an error when the path does not fit sun_path.
Result<sockaddr_un> unix_address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    return make_error(fmt::format("{}: path too long for a unix socket", path));
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

}  // namespace

Result<int> bind_unix_socket(const std::string& path, int type, mode_t mode, int flags) {
  auto addr = unix_address(path);
  if (!addr.ok()) return addr.error();
  const int fd = ::socket(AF_UNIX, type | SOCK_CLOEXEC | flags, 0);
  if (fd < 0) return socket_error("socket for", path);
  ::unlink(path.c_str());
  // bind, then chmod: no umask change, which would touch every thread's file creation. The
  // socket's directory (private/ 0700, public/ for the world) guards the moment between.
  const bool bound = ::bind(fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) == 0;
  if (!bound || ::chmod(path.c_str(), mode) != 0 ||
      (type == SOCK_STREAM && ::listen(fd, 64) != 0)) {
    Error error = socket_error("bind", path);
    ::close(fd);
    return error;
  }
  return fd;
}

Result<int> connect_unix_stream(const std::string& path, int flags) {
  auto addr = unix_address(path);
  if (!addr.ok()) return addr.error();
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
  if (fd < 0) return socket_error("socket for", path);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) != 0) {
    Error error = socket_error("connect", path);
    ::close(fd);
    return error;
  }
  return fd;
}

DatagramSender::DatagramSender(const std::string& path) {
  auto addr = unix_address(path);
  if (!addr.ok()) return;
  address_ = *addr;
  address_ok_ = true;
  fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
}

DatagramSender::~DatagramSender() {
  if (fd_ >= 0) ::close(fd_);
}

bool DatagramSender::send(std::string_view payload) const {
  if (!address_ok_ || fd_ < 0) {
    errno = address_ok_ ? EBADF : ENAMETOOLONG;
    return false;
  }
  return ::sendto(fd_, payload.data(), payload.size(), MSG_DONTWAIT,
                  reinterpret_cast<const sockaddr*>(&address_), sizeof address_) >= 0;
}

}  // namespace estafeta::net
