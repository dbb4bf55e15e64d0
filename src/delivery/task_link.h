// TaskLink: the agent's end of one SOCK_SEQPACKET socket that carries delivery tasks and their
// replies (delivery/delivery_task.h), to the privileged spawner or to one of the Maildir
// workers it forked (delivery/privileged_delivery.h). Requests are tagged with an id of this
// link; replies come in any order and are matched to their callers.
//
// Thread contract: run() is thread-safe and blocking. One waiting caller at a time reads
// replies and wakes only the caller each is for (no thread of its own, so that a process
// forked with this object works as well). When the other end goes away or says something
// broken, the link is dead: every run() in progress or later returns Deferred 4.3.0 (never
// hangs). Errors are results; nothing throws.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "delivery/delivery_task.h"

namespace estafeta::delivery {

class TaskLink {
 public:
  /// Takes over `socket`. `peer` names the other end in results ("delivery spawner").
  TaskLink(int socket, std::string peer);
  /// Shuts the socket down and closes it (the other end sees EOF). Precondition: no run() in
  /// progress.
  ~TaskLink();
  TaskLink(const TaskLink&) = delete;
  TaskLink& operator=(const TaskLink&) = delete;

  /// What run() says besides the result.
  struct Outcome {
    TaskResult result;
    /// The request never left: the link was dead already or the send failed. Safe to try
    /// again elsewhere (nothing was done).
    bool not_sent = false;
    /// A descriptor passed beside a reply without a result descriptor (OpenMaildirWorker's
    /// socket); -1 if none. Owned by the caller.
    int received_fd = -1;
  };

  /// Sends `task` with `message_fd` (borrowed; -1 for none) and waits for its reply.
  /// `accept_fd`: the reply may carry a descriptor of its own (received_fd); otherwise such
  /// a reply makes the link dead. `published`: when set, the task asks for a
  /// TaskReply::published (DeliveryTask::report_published), and it is called (in the
  /// caller's thread, at most once) when one comes and the result is not there yet (when
  /// both came before the caller woke, only the result counts); without it such a reply is
  /// passed over.
  Outcome run(const DeliveryTask& task, int message_fd, bool accept_fd = false,
              const std::function<void()>& published = {});

  /// Marks the link dead and shuts the socket down (the other end sees EOF).
  void shut_down(std::string why);

  /// The socket (to poll for POLLHUP; it stays open until destruction).
  int socket() const { return socket_; }
  bool dead() const;
  /// Requests sent and not answered yet, and when the last one was answered or sent.
  size_t in_flight() const;
  std::chrono::steady_clock::time_point last_used() const;

 private:
  struct Waiter {
    std::condition_variable woken;
    std::optional<TaskResult> result;
    bool published = false;       // a TaskReply::published came
    bool published_told = false;  // and run() has called its callback (once, whatever
                                  // the worker, which runs as the recipient, sends)
    bool in_callback = false;     // run() is in the callback: it cannot read replies now
    bool accept_fd = false;
    int received_fd = -1;
  };

  // Reads one reply and files it with its waiter; marks the link dead on EOF or a broken
  // reply. Called by one waiter at a time (the reader), without mutex_.
  void receive_one();
  // Wakes a waiter other than `self` still without its result and not in its callback, to
  // read replies in the caller's place. Under mutex_, with reading_ false.
  void hand_over_reading(const Waiter* self);

  const int socket_;
  const std::string peer_;
  mutable std::mutex mutex_;
  uint64_t next_id_ = 1;                 // guarded by mutex_
  bool reading_ = false;                 // a waiter is in receive_one(); guarded by mutex_
  std::string dead_;                     // non-empty: why the link is dead; guarded by mutex_
  std::map<uint64_t, Waiter*> waiting_;  // guarded by mutex_
  std::chrono::steady_clock::time_point last_used_ = std::chrono::steady_clock::now();
};

}  // namespace estafeta::delivery
