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

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

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

// The largest reply a worker may send (as privileged_delivery.cc reads them).
constexpr size_t kMaxWorkerReplyBytes = 64 * 1024;

struct Child {
  uint64_t id;
  int result_fd;  // the memfd the child writes its encoded result into
};

using Clock = std::chrono::steady_clock;

struct Worker {
  int socket = -1;         // the spawner's end
  std::set<uint64_t> ids;  // requests sent and not answered yet
  Clock::time_point idle_since;
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
    const bool wants_message = task.kind != TaskKind::ReadFile;
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
    if (served_by_maildir_worker(task)) return to_worker(id, task, request);
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
      if (it == children_.end()) continue;
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

  // The poll entries of the workers, after `fds`' first two.
  void add_worker_fds(std::vector<pollfd>& fds) const {
    for (const auto& [key, w] : workers_) fds.push_back({w.socket, POLLIN, 0});
  }

  // Handles what the workers sent (fds from add_worker_fds); false: the agent is gone.
  bool on_workers(const std::vector<pollfd>& fds) {
    bool ok = true;
    for (size_t i = 2; i < fds.size(); ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      auto it = find_worker(fds[i].fd);
      if (it != workers_.end()) ok = on_worker_reply(it) && ok;
    }
    return ok;
  }

  // Milliseconds until the next idle worker is due to end (-1: none is idle).
  int poll_timeout_ms() const {
    int timeout = -1;
    const auto now = Clock::now();
    for (const auto& [key, w] : workers_) {
      if (!w.ids.empty()) continue;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          w.idle_since + std::chrono::seconds(kMaildirWorkerIdleSeconds) - now);
      const int ms = static_cast<int>(std::max<int64_t>(0, left.count()) + 1);
      if (timeout < 0 || ms < timeout) timeout = ms;
    }
    return timeout;
  }

  // Ends the workers idle for kMaildirWorkerIdleSeconds: their socket closes, they exit.
  void end_idle_workers() {
    const auto now = Clock::now();
    for (auto it = workers_.begin(); it != workers_.end();) {
      if (it->second.ids.empty() &&
          now - it->second.idle_since >= std::chrono::seconds(kMaildirWorkerIdleSeconds)) {
        ::close(it->second.socket);
        it = workers_.erase(it);
      } else {
        ++it;
      }
    }
  }

 private:
  using Workers = std::map<MaildirWorkerKey, Worker>;

  Workers::iterator find_worker(int socket) {
    for (auto it = workers_.begin(); it != workers_.end(); ++it) {
      if (it->second.socket == socket) return it;
    }
    return workers_.end();
  }

  // Forks the worker for `task`'s identity; end() when socketpair or fork fails.
  Workers::iterator start_worker(const DeliveryTask& task) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return workers_.end();
    const pid_t pid = ::fork();
    if (pid == 0) {
      // Only the worker's socket stays open, as descriptor 3 (replacing the agent's).
      if (::dup3(sv[1], kSocket, O_CLOEXEC) < 0) ::_exit(1);
      ::close_range(kSocket + 1, ~0U, 0);
      run_maildir_worker(kSocket, task);
    }
    ::close(sv[1]);
    if (pid < 0) {
      ::close(sv[0]);
      return workers_.end();
    }
    // The worker is reaped by on_children() like any child (its pid is not in children_).
    return workers_.emplace(maildir_worker_key(task), Worker{sv[0], {}, Clock::now()}).first;
  }

  bool to_worker(uint64_t id, const DeliveryTask& task, Datagram& request) {
    auto it = workers_.find(maildir_worker_key(task));
    if (it != workers_.end() && it->second.ids.size() >= kMaxChildren) {
      ::close(request.fd);
      return reply_inline(id, deferred("4.3.0",
                                       "delivery refused: too many deliveries in "
                                       "progress"))
          .ok();
    }
    if (it == workers_.end()) it = start_worker(task);
    Status sent = it == workers_.end()
                      ? Status(make_error(fmt::format("fork: {}", std::strerror(errno))))
                      : send_datagram(it->second.socket, request.bytes, request.fd);
    ::close(request.fd);
    if (!sent.ok()) {
      if (it != workers_.end()) end_worker(it, "delivery process failed: " + sent.error().message);
      return reply_inline(id, deferred("4.3.0", "delivery worker: " + sent.error().message)).ok();
    }
    it->second.ids.insert(id);
    return true;
  }

  // Closes a worker's socket and defers what it still held.
  bool end_worker(Workers::iterator it, const std::string& why) {
    bool ok = true;
    for (uint64_t id : it->second.ids) ok = reply_inline(id, deferred("4.3.0", why)).ok() && ok;
    ::close(it->second.socket);
    workers_.erase(it);
    return ok;
  }

  // One reply from a worker, relayed when it answers a request sent to that worker; a
  // worker that closed its socket or said anything else is ended.
  bool on_worker_reply(Workers::iterator it) {
    auto datagram = receive_datagram(it->second.socket, kMaxWorkerReplyBytes);
    if (!datagram || !datagram->has_value()) {
      return end_worker(it, "delivery process failed: the Maildir worker ended");
    }
    Datagram& d = **datagram;
    auto reply = decode_reply(d.bytes);
    if (!reply || reply->result_in_fd != (d.fd >= 0) || it->second.ids.count(reply->id) == 0) {
      if (d.fd >= 0) ::close(d.fd);
      return end_worker(it, "delivery process failed: a broken reply from the Maildir worker");
    }
    Status sent = send_datagram(kSocket, d.bytes, d.fd);
    if (d.fd >= 0) ::close(d.fd);
    it->second.ids.erase(reply->id);
    if (it->second.ids.empty()) it->second.idle_since = Clock::now();
    return sent.ok();
  }

  const bool privileged_;
  const TaskPolicy policy_;
  std::map<pid_t, Child> children_;
  Workers workers_;
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
  std::vector<pollfd> fds;
  for (;;) {
    fds.assign({{kSocket, POLLIN, 0}, {kSignals, POLLIN, 0}});
    spawner.add_worker_fds(fds);
    const int ready = ::poll(fds.data(), fds.size(), spawner.poll_timeout_ms());
    if (ready < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    spawner.end_idle_workers();
    if (ready == 0) continue;
    if (!spawner.on_workers(fds)) return 0;
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
