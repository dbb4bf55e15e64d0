// RedisCounterStore: anvil's rate counters kept in Redis, so that several smtpd instances
// behind one MX share them (anvil_redis_server, an Estafeta addition). Semantics: one fixed
// window per key (key prefix, event, client address), opened by the first increment from any
// instance and lasting anvil_rate_time_unit (the key's TTL); every instance adds its events to
// the same counter and compares the sum with its limit. One round trip per event: EVAL of a
// small script (INCRBY, then EXPIRE when the key has no TTL, so a window always ends).
//
// Calls run on the store's own thread over one hiredis connection (synchronous API with
// `timeout` on connect, read and write), never on the caller's event loop; `done` runs on that
// thread. A call fails fast (no value) when it waited longer than `timeout` in the queue or
// while the store is down (SharedCounterHealth: tried again once per `retry_after`). The first
// failure gives a warning, the first success after failures a notice, in the Outcome, for the
// caller to log. Edge (hiredis, a thread). Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "base/result.h"

namespace estafeta::daemon {

struct RedisCounterOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::chrono::milliseconds timeout{1000};
  std::chrono::milliseconds retry_after{10000};
};

/// "host:port", "[ipv6]:port", "host" (port 6379) -> host and port in `options`.
Result<RedisCounterOptions> parse_redis_server(std::string_view value);

class RedisCounterStore {
 public:
  struct Outcome {
    std::optional<long long> value;      // the counter after the increment; nullopt: no answer
    std::optional<std::string> warning;  // the store just went down
    std::optional<std::string> notice;   // the store just came back
  };
  using Done = std::function<void(Outcome)>;

  explicit RedisCounterStore(RedisCounterOptions options);
  ~RedisCounterStore();  // answers the queued calls (each bounded by timeout), then stops
  RedisCounterStore(const RedisCounterStore&) = delete;
  RedisCounterStore& operator=(const RedisCounterStore&) = delete;

  /// Adds `n` (0: reads) to `key`'s counter, whose window is `window` from its first add.
  void add(std::string key, long long n, std::chrono::seconds window, Done done);
  /// "redis:host:port", for logs.
  const std::string& name() const { return name_; }

 private:
  struct Job {
    std::string key;
    long long n;
    std::chrono::seconds window;
    Done done;
    std::chrono::steady_clock::time_point queued;
  };
  struct Connection;
  void run();
  Outcome perform(const Job& job);

  RedisCounterOptions options_;
  std::string name_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;                   // guarded by mu_
  bool stopping_ = false;                   // guarded by mu_
  std::unique_ptr<Connection> connection_;  // the thread's only
  std::thread thread_;
};

}  // namespace estafeta::daemon
