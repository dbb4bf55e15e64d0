// The delivery agents' request server. See agent_server.h.
#include "delivery/agent_server.h"

#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/signal_fd.h"
#include "queue/background_thread.h"

namespace estafeta::delivery {
namespace {

// One connection from the queue manager: a reader thread takes requests off it; the pool's
// threads write the replies (one at a time).
struct Connection {
  int fd = -1;
  std::mutex write_mutex;
  bool broken = false;  // guarded by write_mutex
  ~Connection() {
    if (fd >= 0) ::close(fd);
  }
  // No reply can reach the queue manager any more (a send failed, or we shut the connection
  // down over a bad request): it defers what it did not hear of and sends it again, so the
  // requests of this connection not yet delivered are dropped, not delivered unheard.
  void mark_broken() {
    std::lock_guard lock(write_mutex);
    broken = true;
  }
  bool is_broken() {
    std::lock_guard lock(write_mutex);
    return broken;
  }
  void send(const std::string& bytes) {
    std::lock_guard lock(write_mutex);
    std::string_view rest = bytes;
    while (!broken && !rest.empty()) {
      ssize_t n = ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        broken = true;  // the queue manager went away: it defers what it did not hear of
        break;
      }
      rest.remove_prefix(size_t(n));
    }
  }
};

class Server {
 public:
  // `burst_limit`: the most requests of one read handed to `deliver` together.
  Server(const DeliverBurstFunction& deliver, size_t burst_limit, const log::Logger& log)
      : deliver_(deliver), burst_limit_(burst_limit), log_(log) {}

  void start_workers(int threads) {
    for (int i = 0; i < std::max(threads, 1); ++i) workers_.emplace_back([this] { work(); });
  }

  void add_connection(int fd) {
    auto c = std::make_shared<Connection>();
    c->fd = fd;
    std::lock_guard lock(mutex_);
    connections_.push_back(c);
    readers_.emplace_back([this, c] { read(c); });
  }

  // Stops reading new requests, lets the workers finish the queued ones, joins everything.
  void stop() {
    {
      std::lock_guard lock(mutex_);
      for (auto& weak : connections_) {
        if (auto c = weak.lock()) ::shutdown(c->fd, SHUT_RD);
      }
    }
    for (auto& t : readers_) t.join();
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }

 private:
  struct Job {
    std::shared_ptr<Connection> connection;
    std::vector<qmgr::AgentRequest> requests;
  };

  void read(std::shared_ptr<Connection> c) {
    std::string buffer;
    char chunk[64 * 1024];
    for (;;) {
      ssize_t n = ::recv(c->fd, chunk, sizeof chunk, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      buffer.append(chunk, size_t(n));
      // Every whole request of this read, in jobs of at most burst_limit_ requests.
      std::vector<Job> jobs;
      for (;;) {
        auto taken = qmgr::take_request(buffer);
        if (!taken.ok()) {
          // Nothing of this connection is answered now: its requests are not delivered
          // either (the queue manager sends them again), this read's nor earlier ones.
          log_.warning("bad request from the queue manager: {}", taken.error().message);
          c->mark_broken();
          ::shutdown(c->fd, SHUT_RDWR);
          return;
        }
        if (!taken->has_value()) break;
        if (jobs.empty() || jobs.back().requests.size() >= burst_limit_) jobs.push_back(Job{c, {}});
        jobs.back().requests.push_back(std::move(**taken));
      }
      if (!jobs.empty()) {
        {
          std::lock_guard lock(mutex_);
          for (Job& job : jobs) jobs_.push_back(std::move(job));
        }
        if (jobs.size() == 1) {
          cv_.notify_one();
        } else {
          cv_.notify_all();
        }
      }
    }
  }

  void work() {
    for (;;) {
      Job job;
      {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
        if (jobs_.empty()) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      if (job.connection->is_broken()) continue;  // its replies could not be sent
      const ResultsFollowFunction results_follow = [&job](const std::vector<uint64_t>& ids) {
        std::string bytes;
        for (uint64_t id : ids) {
          qmgr::AgentReply early;
          early.id = id;
          early.results_follow = true;
          bytes += qmgr::encode_reply(early);
        }
        job.connection->send(bytes);
      };
      std::vector<qmgr::AgentReply> replies = deliver_(job.requests, results_follow);
      std::string bytes;
      for (const qmgr::AgentReply& reply : replies) bytes += qmgr::encode_reply(reply);
      job.connection->send(bytes);
    }
  }

  const DeliverBurstFunction& deliver_;
  const size_t burst_limit_;
  const log::Logger& log_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;                                // guarded by mutex_
  bool stopping_ = false;                               // guarded by mutex_
  std::vector<std::weak_ptr<Connection>> connections_;  // guarded by mutex_
  std::vector<std::thread> readers_;                    // guarded by mutex_ while serving
  std::vector<std::thread> workers_;
};

int serve(int listen_fd, int threads, const DeliverBurstFunction& deliver, size_t burst_limit,
          const log::Logger& log, int spawner_exit_fd) {
  (void)queue::make_current_thread_background();
  auto stop = net::block_into_signalfd({SIGTERM, SIGINT});
  if (!stop.ok()) {
    log.fatal(stop.error().message);
    return 1;
  }
  const int sfd = *stop;
  Server server(deliver, burst_limit, log);
  server.start_workers(threads);
  int code = 0;
  for (;;) {
    // The spawner's descriptor with no events: it reports only a hang-up (-1: ignored).
    pollfd fds[3] = {{sfd, POLLIN, 0}, {listen_fd, POLLIN, 0}, {spawner_exit_fd, 0, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      log.fatal(fmt::format("poll: {}", std::strerror(errno)));
      break;
    }
    if (fds[0].revents != 0) break;  // SIGTERM or SIGINT
    if (fds[2].revents != 0) {
      log.error("the delivery spawner is gone; exiting so that master starts a new one");
      code = 1;
      break;
    }
    if (fds[1].revents != 0) {
      int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) server.add_connection(fd);
    }
  }
  server.stop();
  ::close(sfd);
  return code;
}

}  // namespace

int serve_agent_requests(int listen_fd, int threads, const DeliverFunction& deliver,
                         const log::Logger& log, int spawner_exit_fd) {
  const DeliverBurstFunction one_by_one = [&deliver](const std::vector<qmgr::AgentRequest>& rs,
                                                     const ResultsFollowFunction&) {
    return std::vector<qmgr::AgentReply>{deliver(rs.front())};
  };
  return serve(listen_fd, threads, one_by_one, 1, log, spawner_exit_fd);
}

int serve_agent_bursts(int listen_fd, int threads, const DeliverBurstFunction& deliver,
                       const log::Logger& log, int spawner_exit_fd) {
  return serve(listen_fd, threads, deliver, kMaxRequestsPerBurst, log, spawner_exit_fd);
}

}  // namespace estafeta::delivery
