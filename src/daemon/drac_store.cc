// DRAC grant store: a directory of grant files, optionally shared through Redis (see
// drac_store.h).
#include "daemon/drac_store.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <hiredis/hiredis.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <random>

#include "daemon/anvil_redis.h"

namespace estafeta::daemon {
namespace {

struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

std::optional<std::string> read_small_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return std::nullopt;
  char buffer[64];
  ssize_t n = ::read(fd, buffer, sizeof buffer);
  ::close(fd);
  if (n < 0) return std::nullopt;
  return std::string(buffer, static_cast<size_t>(n));
}

}  // namespace

struct DracStore::Redis {
  std::string host;
  int port = 6379;
  std::string name;
  std::unique_ptr<redisContext, ContextDeleter> context;
  bool down = false;
  std::chrono::steady_clock::time_point retry_at{};
};

Result<std::unique_ptr<DracStore>> DracStore::create(DracOptions options,
                                                     std::shared_ptr<const Clock> clock) {
  std::unique_ptr<Redis> redis;
  if (!options.redis_server.empty()) {
    auto parsed = parse_redis_server(options.redis_server);
    if (!parsed.ok()) {
      return make_error(fmt::format("drac_redis_server: {}", parsed.error().message));
    }
    redis = std::make_unique<Redis>();
    redis->host = parsed->host;
    redis->port = parsed->port;
    redis->name = fmt::format("redis:{}:{}", redis->host, redis->port);
  }
  std::unique_ptr<DracStore> store(
      new DracStore(std::move(options), std::move(clock)));
  store->redis_ = std::move(redis);
  return store;
}

DracStore::DracStore(DracOptions options, std::shared_ptr<const Clock> clock)
    : options_(std::move(options)), clock_(std::move(clock)) {}

DracStore::~DracStore() = default;

Status DracStore::add(std::string_view address, const DracLog& log) const {
  auto key = policy::drac_address_key(address);
  if (!key.ok()) return key.error();
  std::error_code ec;
  std::filesystem::create_directories(options_.directory, ec);
  if (ec) {
    return make_error(fmt::format("cannot create {}: {}", options_.directory, ec.message()));
  }
  const std::string path = options_.directory + "/" + *key;
  std::random_device random;
  const std::string temporary =
      fmt::format("{}/.{}.{}.{:08x}", options_.directory, *key, ::getpid(), random());
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    return make_error(fmt::format("cannot create {}: {}", temporary, std::strerror(errno)));
  }
  const std::string text = policy::format_drac_grant(clock_->now());
  bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  // Readable by smtpd whatever the writer's umask; the directory's mode guards who may add.
  written = ::fchmod(fd, 0644) == 0 && written;
  written = ::close(fd) == 0 && written;
  if (!written || ::rename(temporary.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(temporary.c_str());
    return make_error(fmt::format("cannot write {}: {}", path, why));
  }
  if (redis_ != nullptr) redis_set(*key, log);
  return {};
}

bool DracStore::granted(std::string_view address, const DracLog& log) const {
  auto key = policy::drac_address_key(address);
  if (!key.ok()) return false;
  if (redis_ != nullptr) {
    bool exists = false;
    if (redis_exists(*key, exists, log) && exists) return true;
  }
  // Redis down, or it has no grant (the grant may predate drac_redis_server, or its SET
  // was lost while Redis was down): this instance's own grants.
  return file_granted(*key);
}

bool DracStore::file_granted(const std::string& key) const {
  auto text = read_small_file(options_.directory + "/" + key);
  if (!text) return false;
  auto when = policy::parse_drac_grant(*text);
  return when && policy::drac_grant_active(*when, clock_->now(), options_.timeout);
}

Result<std::vector<DracGrant>> DracStore::list() const {
  std::vector<DracGrant> out;
  std::error_code ec;
  std::filesystem::directory_iterator it(options_.directory, ec);
  if (ec == std::errc::no_such_file_or_directory) return out;
  if (ec) return make_error(fmt::format("cannot read {}: {}", options_.directory, ec.message()));
  const policy::DracTime now = clock_->now();
  for (const auto& entry : it) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with('.')) continue;  // a grant being written
    auto key = policy::drac_address_key(name);
    if (!key.ok() || *key != name) continue;
    auto text = read_small_file(entry.path().string());
    if (!text) continue;
    auto when = policy::parse_drac_grant(*text);
    if (!when) continue;
    out.push_back({name, *when, policy::drac_grant_active(*when, now, options_.timeout)});
  }
  std::sort(out.begin(), out.end(),
            [](const DracGrant& a, const DracGrant& b) { return a.address < b.address; });
  return out;
}

Result<size_t> DracStore::expire() const {
  size_t removed = 0;
  std::error_code ec;
  std::filesystem::directory_iterator it(options_.directory, ec);
  if (ec == std::errc::no_such_file_or_directory) return removed;
  if (ec) return make_error(fmt::format("cannot read {}: {}", options_.directory, ec.message()));
  const policy::DracTime now = clock_->now();
  for (const auto& entry : it) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with('.')) continue;
    auto key = policy::drac_address_key(name);
    if (!key.ok() || *key != name) continue;  // not ours: left alone
    auto text = read_small_file(entry.path().string());
    std::optional<policy::DracTime> when;
    if (text) when = policy::parse_drac_grant(*text);
    if (when && policy::drac_grant_active(*when, now, options_.timeout)) continue;
    if (::unlink(entry.path().c_str()) == 0) ++removed;
  }
  return removed;
}

namespace {

// One command on the store's connection, (re)connecting first; nullptr when Redis did not
// answer (the caller marks it down). Called under the lock.
ReplyPtr redis_command(std::unique_ptr<redisContext, ContextDeleter>& context,
                       const std::string& host, int port, std::chrono::milliseconds timeout,
                       std::string& error, const char* format, const std::string& a,
                       const std::string& b, long long n) {
  if (context == nullptr || context->err != 0) {
    context.reset(redisConnectWithTimeout(host.c_str(), port, to_timeval(timeout)));
    if (context == nullptr || context->err != 0) {
      error = context == nullptr ? "cannot connect" : context->errstr;
      context.reset();
      return nullptr;
    }
    if (redisSetTimeout(context.get(), to_timeval(timeout)) != REDIS_OK) {
      error = "cannot set the timeout";
      context.reset();
      return nullptr;
    }
  }
  void* raw = b.empty() ? redisCommand(context.get(), format, a.data(), a.size())
                        : redisCommand(context.get(), format, a.data(), a.size(), b.data(),
                                       b.size(), n);
  if (raw == nullptr) {
    error = context->errstr;
    context.reset();
    return nullptr;
  }
  ReplyPtr reply(static_cast<redisReply*>(raw));
  if (reply->type == REDIS_REPLY_ERROR) {
    error = std::string(reply->str, reply->len);
    return nullptr;
  }
  return reply;
}

}  // namespace

bool DracStore::redis_exists(const std::string& key, bool& exists,
                             const DracLog& log) const {
  std::lock_guard lock(redis_mu_);
  Redis& r = *redis_;
  const auto now = std::chrono::steady_clock::now();
  if (r.down && now < r.retry_at) return false;
  std::string error;
  ReplyPtr reply = redis_command(r.context, r.host, r.port, options_.redis_timeout, error,
                                 "EXISTS %b", options_.redis_key_prefix + key, "", 0);
  if (reply == nullptr || reply->type != REDIS_REPLY_INTEGER) {
    if (!r.down) {
      log("warning", fmt::format("DRAC grants in {} unavailable ({}): using {} only", r.name,
                                  reply == nullptr ? error : "unexpected reply",
                                  options_.directory));
    }
    r.down = true;
    r.retry_at = now + options_.retry_after;
    return false;
  }
  if (r.down) log("notice", fmt::format("DRAC grants in {} available again", r.name));
  r.down = false;
  exists = reply->integer > 0;
  return true;
}

bool DracStore::redis_set(const std::string& key, const DracLog& log) const {
  std::lock_guard lock(redis_mu_);
  Redis& r = *redis_;
  std::string error;
  const std::string value = policy::format_drac_grant(clock_->now());
  ReplyPtr reply = redis_command(r.context, r.host, r.port, options_.redis_timeout, error,
                                 "SET %b %b EX %lld", options_.redis_key_prefix + key, value,
                                 static_cast<long long>(options_.timeout.count()));
  if (reply == nullptr) {
    log("warning", fmt::format("DRAC grant not shared through {} ({}): kept in {} only",
                                r.name, error, options_.directory));
    r.down = true;
    r.retry_at = std::chrono::steady_clock::now() + options_.retry_after;
    return false;
  }
  r.down = false;
  return true;
}

}  // namespace estafeta::daemon
