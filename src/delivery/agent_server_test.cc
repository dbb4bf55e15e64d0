// The agents' request server with bursts (agent_server.h serve_agent_bursts) over a real
// Unix socket: the requests of one write come back answered, each by its id; a bad request
// breaks the connection and nothing of it is delivered (the queue manager, which hears
// nothing, sends it again: delivering it unheard would deliver it twice).
#include "delivery/agent_server.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "log/memory_sink.h"
#include "queue/test_util.h"

namespace estafeta::delivery {
namespace {

qmgr::AgentRequest request(uint64_t id) {
  qmgr::AgentRequest r;
  r.id = id;
  r.queue_id = "Q" + std::to_string(id);
  r.transport = "virtual";
  r.next_hop = "example.org";
  r.recipients.push_back({0, "a@example.org", "", "", {}});
  return r;
}

// A served listening socket, a client connected to it, and the deliver calls counted.
class Served {
 public:
  static constexpr uint64_t kEarly = 100;

  Served() {
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::string path = dir_.path() + "/agent";
    path.copy(addr.sun_path, sizeof addr.sun_path - 1);
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listen_fd_, 4), 0);
    EXPECT_EQ(::pipe2(exit_pipe_, O_CLOEXEC), 0);
    server_ = std::thread([this] {
      // Requests numbered from kEarly on are said to hold their destination no more
      // before their results.
      const DeliverBurstFunction deliver = [this](const std::vector<qmgr::AgentRequest>& rs,
                                                  const ResultsFollowFunction& results_follow) {
        delivered_ += static_cast<int>(rs.size());
        std::vector<uint64_t> early;
        for (const qmgr::AgentRequest& r : rs) {
          if (r.id >= kEarly) early.push_back(r.id);
        }
        if (!early.empty()) results_follow(early);
        std::vector<qmgr::AgentReply> out;
        for (const qmgr::AgentRequest& r : rs) out.push_back(qmgr::AgentReply{r.id, {}, ""});
        return out;
      };
      serve_agent_bursts(listen_fd_, 2, deliver, log_, exit_pipe_[0]);
    });
    client_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_EQ(::connect(client_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  }
  ~Served() { stop(); }

  // Ends the server (its "spawner" hangs up) and waits until it has finished its work.
  void stop() {
    if (!server_.joinable()) return;
    ::close(exit_pipe_[1]);
    server_.join();
    ::close(exit_pipe_[0]);
    ::close(listen_fd_);
    ::close(client_);
  }

  void write_all(const std::string& bytes) {
    ASSERT_EQ(::write(client_, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }

  // The replies read until `count` came or the server closed the connection.
  std::vector<qmgr::AgentReply> replies(size_t count, bool* closed) {
    std::vector<qmgr::AgentReply> out;
    std::string buffer;
    *closed = false;
    while (out.size() < count) {
      pollfd p{client_, POLLIN, 0};
      if (::poll(&p, 1, 30000) <= 0) break;  // a bound for a hung test, not a measure
      char chunk[4096];
      const ssize_t n = ::read(client_, chunk, sizeof chunk);
      if (n <= 0) {
        *closed = true;
        break;
      }
      buffer.append(chunk, static_cast<size_t>(n));
      for (;;) {
        auto taken = qmgr::take_reply(buffer);
        if (!taken.ok() || !taken->has_value()) break;
        out.push_back(std::move(**taken));
      }
    }
    return out;
  }

  int delivered() const { return delivered_.load(); }

 private:
  queue::testing::TempDir dir_;
  std::shared_ptr<log::MemorySink> sink_ = std::make_shared<log::MemorySink>();
  log::Logger log_{sink_, "test"};
  int listen_fd_ = -1;
  int exit_pipe_[2] = {-1, -1};
  int client_ = -1;
  std::atomic<int> delivered_{0};
  std::thread server_;
};

TEST(AgentServer, RequestsOfOneWriteAreEachAnsweredByTheirId) {
  Served s;
  s.write_all(qmgr::encode_request(request(7)) + qmgr::encode_request(request(8)) +
              qmgr::encode_request(request(9)));
  bool closed = false;
  const std::vector<qmgr::AgentReply> replies = s.replies(3, &closed);
  std::set<uint64_t> ids;
  for (const qmgr::AgentReply& r : replies) ids.insert(r.id);
  EXPECT_EQ(ids, (std::set<uint64_t>{7, 8, 9}));
  EXPECT_FALSE(closed);
  s.stop();
  EXPECT_EQ(s.delivered(), 3);
}

TEST(AgentServer, ARequestThatNoLongerHoldsItsDestinationIsSaidSoBeforeItsResults) {
  Served s;
  s.write_all(qmgr::encode_request(request(Served::kEarly)) +
              qmgr::encode_request(request(Served::kEarly + 1)) + qmgr::encode_request(request(5)));
  bool closed = false;
  const std::vector<qmgr::AgentReply> replies = s.replies(5, &closed);
  ASSERT_EQ(replies.size(), 5u);
  std::map<uint64_t, std::vector<bool>> seen;  // id -> results_follow of each reply, in order
  for (const qmgr::AgentReply& r : replies) seen[r.id].push_back(r.results_follow);
  EXPECT_EQ(seen[Served::kEarly], (std::vector<bool>{true, false}));
  EXPECT_EQ(seen[Served::kEarly + 1], (std::vector<bool>{true, false}));
  EXPECT_EQ(seen[5], (std::vector<bool>{false}));
  EXPECT_FALSE(closed);
}

TEST(AgentServer, ABadRequestBreaksTheConnectionAndNothingOfItsReadIsDelivered) {
  Served s;
  // A valid request, then a reply where a request is due, in one write: the first cannot
  // be answered once the connection is shut down, so it must not be delivered either.
  s.write_all(qmgr::encode_request(request(1)) + qmgr::encode_reply({2, {}, ""}));
  bool closed = false;
  const std::vector<qmgr::AgentReply> replies = s.replies(1, &closed);
  EXPECT_TRUE(replies.empty());
  EXPECT_TRUE(closed);
  s.stop();  // lets the workers finish every job they had
  EXPECT_EQ(s.delivered(), 0);
}

}  // namespace
}  // namespace estafeta::delivery
