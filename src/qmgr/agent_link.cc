// Connections from the queue manager to its services (see agent_link.h).
#include "qmgr/agent_link.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "net/unix_socket.h"

namespace estafeta::qmgr {

bool connect_link(AgentLink& link, TimePoint now) {
  if (link.fd >= 0) return true;
  if (link.waiting.empty() || now < link.next_connect) return false;
  if (auto fd = net::connect_unix_stream(link.socket_path, SOCK_NONBLOCK); fd.ok()) {
    link.fd = *fd;
    return true;
  }
  // Not up yet (it starts with us) or restarting: the requests wait, and we try again.
  link.next_connect = now + std::chrono::seconds(1);
  return false;
}

void send_waiting(AgentLink& link) {
  if (link.fd < 0) return;
  for (auto& [id, bytes] : link.waiting) {
    link.out += bytes;
    link.in_flight.insert(id);
  }
  link.waiting.clear();
}

std::optional<std::string> link_io(AgentLink& link, short revents) {
  if (revents & POLLOUT) {
    while (!link.out.empty()) {
      ssize_t n = ::send(link.fd, link.out.data(), link.out.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (n <= 0) return std::string(std::strerror(errno));
      link.out.erase(0, size_t(n));
    }
  }
  if (revents & (POLLIN | POLLHUP | POLLERR)) {
    char chunk[64 * 1024];
    for (;;) {
      ssize_t n = ::recv(link.fd, chunk, sizeof chunk, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (n <= 0) return n == 0 ? std::string("closed by the peer") : std::strerror(errno);
      link.in.append(chunk, size_t(n));
    }
  }
  return std::nullopt;
}

std::set<uint64_t> close_link(AgentLink& link, TimePoint now) {
  ::close(link.fd);
  link.fd = -1;
  link.out.clear();
  link.in.clear();
  link.next_connect = now + std::chrono::seconds(1);
  std::set<uint64_t> lost;
  lost.swap(link.in_flight);
  return lost;
}

}  // namespace estafeta::qmgr
