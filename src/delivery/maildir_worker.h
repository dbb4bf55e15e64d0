// The long-lived Maildir workers of the privileged spawner (delivery/privileged_delivery.h):
// instead of a child per task, the spawner forks, on the agent's OpenMaildirWorker request, one
// worker per identity (uid, gid, supplementary groups and file size limit) that permanently
// becomes that identity, never root, and serves every Maildir and MaildirBatch task for it on
// threads that take turns receiving and run what they receive (delivery/receiving_threads.h, up
// to 64 tasks at once), so that concurrent deliveries into one Maildir share its new/ fsyncs
// (queue::GroupSync) as the in-process writer did. The agent sends the tasks (and their message
// descriptors) on the worker's own SOCK_SEQPACKET socket; the worker checks each as the spawner
// would (validate_task with the spawner's TaskPolicy, and the identity it serves) and answers
// with a TaskReply for that id (a MaildirBatch first with a `published` one once its copies are
// in new/, before the syncs). The agent ends a worker that has had nothing to do for
// kMaildirWorkerIdleSeconds by closing its socket; the worker finishes what it holds and exits.
// Internal to the module.
#pragma once

#include <sys/types.h>

#include <compare>
#include <cstdint>
#include <vector>

#include "delivery/delivery_task.h"

namespace estafeta::delivery {

/// How long an idle worker is kept.
inline constexpr int kMaildirWorkerIdleSeconds = 10;

/// Tasks with equal keys run in the same worker: everything of a task that sets the
/// worker's process state.
struct MaildirWorkerKey {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  uint64_t file_size_limit = 0;
  auto operator<=>(const MaildirWorkerKey&) const = default;
};

/// Whether `task` goes to a worker (Maildir, MaildirBatch) rather than a child of its own.
bool served_by_maildir_worker(const DeliveryTask& task);

MaildirWorkerKey maildir_worker_key(const DeliveryTask& task);

/// The body of a forked worker: `socket` is its end of the socket the agent was given, and
/// every other descriptor has been closed. Becomes `task.as` with `task.file_size_limit`
/// (exits 1 when that fails), then serves tasks with the key of `task` that `policy` allows
/// until the socket closes, waits for the threads in progress and exits 0.
[[noreturn]] void run_maildir_worker(int socket, const DeliveryTask& task,
                                     const TaskPolicy& policy);

}  // namespace estafeta::delivery
