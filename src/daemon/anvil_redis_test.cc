// Tests of the shared anvil counters against a real redis-server that the test starts on a free
// loopback port: two instances (AnvilService, each with its own RedisCounterStore) share a
// rate; Redis killed mid-way: counting goes on per instance with one warning, and a notice
// once a new redis-server answers on the same port. Also a server that never answers (the
// timeout), and parse_redis_server.
#include "daemon/anvil_redis.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <chrono>
#include <filesystem>
#include <future>
#include <thread>

#include "daemon/anvil_service.h"
#include "log/memory_sink.h"

namespace estafeta::daemon {
namespace {

using namespace std::chrono_literals;
using policy::AnvilEvent;

int bound_port(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

// A loopback listener that never accepts: connects succeed (backlog), nothing is answered.
class SilentServer {
 public:
  SilentServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 16);
  }
  ~SilentServer() { ::close(fd_); }
  int port() const { return bound_port(fd_); }

 private:
  int fd_ = -1;
};

int free_port() {
  SilentServer s;
  return s.port();
}

// redis-server on 127.0.0.1:port with no persistence, in a temporary directory; stopped by
// its pid.
class RedisProcess {
 public:
  RedisProcess(int port, const std::string& dir) : port_(port) {
    pid_ = ::fork();
    if (pid_ == 0) {
      int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 1);
      ::dup2(null, 2);
      std::string p = std::to_string(port);
      ::execlp("redis-server", "redis-server", "--port", p.c_str(), "--bind", "127.0.0.1", "--save",
               "", "--appendonly", "no", "--dir", dir.c_str(), "--loglevel", "warning",
               static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~RedisProcess() { stop(); }

  // Polls until it answers PING (a readiness wait, not a timing assertion).
  bool wait_ready() const {
    for (int i = 0; i < 300; ++i) {
      if (int status = 0; ::waitpid(pid_, &status, WNOHANG) == pid_) return false;
      timeval tv{1, 0};
      redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv);
      if (c != nullptr && c->err == 0) {
        auto* r = static_cast<redisReply*>(redisCommand(c, "PING"));
        bool ok = r != nullptr && r->type == REDIS_REPLY_STATUS;
        if (r) freeReplyObject(r);
        redisFree(c);
        if (ok) return true;
      } else if (c != nullptr) {
        redisFree(c);
      }
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  int port_;
  pid_t pid_ = -1;
};

bool have_redis_server() { return std::system("command -v redis-server >/dev/null 2>&1") == 0; }

RedisCounterOptions options_for(int port) {
  RedisCounterOptions o;
  o.port = port;
  o.timeout = 500ms;
  o.retry_after = 200ms;
  return o;
}

// Runs one add and waits for its answer.
RedisCounterStore::Outcome add(RedisCounterStore& store, const std::string& key, long long n = 1) {
  std::promise<RedisCounterStore::Outcome> done;
  auto answer = done.get_future();
  store.add(key, n, 60s, [&done](RedisCounterStore::Outcome o) { done.set_value(std::move(o)); });
  return answer.get();
}

class AnvilRedisTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(have_redis_server()) << "redis-server is not installed (scripts/setup.sh)";
    char tmpl[] = "/tmp/anvil_redis_test.XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    port_ = free_port();
    redis_ = std::make_unique<RedisProcess>(port_, dir_);
    ASSERT_TRUE(redis_->wait_ready());
  }
  void TearDown() override {
    redis_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  long long ttl(const std::string& key) {
    timeval tv{5, 0};
    redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv);
    auto* r = static_cast<redisReply*>(redisCommand(c, "TTL %s", key.c_str()));
    long long t = r != nullptr && r->type == REDIS_REPLY_INTEGER ? r->integer : -100;
    if (r) freeReplyObject(r);
    redisFree(c);
    return t;
  }

  std::string dir_;
  int port_ = 0;
  std::unique_ptr<RedisProcess> redis_;
};

TEST_F(AnvilRedisTest, TwoStoresShareOneCounterWithAWindow) {
  RedisCounterStore a(options_for(port_));
  RedisCounterStore b(options_for(port_));
  EXPECT_EQ(add(a, "t:mail:192.0.2.1").value, 1);
  EXPECT_EQ(add(b, "t:mail:192.0.2.1").value, 2);
  EXPECT_EQ(add(a, "t:mail:192.0.2.1", 0).value, 2);  // reading
  EXPECT_EQ(add(b, "t:mail:192.0.2.1", 3).value, 5);
  EXPECT_EQ(add(a, "t:mail:192.0.2.2").value, 1);
  long long t = ttl("t:mail:192.0.2.1");
  EXPECT_GT(t, 0);
  EXPECT_LE(t, 60);
}

TEST_F(AnvilRedisTest, RedisGoneThenBack) {
  RedisCounterStore store(options_for(port_));
  auto first = add(store, "t:conn:a");
  EXPECT_EQ(first.value, 1);
  EXPECT_FALSE(first.warning);
  redis_->stop();
  auto down = add(store, "t:conn:a");
  EXPECT_FALSE(down.value);
  ASSERT_TRUE(down.warning);
  EXPECT_NE(down.warning->find("redis:127.0.0.1:" + std::to_string(port_)), std::string::npos);
  // Down: answered without a value and without another warning.
  for (int i = 0; i < 3; ++i) {
    auto again = add(store, "t:conn:a");
    EXPECT_FALSE(again.value);
    EXPECT_FALSE(again.warning);
  }
  redis_ = std::make_unique<RedisProcess>(port_, dir_);
  ASSERT_TRUE(redis_->wait_ready());
  // Tried again once per retry_after: poll (bounded) until it answers.
  RedisCounterStore::Outcome back;
  for (int i = 0; i < 100 && !back.value; ++i) {
    back = add(store, "t:conn:a");
    EXPECT_FALSE(back.warning);
    if (!back.value) std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(back.value);
  EXPECT_EQ(*back.value, 1);  // a new server: the old count is gone
  ASSERT_TRUE(back.notice);
  EXPECT_FALSE(add(store, "t:conn:a").notice);  // one notice
}

// Two smtpd instances behind one MX: their AnvilServices share the message rate in Redis;
// when Redis dies each goes on with its own count, with one warning.
TEST_F(AnvilRedisTest, TwoInstancesShareThenCountAlone) {
  asio::io_context io;
  auto sink = std::make_shared<log::MemorySink>();
  log::Logger log(sink, "estafeta/smtpd");
  policy::AnvilLimits limits;
  limits.message_rate = 3;
  AnvilService one(io, log, limits, "smtp", "mx1.example",
                   std::make_unique<RedisCounterStore>(options_for(port_)), "anvil:");
  AnvilService two(io, log, limits, "smtp", "mx2.example",
                   std::make_unique<RedisCounterStore>(options_for(port_)), "anvil:");
  policy::AnvilClient client_one = one.client("192.0.2.7", "unknown[192.0.2.7]", false);
  policy::AnvilClient client_two = two.client("192.0.2.7", "unknown[192.0.2.7]", false);
  std::vector<policy::AnvilVerdict> verdicts;
  auto run = [&](AnvilService& service, const policy::AnvilClient& client) {
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          verdicts.push_back(co_await service.check(AnvilEvent::Message, client));
        },
        asio::detached);
    io.restart();
    io.run();
    return verdicts.back();
  };
  EXPECT_TRUE(run(one, client_one).allowed);            // shared count 1
  EXPECT_TRUE(run(two, client_two).allowed);            // 2
  EXPECT_TRUE(run(one, client_one).allowed);            // 3
  policy::AnvilVerdict refused = run(two, client_two);  // 4 > 3, though two saw only 2
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.value, 4);
  EXPECT_EQ(refused.reply, "450 4.7.1 Error: too much mail from 192.0.2.7");

  redis_->stop();
  // Instance one counted 2 MAILs itself: its 3rd passes, its 4th is refused, locally.
  policy::AnvilVerdict local = run(one, client_one);
  EXPECT_TRUE(local.allowed);
  EXPECT_EQ(local.value, 3);
  local = run(one, client_one);
  EXPECT_FALSE(local.allowed);
  EXPECT_EQ(local.value, 4);
  int warnings = 0;
  for (const auto& line : sink->lines()) {
    if (line.find("warning: anvil: shared counters at redis:") != std::string::npos) ++warnings;
  }
  EXPECT_EQ(warnings, 1);
}

TEST(AnvilRedis, SilentServerTimesOut) {
  SilentServer silent;
  RedisCounterOptions o = options_for(silent.port());
  o.timeout = 200ms;
  RedisCounterStore store(o);
  auto outcome = add(store, "k");
  EXPECT_FALSE(outcome.value);
  EXPECT_TRUE(outcome.warning);
}

TEST(AnvilRedis, ParseServer) {
  auto a = parse_redis_server("redis.example:6380");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "redis.example");
  EXPECT_EQ(a->port, 6380);
  auto b = parse_redis_server("[::1]:7000");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, 7000);
  auto c = parse_redis_server("127.0.0.1");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->port, 6379);
  for (const char* bad :
       {"", ":6379", "host:", "host:0", "host:70000", "host:x", "[::1", "[::1]x"}) {
    EXPECT_FALSE(parse_redis_server(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace estafeta::daemon
