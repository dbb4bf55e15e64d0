// Datagrams with a descriptor. See fd_passing.h.
#include "delivery/fd_passing.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace estafeta::delivery {
namespace {

constexpr int kMaxFds = 4;  // room to notice (and close) descriptors beyond the one allowed

Error errno_error(std::string_view what) {
  const int code = errno;
  return make_error(fmt::format("{}: {}", what, std::strerror(code)), code);
}

}  // namespace

Status send_datagram(int socket, std::string_view bytes, int fd) {
  iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
  }
  for (;;) {
    if (::sendmsg(socket, &msg, MSG_NOSIGNAL) >= 0) return {};
    if (errno != EINTR) return errno_error("sendmsg");
  }
}

Result<std::optional<Datagram>> receive_datagram(int socket, size_t max_bytes) {
  // Into the stack, then copied at its size: a string of max_bytes would be zero-filled (and
  // allocated) for every datagram.
  char buffer[kMaxDatagramBytes + 1];
  max_bytes = std::min(max_bytes, kMaxDatagramBytes);
  iovec iov{buffer, max_bytes + 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno_error("recvmsg");
  std::vector<int> fds;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      fds.push_back(fd);
    }
  }
  const bool too_long = static_cast<size_t>(n) > max_bytes || (msg.msg_flags & MSG_TRUNC);
  if (too_long || (msg.msg_flags & MSG_CTRUNC) || fds.size() > 1) {
    for (int fd : fds) ::close(fd);
    return make_error(too_long ? "datagram too long" : "more than one descriptor");
  }
  if (n == 0 && fds.empty()) return std::optional<Datagram>();
  Datagram d;
  d.bytes.assign(buffer, static_cast<size_t>(n));
  d.fd = fds.empty() ? -1 : fds[0];
  return std::optional<Datagram>(std::move(d));
}

bool write_whole(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

Result<int> sealed_message_fd(std::string_view bytes) {
  const int fd = ::memfd_create("estafeta-message", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return make_error(fmt::format("memfd_create: {}", std::strerror(errno)), errno);
  if (!write_whole(fd, bytes)) {
    const int code = errno != 0 ? errno : EIO;
    ::close(fd);
    return make_error(fmt::format("memfd write: {}", std::strerror(code)), code);
  }
  (void)::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
  return fd;
}

}  // namespace estafeta::delivery
