// The agent's side of the privileged delivery: start(), the spawner's link and the links to
// the Maildir workers. See privileged_delivery.h.
#include "delivery/privileged_delivery.h"

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "delivery/fd_passing.h"
#include "delivery/spawner.h"

namespace estafeta::delivery {

Result<std::unique_ptr<PrivilegedDelivery>> PrivilegedDelivery::start(TaskPolicy policy) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    const int code = errno;
    return make_error(fmt::format("socketpair: {}", std::strerror(code)), code);
  }
  const bool privileged = ::geteuid() == 0;
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int code = errno;
    ::close(sv[0]);
    ::close(sv[1]);
    return make_error(fmt::format("fork: {}", std::strerror(code)), code);
  }
  if (pid == 0) {
    ::close(sv[0]);
    ::_exit(run_spawner(sv[1], privileged, std::move(policy)));
  }
  ::close(sv[1]);
  return std::unique_ptr<PrivilegedDelivery>(new PrivilegedDelivery(sv[0], pid, privileged));
}

PrivilegedDelivery::PrivilegedDelivery(int socket, pid_t pid, bool privileged)
    : spawner_(socket, "delivery spawner"), pid_(pid), privileged_(privileged) {}

PrivilegedDelivery::~PrivilegedDelivery() {
  workers_.clear();  // the workers see EOF, finish and exit (the spawner reaps them)
  spawner_.shut_down("closed");
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
}

void PrivilegedDelivery::close_idle_workers() {
  // Looked at once a second at most: not a walk over every link on every delivery.
  const auto now = std::chrono::steady_clock::now();
  if (now < next_idle_check_) return;
  next_idle_check_ = now + std::chrono::seconds(1);
  for (auto it = workers_.begin(); it != workers_.end();) {
    const TaskLink& link = *it->second;
    const bool idle = link.in_flight() == 0 &&
                      now - link.last_used() >= std::chrono::seconds(kMaildirWorkerIdleSeconds);
    // A link in use elsewhere (shared_ptr held by a run()) stays until that run() is over.
    if ((idle || link.dead()) && it->second.use_count() == 1) {
      it = workers_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = batchers_.begin(); it != batchers_.end();) {
    const bool unused = it->second.use_count() == 1 && workers_.count(it->first) == 0;
    it = unused ? batchers_.erase(it) : std::next(it);
  }
}

std::shared_ptr<TaskLink> PrivilegedDelivery::worker_for(const DeliveryTask& task,
                                                         TaskResult* refusal) {
  const MaildirWorkerKey key = maildir_worker_key(task);
  std::lock_guard lock(workers_mutex_);
  close_idle_workers();
  if (auto it = workers_.find(key); it != workers_.end() && !it->second->dead()) {
    return it->second;
  }
  DeliveryTask open;
  open.kind = TaskKind::OpenMaildirWorker;
  open.as = task.as;
  open.file_size_limit = task.file_size_limit;
  TaskLink::Outcome opened = spawner_.run(open, -1, /*accept_fd=*/true);
  if (opened.result.status != TaskStatus::Delivered || opened.received_fd < 0) {
    if (opened.received_fd >= 0) ::close(opened.received_fd);
    if (opened.result.status == TaskStatus::Delivered) {
      opened.result = deferred("4.3.0", "delivery spawner: no socket to the Maildir worker");
    }
    *refusal = std::move(opened.result);
    return nullptr;
  }
  auto link = std::make_shared<TaskLink>(opened.received_fd, "Maildir worker");
  workers_[key] = link;
  return link;
}

TaskResult PrivilegedDelivery::run(const DeliveryTask& task, int message_fd,
                                   const std::function<void()>& published) {
  if (!served_by_maildir_worker(task)) return spawner_.run(task, message_fd).result;
  // A worker that died since its last task is found out when the task cannot be sent; then
  // (nothing was done) the task goes to a new worker, once.
  for (int attempt = 0;; ++attempt) {
    TaskResult refusal;
    std::shared_ptr<TaskLink> worker = worker_for(task, &refusal);
    if (!worker) return refusal;
    TaskLink::Outcome outcome = worker->run(task, message_fd, /*accept_fd=*/false, published);
    if (!outcome.not_sent || attempt == 1) return std::move(outcome.result);
    worker->shut_down("the Maildir worker is gone");
  }
}

std::vector<TaskResult> PrivilegedDelivery::run_maildir_copies(
    const DeliveryTask& task, std::string_view bytes, const std::function<void()>& published) {
  std::shared_ptr<MaildirBatcher> batcher;
  {
    std::lock_guard lock(workers_mutex_);
    std::shared_ptr<MaildirBatcher>& slot = batchers_[maildir_worker_key(task)];
    if (!slot) slot = std::make_shared<MaildirBatcher>();
    batcher = slot;
  }
  const MaildirBatcher::Send send = [this](const DeliveryTask& batch, std::string_view copies,
                                           const MaildirBatcher::Published& batch_published) {
    auto fd = sealed_message_fd(copies);
    if (!fd) return deferred("4.3.0", fd.error().message, fd.error().code);
    TaskResult result = run(batch, *fd, batch_published);
    ::close(*fd);
    return result;
  };
  return batcher->run(task, bytes, send, published);
}

}  // namespace estafeta::delivery
