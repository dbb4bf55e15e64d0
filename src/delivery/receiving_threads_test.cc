// ReceivingThreads: every received task runs, the threads end with the source, tasks run
// side by side up to the limit and the rest wait in the socket, threads are reused.
#include "delivery/receiving_threads.h"

#include <gtest/gtest.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "delivery/test_util.h"

namespace estafeta::delivery {
namespace {

// A SOCK_SEQPACKET pair: tests send one-byte datagrams into `in`; the threads read `out`.
struct Source {
  int in = -1, out = -1;
  Source() {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
    in = sv[0];
    out = sv[1];
  }
  ~Source() {
    if (in >= 0) ::close(in);
    ::close(out);
  }
  void send_one() { ASSERT_EQ(::send(in, "x", 1, 0), 1); }
  void end() {
    ::close(in);
    in = -1;
  }
  // One datagram, or nullopt when `in` is closed.
  template <typename Work>
  ReceivingThreads::Receive receiver(Work work) {
    return [this, work]() -> std::optional<std::function<void()>> {
      char c;
      if (::recv(out, &c, 1, 0) != 1) return std::nullopt;
      return std::function<void()>(work);
    };
  }
};

TEST(ReceivingThreads, RunsEveryReceivedTaskAndReturnsWhenTheSourceEnds) {
  Source source;
  std::atomic<int> ran{0};
  ReceivingThreads threads(4, source.receiver([&] { ++ran; }));
  std::thread server([&] { threads.run(); });
  for (int i = 0; i < 200; ++i) source.send_one();
  source.end();
  server.join();  // run() returned: every thread saw the end
  EXPECT_EQ(ran.load(), 200);
  EXPECT_LE(threads.thread_count(), 4u);
}

TEST(ReceivingThreads, RunsBlockedTasksSideBySideUpToTheLimitAndLeavesTheRestInTheSocket) {
  Source source;
  testing::BlockingTasks tasks;
  ReceivingThreads threads(3, source.receiver(tasks.task()));
  std::thread server([&] { threads.run(); });
  for (int i = 0; i < 7; ++i) source.send_one();
  tasks.wait_until_running(3);
  // Nobody receives while three run: the other four (one byte each) are still in the socket.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(threads.receiving(), 0u);
  int queued = 0;
  ASSERT_EQ(::ioctl(source.out, FIONREAD, &queued), 0);  // a SEQPACKET socket's bytes queued
  EXPECT_EQ(queued, 4);
  EXPECT_EQ(threads.thread_count(), 3u);
  tasks.release();
  source.end();
  server.join();
  EXPECT_EQ(tasks.most(), 3);
  EXPECT_EQ(tasks.finished(), 7);
}

TEST(ReceivingThreads, TasksOneAfterAnotherNeedNoNewThreads) {
  Source source;
  std::mutex m;
  std::condition_variable cv;
  int done = 0;
  ReceivingThreads threads(8, source.receiver([&] {
    std::lock_guard lock(m);
    ++done;
    cv.notify_all();
  }));
  std::thread server([&] { threads.run(); });
  for (int i = 1; i <= 50; ++i) {
    source.send_one();
    {
      std::unique_lock lock(m);
      cv.wait(lock, [&] { return done == i; });
    }
    // Every thread back at the socket before the next task comes.
    while (threads.receiving() != threads.thread_count()) std::this_thread::yield();
  }
  source.end();
  server.join();
  // The caller of run() and the one started while it ran the first task take turns.
  EXPECT_EQ(threads.thread_count(), 2u);
}

}  // namespace
}  // namespace estafeta::delivery
