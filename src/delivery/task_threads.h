// A small pool of threads that stay for the next task, for the Maildir worker
// (delivery/maildir_worker.h): starting a thread per delivery cost more CPU than the delivery
// (a stack mapped, faulted in and unmapped each time, with TLB flushes on every core). A
// thread is started only when a task arrives and every existing thread is busy, up to a
// limit; beyond it tasks wait in line, first come first served. Threads are never ended
// while the pool lives: a worker's life is bounded by the spawner's idle timeout anyway.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace estafeta::delivery {

class TaskThreads {
 public:
  explicit TaskThreads(size_t max_threads);
  /// Runs every task submitted so far to its end, then joins the threads.
  ~TaskThreads();
  TaskThreads(const TaskThreads&) = delete;
  TaskThreads& operator=(const TaskThreads&) = delete;

  void submit(std::function<void()> task);

  /// Threads started so far (for tests).
  size_t thread_count() const;

 private:
  void serve();

  const size_t max_threads_;
  mutable std::mutex mutex_;
  std::condition_variable has_work_;
  std::deque<std::function<void()>> queue_;
  std::vector<std::thread> threads_;
  size_t idle_ = 0;
  bool stopping_ = false;
};

}  // namespace estafeta::delivery
