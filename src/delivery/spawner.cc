// The spawner: validate, fork a child per task, relay results. See spawner.h and
// privileged_delivery.h.
#include "delivery/spawner.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "delivery/delivery_task.h"
#include "delivery/fd_passing.h"
#include "delivery/maildir_worker.h"
#include "delivery/task_child.h"

namespace estafeta::delivery {
namespace {

constexpr int kSocket = 3;  // the spawner's descriptors after set-up
constexpr int kSignals = 4;
constexpr int kChildResult = 3;  // a child's descriptors after set-up
constexpr int kChildMessage = 4;
constexpr size_t kMaxChildren = 1024;

struct Child {
  uint64_t id;
  int result_fd;  // the memfd the child writes its encoded result into
};

Status reply_inline(uint64_t id, TaskResult result) {
  return send_datagram(kSocket, encode_reply({id, false, std::move(result)}), -1);
}

// In the forked child: never returns.
[[noreturn]] void child_main(const DeliveryTask& task, int message_fd, int result_fd) {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGCHLD, SIG_DFL);
  // Only the result memfd and the message stay open (both >= 5: 0-2 are standard, 3 and
  // 4 the spawner's socket and signalfd, which the child must not keep).
  if (::dup3(result_fd, kChildResult, O_CLOEXEC) < 0) ::_exit(1);
  if (message_fd >= 0 && ::dup3(message_fd, kChildMessage, O_CLOEXEC) < 0) ::_exit(1);
  ::close_range(message_fd >= 0 ? kChildMessage + 1 : kChildResult + 1, ~0U, 0);
  const TaskResult result = run_task_in_child(task, message_fd >= 0 ? kChildMessage : -1);
  ::_exit(write_whole(kChildResult, encode_result(result)) ? 0 : 1);
}

class Spawner {
 public:
  Spawner(bool privileged, TaskPolicy policy)
      : privileged_(privileged), policy_(std::move(policy)) {}

  // Handles one request datagram; false: the agent is gone or broken (stop).
  bool on_request(Datagram request) {
    auto decoded = decode_request(request.bytes);
    if (!decoded) {
      if (request.fd >= 0) ::close(request.fd);
      // That request alone is refused when it says which it is; otherwise the agent is
      // broken: it sees EOF, defers what it sent and exits (master starts a new one).
      const std::optional<uint64_t> id = request_id_of(request.bytes);
      if (!id) return false;
      return reply_inline(*id, deferred("4.3.0", "delivery refused: " + decoded.error().message))
          .ok();
    }
    const uint64_t id = decoded->id;
    std::optional<std::string> refusal = validate_task(decoded->task, policy_);
    const DeliveryTask& task = decoded->task;
    const bool wants_message =
        task.kind != TaskKind::ReadFile && task.kind != TaskKind::OpenMaildirWorker;
    if (!refusal && wants_message && request.fd < 0) refusal = "no message descriptor";
    if (!refusal && !privileged_ && (task.as.uid != ::getuid() || task.as.gid != ::getgid())) {
      refusal = fmt::format("cannot run as uid {} gid {}: the mail system does not run as root",
                            task.as.uid, task.as.gid);
    }
    if (!refusal && children_.size() + workers_.size() >= kMaxChildren) {
      refusal = "too many deliveries in progress";
    }
    if (refusal) {
      if (request.fd >= 0) ::close(request.fd);
      return reply_inline(id, deferred("4.3.0", "delivery refused: " + *refusal)).ok();
    }
    if (task.kind == TaskKind::OpenMaildirWorker) {
      if (request.fd >= 0) ::close(request.fd);
      return open_worker(id, task);
    }
    const int message_fd = wants_message ? request.fd : -1;
    if (!wants_message && request.fd >= 0) ::close(request.fd);
    const int result_fd = ::memfd_create("estafeta-delivery-result", MFD_CLOEXEC);
    if (result_fd < 0) {
      if (message_fd >= 0) ::close(message_fd);
      return reply_inline(id,
                          deferred("4.3.0", fmt::format("memfd_create: {}", std::strerror(errno))))
          .ok();
    }
    const pid_t pid = ::fork();
    if (pid == 0) child_main(task, message_fd, result_fd);
    if (message_fd >= 0) ::close(message_fd);
    if (pid < 0) {
      ::close(result_fd);
      return reply_inline(id, deferred("4.3.0", fmt::format("fork: {}", std::strerror(errno))))
          .ok();
    }
    children_[pid] = Child{id, result_fd};
    return true;
  }

  // Reaps every finished child and relays its result; false: the agent is gone.
  bool on_children() {
    bool ok = true;
    int status = 0;
    pid_t pid;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
      auto it = children_.find(pid);
      if (it == children_.end()) {
        workers_.erase(pid);
        continue;
      }
      const Child child = it->second;
      children_.erase(it);
      Status sent;
      if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        sent = send_datagram(kSocket, encode_reply({child.id, true, {}}), child.result_fd);
      } else {
        const std::string how = WIFSIGNALED(status)
                                    ? fmt::format("killed by signal {}", WTERMSIG(status))
                                    : fmt::format("exit status {}", WEXITSTATUS(status));
        sent = reply_inline(child.id, deferred("4.3.0", "delivery process failed: " + how));
      }
      ::close(child.result_fd);
      ok = ok && sent.ok();
    }
    return ok;
  }

 private:
  // Forks the Maildir worker for `task`'s identity and answers with the agent's end of a
  // socket to it (the worker is reaped by on_children() like any child; workers count
  // towards kMaxChildren while they live). The worker validates what comes on that socket
  // itself.
  bool open_worker(uint64_t id, const DeliveryTask& task) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
      return reply_inline(id, deferred("4.3.0", fmt::format("socketpair: {}",
                                                             std::strerror(errno))))
          .ok();
    }
    const pid_t pid = ::fork();
    if (pid == 0) {
      // Only the worker's socket stays open, as descriptor 3 (replacing the agent's).
      if (::dup3(sv[1], kSocket, O_CLOEXEC) < 0) ::_exit(1);
      ::close_range(kSocket + 1, ~0U, 0);
      run_maildir_worker(kSocket, task, policy_);
    }
    ::close(sv[1]);
    if (pid < 0) {
      ::close(sv[0]);
      return reply_inline(id, deferred("4.3.0", fmt::format("fork: {}", std::strerror(errno))))
          .ok();
    }
    workers_.insert(pid);
    const Status sent = send_datagram(
        kSocket, encode_reply({id, false, TaskResult{TaskStatus::Delivered, "2.0.0",
                                                     "Maildir worker started", {}, 0, {}}}),
        sv[0]);
    ::close(sv[0]);  // the worker sees EOF at once if the agent did not get it
    return sent.ok();
  }

  const bool privileged_;
  const TaskPolicy policy_;
  std::map<pid_t, Child> children_;
  std::set<pid_t> workers_;  // Maildir workers not reaped yet
};

}  // namespace

int run_spawner(int socket, bool privileged, TaskPolicy policy) {
  if (socket != kSocket) {
    if (::dup2(socket, kSocket) < 0) return 1;
    ::close(socket);
  }
  // Standard descriptors open (on /dev/null when the agent had closed them), so that every
  // descriptor received or made later is >= 5 (see child_main).
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) < 0 && ::open("/dev/null", O_RDWR) != fd) return 1;
  }
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  ::sigprocmask(SIG_SETMASK, &chld, nullptr);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::signal(sig, SIG_DFL);
  }
  ::signal(SIGPIPE, SIG_IGN);
  const int signals = ::signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (signals < 0 || (signals != kSignals && ::dup3(signals, kSignals, O_CLOEXEC) < 0)) return 1;
  ::fcntl(kSocket, F_SETFD, FD_CLOEXEC);
  ::close_range(kSignals + 1, ~0U, 0);  // nothing of the agent's stays open here
  Spawner spawner(privileged, std::move(policy));
  for (;;) {
    pollfd fds[2] = {{kSocket, POLLIN, 0}, {kSignals, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    if (fds[1].revents & POLLIN) {
      signalfd_siginfo info;
      while (::read(kSignals, &info, sizeof info) == sizeof info) {
      }
      if (!spawner.on_children()) return 0;
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      auto request = receive_datagram(kSocket, kMaxTaskRequestBytes);
      if (!request || !request->has_value()) return 0;  // the agent closed the socket
      if (!spawner.on_request(std::move(**request))) return 0;
    }
  }
}

}  // namespace estafeta::delivery
