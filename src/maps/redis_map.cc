// redis: tables; see redis_map.h.
#include "maps/redis_map.h"

#include <hiredis/hiredis.h>

#include <cmath>
#include <mutex>

#include "maps/open_map.h"
#include "maps/remote_config.h"

namespace estafeta::maps {
namespace {

struct RedisContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using RedisContextPtr = std::unique_ptr<redisContext, RedisContextDeleter>;

struct RedisReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using RedisReplyPtr = std::unique_ptr<redisReply, RedisReplyDeleter>;

struct RedisConfig {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string password;
  std::string database;
  std::string key_format = "%s";
  double timeout = 5;
};

timeval to_timeval(double seconds) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(seconds);
  tv.tv_usec = static_cast<suseconds_t>((seconds - std::floor(seconds)) * 1e6);
  return tv;
}

class RedisMap final : public Map {
 public:
  explicit RedisMap(RedisConfig config) : config_(std::move(config)) {}

  bool is_remote() const override { return true; }

  LookupResult lookup(std::string_view key) const override {
    std::lock_guard lock(mu_);
    if (!ctx_) {
      Status st = connect();
      if (!st.ok()) return LookupResult::temp_fail(st.error().message);
    }
    Result<std::string> k =
        expand_query(config_.key_format, key, [](std::string_view s) { return std::string(s); });
    if (!k.ok()) return LookupResult::temp_fail(k.error().message);
    RedisReplyPtr reply(
        static_cast<redisReply*>(redisCommand(ctx_.get(), "GET %b", k->data(), k->size())));
    if (!reply) {
      std::string why = where() + ": " + (ctx_->errstr[0] ? ctx_->errstr : "no reply");
      ctx_.reset();
      return LookupResult::temp_fail(why);
    }
    switch (reply->type) {
      case REDIS_REPLY_NIL:
        return LookupResult::not_found();
      case REDIS_REPLY_STRING:
        return LookupResult::found(std::string(reply->str, reply->len));
      case REDIS_REPLY_ERROR:
        return LookupResult::temp_fail(where() + ": " + std::string(reply->str, reply->len));
      default:
        return LookupResult::temp_fail(where() + ": unexpected reply type");
    }
  }

 private:
  std::string where() const { return "redis:" + config_.host + ":" + std::to_string(config_.port); }

  Status command_ok(const char* what, const std::string& arg) const {
    RedisReplyPtr r(
        static_cast<redisReply*>(redisCommand(ctx_.get(), "%s %b", what, arg.data(), arg.size())));
    if (!r || r->type == REDIS_REPLY_ERROR) {
      std::string why = r ? std::string(r->str, r->len) : std::string(ctx_->errstr);
      ctx_.reset();
      return make_error(where() + ": " + what + ": " + why);
    }
    return {};
  }

  Status connect() const {
    timeval tv = to_timeval(config_.timeout);
    RedisContextPtr ctx(redisConnectWithTimeout(config_.host.c_str(), config_.port, tv));
    if (!ctx) return make_error(where() + ": out of memory");
    if (ctx->err) return make_error(where() + ": " + ctx->errstr);
    if (redisSetTimeout(ctx.get(), tv) != REDIS_OK) {
      return make_error(where() + ": cannot set timeout");
    }
    ctx_ = std::move(ctx);
    if (!config_.password.empty()) {
      Status st = command_ok("AUTH", config_.password);
      if (!st.ok()) return st;
    }
    if (!config_.database.empty()) {
      Status st = command_ok("SELECT", config_.database);
      if (!st.ok()) return st;
    }
    return {};
  }

  RedisConfig config_;
  mutable std::mutex mu_;
  mutable RedisContextPtr ctx_;  // guarded by mu_
};

}  // namespace

Result<std::unique_ptr<Map>> open_redis_map(const std::string& config_file) {
  Result<std::string> text = read_text_file(config_file);
  if (!text.ok()) return text.error();
  Result<RemoteConfig> cfg = parse_remote_config(
      *text, config_file, {"hosts", "password", "database", "key_format", "timeout"});
  if (!cfg.ok()) return cfg.error();
  RedisConfig c;
  if (auto it = cfg->find("hosts"); it != cfg->end() && !it->second.empty()) {
    size_t colon = it->second.rfind(':');
    c.host = it->second.substr(0, colon);
    if (colon != std::string::npos) {
      std::string port = it->second.substr(colon + 1);
      char* end = nullptr;
      long p = std::strtol(port.c_str(), &end, 10);
      if (port.empty() || *end != '\0' || p <= 0 || p > 65535) {
        return make_error(config_file + ": bad port in hosts \"" + it->second + "\"");
      }
      c.port = static_cast<int>(p);
    }
  }
  if (auto it = cfg->find("password"); it != cfg->end()) c.password = it->second;
  if (auto it = cfg->find("database"); it != cfg->end()) c.database = it->second;
  if (auto it = cfg->find("key_format"); it != cfg->end()) c.key_format = it->second;
  if (auto it = cfg->find("timeout"); it != cfg->end()) {
    Result<double> t = parse_timeout_seconds(it->second);
    if (!t.ok()) return make_error(config_file + ": " + t.error().message);
    c.timeout = *t;
  }
  return std::unique_ptr<Map>(std::make_unique<RedisMap>(std::move(c)));
}

}  // namespace estafeta::maps
