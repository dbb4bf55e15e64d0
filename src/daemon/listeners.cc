// TCP listener binding (see listeners.h).
#include "daemon/listeners.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <set>

namespace estafeta::daemon {

std::string endpoint_name(const std::string& host, uint16_t port) {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

Result<int> bind_listener(const std::string& host, uint16_t port) {
  sockaddr_storage storage{};
  socklen_t length = 0;
  int family = AF_INET;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    length = sizeof *v4;
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    family = AF_INET6;
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    length = sizeof *v6;
  } else {
    return make_error(fmt::format("listener {}: not a numeric address", host));
  }
  std::string name = endpoint_name(host, port);
  int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    const int code = errno;
    return make_error(fmt::format("socket {}: {}", name, std::strerror(code)), code);
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0 || ::listen(fd, 1024) != 0) {
    int saved = errno;
    ::close(fd);
    return make_error(fmt::format("bind {}: {}", name, std::strerror(saved)), saved);
  }
  return fd;
}

std::string encode_listen_fds(const std::vector<std::string>& endpoints) {
  std::string value;
  for (size_t i = 0; i < endpoints.size(); ++i) {
    value += fmt::format("{}{}={}", i == 0 ? "" : " ", kFirstPassedFd + int(i), endpoints[i]);
  }
  return value;
}

Result<std::vector<PassedListener>> decode_listen_fds(std::string_view value) {
  std::vector<PassedListener> out;
  std::set<int> seen;
  size_t i = 0;
  while (i < value.size()) {
    size_t end = value.find(' ', i);
    if (end == std::string_view::npos) end = value.size();
    std::string_view item = value.substr(i, end - i);
    i = end + 1;
    if (item.empty()) continue;
    size_t eq = item.find('=');
    int fd = -1;
    auto [ptr, ec] = std::from_chars(item.data(), item.data() + (eq == item.npos ? 0 : eq), fd);
    if (eq == item.npos || eq == 0 || ec != std::errc() || ptr != item.data() + eq ||
        fd < kFirstPassedFd || eq + 1 == item.size() || !seen.insert(fd).second) {
      return make_error(fmt::format("{}: bad item \"{}\"", kListenFdsVariable, item));
    }
    out.push_back({fd, std::string(item.substr(eq + 1))});
  }
  return out;
}

Result<std::vector<PassedListener>> take_passed_listeners() {
  const char* raw = std::getenv(kListenFdsVariable);
  if (raw == nullptr) return std::vector<PassedListener>{};
  std::string value = raw;
  ::unsetenv(kListenFdsVariable);
  auto passed = decode_listen_fds(value);
  if (!passed.ok()) return passed.error();
  for (const auto& listener : *passed) {
    int accepting = 0;
    socklen_t length = sizeof accepting;
    if (::getsockopt(listener.fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &length) != 0 ||
        accepting == 0) {
      return make_error(fmt::format("{}: descriptor {} ({}) is not a listening socket",
                                    kListenFdsVariable, listener.fd, listener.endpoint));
    }
    ::fcntl(listener.fd, F_SETFD, FD_CLOEXEC);
  }
  return passed;
}

}  // namespace estafeta::daemon
