// The showq service and its client (see showq_service.h).
#include "cli/showq_service.h"

#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "cli/queue_command.h"
#include "config/config.h"
#include "daemon/privileges.h"
#include "daemon/runtime.h"
#include "daemon/services.h"
#include "net/unix_socket.h"

namespace estafeta::cli {
namespace {

constexpr int kRequestTimeoutMs = 10000;

// The request line, read with a deadline: "list" or "list -j"; "" when it is anything else.
std::string read_request(int fd) {
  std::string line;
  char c;
  while (line.size() < 32) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, kRequestTimeoutMs) <= 0) return "";
    if (::read(fd, &c, 1) != 1) return "";
    if (c == '\n') break;
    line += c;
  }
  return line == "list" || line == "list -j" ? line : "";
}

// In the forked child: the listing with the connection as stdout and stderr.
[[noreturn]] void answer(int fd, const std::string& config_dir, const std::string& request) {
  ::dup2(fd, STDOUT_FILENO);
  ::dup2(fd, STDERR_FILENO);
  ::close(fd);
  std::vector<std::string> args{"list"};
  if (request == "list -j") args.push_back("-j");
  const int code = run_queue_command(config_dir, args);
  std::fflush(nullptr);
  ::_exit(code);
}

}  // namespace

int run_showq_service(const std::string& config_dir, const std::vector<std::string>& args) {
  auto readiness = daemon::Readiness::from_environment();
  auto parsed = daemon::parse_service_arguments(args);
  if (!parsed.ok()) {
    readiness.fail(fmt::format("estafeta: showq: {}\n", parsed.error().message));
    return 2;
  }
  auto loaded = config::Config::load(config_dir);
  if (!loaded.config) {
    readiness.fail(fmt::format("fatal: {}: configuration error\n", config_dir));
    return 1;
  }
  const config::Config& c = *loaded.config;
  if (auto dropped = daemon::drop_privileges(c.get("mail_owner")); !dropped.ok()) {
    readiness.fail("fatal: " + dropped.error().message + "\n");
    return 1;
  }
  const std::string path =
      daemon::absolute_path(c.get("queue_directory")) + "/" + kShowqSocket;
  auto bound = net::bind_unix_socket(path, SOCK_STREAM, 0666);
  if (!bound.ok()) {
    readiness.fail("fatal: " + bound.error().message + "\n");
    return 1;
  }
  const int listener = *bound;
  ::signal(SIGCHLD, SIG_IGN);  // children are reaped by the kernel
  ::signal(SIGPIPE, SIG_IGN);  // a reader that goes away only ends its own answer
  readiness.ready();
  for (;;) {
    const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      std::fprintf(stderr, "showq: accept: %s\n", std::strerror(errno));
      return 1;
    }
    const pid_t child = ::fork();
    if (child == 0) {
      ::close(listener);
      const std::string request = read_request(fd);
      if (request.empty()) ::_exit(2);
      answer(fd, config_dir, request);
    }
    ::close(fd);
  }
}

bool list_through_showq(const std::string& queue_directory, const std::string& request) {
  auto connected = net::connect_unix_stream(queue_directory + "/" + kShowqSocket);
  if (!connected.ok()) {
    errno = connected.error().code;
    return false;
  }
  const int fd = *connected;
  const std::string line = request + "\n";
  bool ok = ::write(fd, line.data(), line.size()) == ssize_t(line.size());
  char buffer[65536];
  ssize_t n;
  while (ok && (n = ::read(fd, buffer, sizeof buffer)) > 0) {
    ok = std::fwrite(buffer, 1, size_t(n), stdout) == size_t(n);
  }
  std::fflush(stdout);
  ::close(fd);
  return ok;
}

}  // namespace estafeta::cli
