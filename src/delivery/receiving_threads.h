// Threads that take turns receiving from one source and each run what it received: the
// Maildir worker's (delivery/maildir_worker.h) way to serve a socket without a hand-off. A
// thread that receives a task runs it itself; before it does, it makes sure another thread
// waits to receive (starting one, up to a limit), so tasks still run side by side. Against
// one thread receiving for a pool (delivery/task_threads.h) this saves a wake-up and a
// context switch per task, which on the machines measured cost more than the receiving.
// When every thread is busy, what comes waits where it is (in the socket) until one is free.
//
// Thread contract: run() is called once; `receive` is called by several threads at once
// (a socket's recvmsg is safe so), and must return nullopt to every caller once it has
// returned nullopt to one (a closed socket does; a receive that fails must make it so, e.g.
// by shutting the socket's reading side down). A `receive` or a task that throws ends the
// process (std::terminate), as in any thread.
#pragma once

#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace estafeta::delivery {

class ReceivingThreads {
 public:
  /// What a thread received: the work to run. nullopt: the source has ended.
  using Receive = std::function<std::optional<std::function<void()>>()>;

  ReceivingThreads(size_t max_threads, Receive receive);
  ReceivingThreads(const ReceivingThreads&) = delete;
  ReceivingThreads& operator=(const ReceivingThreads&) = delete;

  /// Serves in the calling thread and in up to max_threads - 1 more until the source ends;
  /// returns once every thread has finished what it received and ended.
  void run();

  /// Threads started so far, the caller of run() included, also after run() (for tests).
  size_t thread_count() const;
  /// Threads waiting in `receive` now, or started and on their way to it (for tests).
  size_t receiving() const;

 private:
  void serve();

  const size_t max_threads_;
  const Receive receive_;
  mutable std::mutex mutex_;
  std::vector<std::thread> threads_;  // guarded by mutex_; the caller of run() not among them
  size_t started_ = 0;                // threads ever started (threads_ is emptied by run())
  size_t receiving_ = 0;              // threads in receive_, or started and on their way to it
  bool ended_ = false;                // a thread has seen the end: no thread is started
};

}  // namespace estafeta::delivery
