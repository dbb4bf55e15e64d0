// A Maildir worker process: one identity, tasks on the threads that receive them, shared new/
// syncs. See maildir_worker.h.
#include "delivery/maildir_worker.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "delivery/fd_passing.h"
#include "delivery/receiving_threads.h"
#include "delivery/task_child.h"
#include "delivery/task_privileges.h"
#include "delivery/task_threads.h"
#include "queue/group_sync.h"

namespace estafeta::delivery {
namespace {

// Larger results travel in a memfd, as a delivery child's do.
constexpr size_t kMaxInlineReply = 32 * 1024;

// Tasks in progress at once; more wait in the socket. Above the agents' usual concurrency per
// destination (20), so that concurrent deliveries share new/ syncs, and above what one agent
// can have with a worker (32 threads, one task each; the virtual agent's batcher 4 batches):
// a thread always waits at the socket, so an agent's send never waits for a busy worker
// (with every thread busy, the socket would hold 11 datagrams, net.unix.max_dgram_qlen + 1,
// and further sends would block until a task ends).
constexpr size_t kMaxTaskThreads = 64;
// Threads that sync and rename a batch's copies in parallel (task_child.h): one per copy of
// a write-ahead round, so that every fsync of the round starts at once and they share one
// commit (with 16, a batch of 20 waited for a second round: its publishing took about 0.4
// ms longer on a journaled ext4).
constexpr size_t kMaxPublishThreads = kMaildirCopiesWrittenAhead;

void send_result(int socket, uint64_t id, TaskResult result) {
  std::string inline_reply = encode_reply({id, false, result});
  if (inline_reply.size() <= kMaxInlineReply) {
    (void)send_datagram(socket, inline_reply, -1);
    return;
  }
  const int fd = ::memfd_create("estafeta-delivery-result", MFD_CLOEXEC);
  if (fd < 0 || !write_whole(fd, encode_result(result))) {
    if (fd >= 0) ::close(fd);
    (void)send_datagram(socket,
                        encode_reply({id, false, deferred("4.3.0", "cannot pass the result")}), -1);
    return;
  }
  (void)send_datagram(socket, encode_reply({id, true, {}}), fd);
  ::close(fd);
}

// What the receiving threads of one worker share: each asks next() for its next task.
// Serving ends for every thread when the agent closes its socket, when a receive fails (say,
// no descriptor left for the one passed beside a request) or when a request is beyond
// repair: the tasks in progress are answered, and the agent sees EOF when the worker exits
// (it defers what is unanswered, and a retry finds its Maildir names taken).
class TaskReceiver {
 public:
  TaskReceiver(int socket, MaildirWorkerKey key, const TaskPolicy& policy, queue::GroupSync& syncs,
               TaskThreads& publishers)
      : socket_(socket),
        key_(std::move(key)),
        policy_(policy),
        syncs_(syncs),
        publishers_(publishers) {}

  /// The next task to run; nullopt once serving has ended. Answers what it refuses itself.
  std::optional<std::function<void()>> next() {
    for (;;) {
      if (stop_serving_) return std::nullopt;
      auto received = receive_datagram(socket_, kMaxTaskRequestBytes);
      if (!received || !received->has_value()) return stop();
      Datagram d = std::move(**received);
      auto request = decode_request(d.bytes);
      if (!request) {
        if (d.fd >= 0) ::close(d.fd);
        // Refused alone when it says which it is; otherwise the agent is broken.
        const std::optional<uint64_t> id = request_id_of(d.bytes);
        if (!id) return stop();
        send_result(socket_, *id,
                    deferred("4.3.0", "delivery refused: " + request.error().message));
        continue;
      }
      if (std::optional<std::string> refusal = refusal_of(request->task, d.fd)) {
        if (d.fd >= 0) ::close(d.fd);
        send_result(socket_, request->id, deferred("4.3.0", "delivery refused: " + *refusal));
        continue;
      }
      return task_of(request->id, d.fd, std::move(request->task));
    }
  }

 private:
  // Why this worker does not run `task` (with `fd` passed beside it), if it does not.
  std::optional<std::string> refusal_of(const DeliveryTask& task, int fd) const {
    if (std::optional<std::string> refusal = validate_task(task, policy_)) return refusal;
    if (!served_by_maildir_worker(task) || maildir_worker_key(task) != key_) {
      return "not this worker's task";
    }
    if (fd < 0) return "no message descriptor";
    return std::nullopt;
  }

  // The work of running task `id` on the message in `fd`, and answering.
  std::function<void()> task_of(uint64_t id, int fd, DeliveryTask task) {
    return [this, id, fd, t = std::move(task)] {
      // A batch says when its copies are in new/, before the new/ syncs (the agent's queue
      // manager may start the next delivery then; the result follows).
      std::function<void()> published;
      if (t.report_published) {
        published = [socket = socket_, id] {
          (void)send_datagram(socket, encode_reply({id, false, {}, /*published=*/true}), -1);
        };
      }
      TaskResult result = run_maildir_task(t, fd, syncs_, &publishers_, published);
      ::close(fd);
      send_result(socket_, id, std::move(result));
    };
  }

  std::nullopt_t stop() {
    stop_serving_ = true;
    // Wakes the other threads waiting in receive_datagram (they see the end); one that
    // already passed the check in next() may still take a request queued before, and
    // answers it.
    ::shutdown(socket_, SHUT_RD);
    return std::nullopt;
  }

  const int socket_;
  const MaildirWorkerKey key_;
  const TaskPolicy& policy_;
  queue::GroupSync& syncs_;
  TaskThreads& publishers_;
  std::atomic<bool> stop_serving_{false};
};

}  // namespace

bool served_by_maildir_worker(const DeliveryTask& task) {
  return task.kind == TaskKind::Maildir || task.kind == TaskKind::MaildirBatch;
}

MaildirWorkerKey maildir_worker_key(const DeliveryTask& task) {
  return {task.as.uid, task.as.gid, task.as.groups, task.file_size_limit};
}

void run_maildir_worker(int socket, const DeliveryTask& task, const TaskPolicy& policy) {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGCHLD, SIG_DFL);
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGXFSZ, SIG_IGN);  // a write over the file size limit fails with EFBIG instead
  ::umask(077);
  if (task.file_size_limit != 0) {
    const rlimit limit{task.file_size_limit, task.file_size_limit};
    ::setrlimit(RLIMIT_FSIZE, &limit);
  }
  if (!become(task.as).ok()) ::_exit(1);
  queue::GroupSync syncs;
  {
    // Declared after `syncs`: the publishing threads outlive the tasks that wait for them.
    TaskThreads publishers(kMaxPublishThreads);
    TaskReceiver receiver(socket, maildir_worker_key(task), policy, syncs, publishers);
    // The thread that receives a task runs it (receiving_threads.h).
    ReceivingThreads(kMaxTaskThreads, [&receiver] { return receiver.next(); }).run();
  }  // every task finished and answered
  ::_exit(0);
}

}  // namespace estafeta::delivery
