// Delivery commands: fork, exec /bin/sh -c, feed, capture, time limit. See command_delivery.h.
#include "delivery/command_delivery.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "delivery/sys_exits.h"

namespace estafeta::delivery {
namespace {

constexpr size_t kKeptOutput = 2048;  // raw bytes kept; command_output_text() cuts to 1 KB

int64_t now_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// In the forked command process: never returns.
[[noreturn]] void exec_command(const DeliveryTask& task, int in, int out) {
  ::setsid();  // own session and process group: the time limit kills all of it
  if (::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(out, 2) < 0) ::_exit(71);
  ::close_range(3, ~0U, 0);
  const char* dir = task.working_directory.empty() ? "/" : task.working_directory.c_str();
  if (::chdir(dir) != 0) {
    const std::string why =
        fmt::format("4.3.0 cannot change to directory {}: {}\n", dir, std::strerror(errno));
    (void)!::write(2, why.data(), why.size());
    ::_exit(75);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig : {SIGPIPE, SIGXFSZ, SIGCHLD}) ::signal(sig, SIG_DFL);
  std::vector<char*> env;
  for (const auto& e : task.environment) env.push_back(const_cast<char*>(e.c_str()));
  env.push_back(nullptr);
  char sh[] = "/bin/sh", dash_c[] = "-c";
  char* argv[] = {sh, dash_c, const_cast<char*>(task.command.c_str()), nullptr};
  ::execve(sh, argv, env.data());
  ::_exit(71);  // EX_OSERR: temporary
}

}  // namespace

TaskResult run_delivery_command(const DeliveryTask& task, std::string_view message) {
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0)
    return deferred("4.3.0", "pipe: " + std::string(std::strerror(errno)));
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ::close(in[0]);
    ::close(in[1]);
    return deferred("4.3.0", "pipe: " + std::string(std::strerror(errno)));
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    for (int fd : {in[0], in[1], out[0], out[1]}) ::close(fd);
    return deferred("4.3.0", fmt::format("fork: {}", std::strerror(errno)), errno);
  }
  if (pid == 0) exec_command(task, in[0], out[1]);
  ::close(in[0]);
  ::close(out[1]);
  ::signal(SIGPIPE, SIG_IGN);
  ::fcntl(in[1], F_SETFL, O_NONBLOCK);
  ::fcntl(out[0], F_SETFL, O_NONBLOCK);

  // Feed stdin and drain stdout/stderr until the output closes, or the time limit.
  const int64_t deadline = now_ms() + int64_t(task.time_limit_seconds) * 1000;
  std::string output;
  size_t written = 0;
  int write_errno = 0;
  int to_child = in[1];
  if (message.empty()) {
    ::close(to_child);
    to_child = -1;
  }
  bool timed_out = false;
  int from_child = out[0];
  while (from_child >= 0) {
    const int64_t left = deadline - now_ms();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd fds[2] = {{from_child, POLLIN, 0}, {to_child, POLLOUT, 0}};
    const int n =
        ::poll(fds, to_child >= 0 ? 2 : 1, static_cast<int>(std::min<int64_t>(left, 1000)));
    if (n < 0 && errno != EINTR) break;
    if (n <= 0) continue;
    if (to_child >= 0 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t w = ::write(to_child, message.data() + written, message.size() - written);
      if (w > 0) written += static_cast<size_t>(w);
      if (w < 0 && errno != EAGAIN && errno != EINTR) {
        if (errno != EPIPE) write_errno = errno;  // EPIPE: the command stopped reading
        written = message.size();
      }
      if (written == message.size()) {
        ::close(to_child);
        to_child = -1;
      }
    }
    if (fds[0].revents & (POLLIN | POLLERR | POLLHUP)) {
      char buf[8192];
      ssize_t r = ::read(from_child, buf, sizeof buf);
      if (r > 0 && output.size() < kKeptOutput) {
        output.append(buf, std::min(static_cast<size_t>(r), kKeptOutput - output.size()));
      }
      if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
        ::close(from_child);
        from_child = -1;
      }
    }
  }
  if (to_child >= 0) ::close(to_child);
  if (from_child >= 0) ::close(from_child);

  // The command closed its output (or ran out of time): wait for it, within the limit.
  int status = 0;
  for (;;) {
    if (timed_out) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid || (w < 0 && errno != EINTR)) break;
    if (now_ms() >= deadline) {
      timed_out = true;
      continue;
    }
    timespec nap{0, 10 * 1000 * 1000};
    ::nanosleep(&nap, nullptr);
  }
  CommandEnd end;
  end.timed_out = timed_out;
  end.signaled = !timed_out && WIFSIGNALED(status);
  end.signal = end.signaled ? WTERMSIG(status) : 0;
  end.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
  end.write_errno = write_errno;
  return command_result(end, task.command, command_output_text(output));
}

}  // namespace estafeta::delivery
