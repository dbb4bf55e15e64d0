// Redis-backed anvil counters (see anvil_redis.h).
#include "daemon/anvil_redis.h"

#include <fmt/format.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>

#include "policy/anvil.h"

namespace estafeta::daemon {
namespace {

// INCRBY, and a TTL for a key that has none (a new window, or one whose EXPIRE was lost):
// atomic in Redis, so concurrent instances open one window together.
constexpr const char* kAddScript =
    "local n = redis.call('INCRBY', KEYS[1], ARGV[1]) "
    "if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end "
    "return n";

struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

}  // namespace

Result<RedisCounterOptions> parse_redis_server(std::string_view value) {
  RedisCounterOptions options;
  std::string_view host = value;
  std::string_view port;
  if (value.starts_with('[')) {
    size_t close = value.find(']');
    if (close == std::string_view::npos) return make_error(fmt::format("bad address: {}", value));
    host = value.substr(1, close - 1);
    std::string_view rest = value.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return make_error(fmt::format("bad address: {}", value));
      port = rest.substr(1);
    }
  } else if (size_t colon = value.rfind(':'); colon != std::string_view::npos) {
    host = value.substr(0, colon);
    port = value.substr(colon + 1);
    if (port.empty()) return make_error(fmt::format("bad port: {}", value));
  }
  if (host.empty()) return make_error(fmt::format("no host: {}", value));
  options.host = std::string(host);
  if (!port.empty()) {
    int p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p <= 0 || p > 65535) {
      return make_error(fmt::format("bad port: {}", value));
    }
    options.port = p;
  }
  return options;
}

struct RedisCounterStore::Connection {
  explicit Connection(const std::string& name, std::chrono::milliseconds retry_after)
      : health(name, retry_after) {}
  std::unique_ptr<redisContext, ContextDeleter> context;
  policy::SharedCounterHealth health;
};

RedisCounterStore::RedisCounterStore(RedisCounterOptions options)
    : options_(std::move(options)),
      name_(fmt::format("redis:{}:{}", options_.host, options_.port)),
      connection_(std::make_unique<Connection>(name_, options_.retry_after)) {
  thread_ = std::thread([this] { run(); });
}

RedisCounterStore::~RedisCounterStore() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void RedisCounterStore::add(std::string key, long long n, std::chrono::seconds window, Done done) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(
        Job{std::move(key), n, window, std::move(done), std::chrono::steady_clock::now()});
  }
  cv_.notify_one();
}

void RedisCounterStore::run() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    Outcome outcome = perform(job);
    job.done(std::move(outcome));
  }
}

RedisCounterStore::Outcome RedisCounterStore::perform(const Job& job) {
  Outcome outcome;
  Connection& c = *connection_;
  const auto now = std::chrono::steady_clock::now();
  // A call that waited its whole timeout behind slow ones is answered locally, so a slow
  // store delays a session by about two timeouts at most.
  if (now - job.queued > options_.timeout || !c.health.may_try(now)) return outcome;
  auto fail = [&](std::string why) {
    c.context.reset();
    outcome.warning = c.health.failed(std::chrono::steady_clock::now(), why);
    return outcome;
  };
  if (!c.context) {
    const timeval tv = to_timeval(options_.timeout);
    c.context.reset(redisConnectWithTimeout(options_.host.c_str(), options_.port, tv));
    if (!c.context) return fail("out of memory");
    if (c.context->err) return fail(c.context->errstr);
    if (redisSetTimeout(c.context.get(), tv) != REDIS_OK) return fail("cannot set the timeout");
  }
  const std::string n = std::to_string(job.n);
  const std::string ttl = std::to_string(std::max<long long>(1, job.window.count()));
  std::unique_ptr<redisReply, ReplyDeleter> reply(static_cast<redisReply*>(
      redisCommand(c.context.get(), "EVAL %s 1 %b %b %b", kAddScript, job.key.data(),
                   job.key.size(), n.data(), n.size(), ttl.data(), ttl.size())));
  if (!reply) return fail(c.context->errstr[0] ? c.context->errstr : "no reply");
  if (reply->type == REDIS_REPLY_ERROR) return fail(std::string(reply->str, reply->len));
  if (reply->type != REDIS_REPLY_INTEGER) return fail("unexpected reply type");
  outcome.value = reply->integer;
  outcome.notice = c.health.succeeded();
  return outcome;
}

}  // namespace estafeta::daemon
