// PolicyClient: check_policy_service queries over pooled connections (see policy_client.h).
#include "daemon/policy_client.h"

#include <fmt/format.h>
#include <sys/un.h>

#include <algorithm>
#include <array>
#include <asio/experimental/as_tuple.hpp>
#include <asio/generic/stream_protocol.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <functional>
#include <map>
#include <optional>
#include <vector>

#include "policy/policy_endpoint.h"

namespace estafeta::daemon {
namespace {

constexpr auto kNoThrow = asio::experimental::as_tuple(asio::use_awaitable);
using Socket = asio::generic::stream_protocol::socket;
using SteadyTime = std::chrono::steady_clock::time_point;

struct Connection {
  explicit Connection(Socket s) : socket(std::move(s)) {}
  Socket socket;
  SteadyTime created = std::chrono::steady_clock::now();
  SteadyTime last_used = created;
  uint64_t requests = 0;  // requests answered over it
};

// When an idle connection must be closed.
SteadyTime idle_deadline(const Connection& c, const PolicyServiceSettings& s) {
  return std::min(c.last_used + s.max_idle, c.created + s.max_ttl);
}

// Runs `cancel` (which cancels a socket's or resolver's pending operation) when the deadline
// passes; fired() then tells a timeout from another failure. Once the Deadline is gone, a
// timer completion already queued does nothing (the cancelled object may be gone too).
class Deadline {
 public:
  Deadline(asio::io_context& io, std::chrono::milliseconds after, std::function<void()> cancel)
      : timer_(io), shared_(std::make_shared<Shared>()) {
    shared_->cancel = std::move(cancel);
    timer_.expires_after(after);
    timer_.async_wait([shared = shared_](const asio::error_code& ec) {
      if (ec || !shared->cancel) return;
      shared->fired = true;
      shared->cancel();
    });
  }
  Deadline(asio::io_context& io, std::chrono::milliseconds after, Socket& socket)
      : Deadline(io, after, [s = &socket] {
          asio::error_code ignored;
          s->cancel(ignored);
        }) {}
  ~Deadline() {
    shared_->cancel = nullptr;
    timer_.cancel();
  }
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;
  bool fired() const { return shared_->fired; }

 private:
  struct Shared {
    std::function<void()> cancel;  // null once the Deadline is gone
    bool fired = false;
  };
  asio::steady_timer timer_;
  std::shared_ptr<Shared> shared_;  // outlives the timer's handler
};

// One attempt's outcome.
struct Attempt {
  std::optional<std::string> action;  // set on success
  std::string failure;                // why not, for the log
  bool stale = false;  // a reused connection was found closed before any response byte
};

}  // namespace

struct PolicyClient::State : std::enable_shared_from_this<PolicyClient::State> {
  struct Pool {
    std::vector<std::unique_ptr<Connection>> idle;  // most recently used last
    PolicyServiceSettings settings;                 // of the last query (for the sweep)
  };

  State(asio::io_context& io_context, std::string queue_dir, log::Logger log)
      : io(io_context), queue_directory(std::move(queue_dir)), logger(std::move(log)),
        sweep_timer(io_context) {}

  asio::io_context& io;
  std::string queue_directory;
  log::Logger logger;
  std::map<std::string, Pool, std::less<>> pools;
  asio::steady_timer sweep_timer;
  std::optional<SteadyTime> sweep_at;  // when the timer is armed

  asio::awaitable<PolicyAnswer> query(std::string service, policy::PolicyAttributes attributes,
                                      PolicyServiceSettings settings);
  asio::awaitable<Attempt> attempt(const std::string& service,
                                   const policy::PolicyEndpoint& endpoint,
                                   const std::string& request,
                                   const PolicyServiceSettings& settings);
  asio::awaitable<std::unique_ptr<Connection>> connect(const policy::PolicyEndpoint& endpoint,
                                                       std::chrono::milliseconds timeout,
                                                       std::string& failure);
  std::unique_ptr<Connection> take_idle(const std::string& service,
                                        const PolicyServiceSettings& settings);
  void give_back(const std::string& service, std::unique_ptr<Connection> connection,
                 const PolicyServiceSettings& settings);
  void drop_idle(const std::string& service);
  void sweep();
  void schedule_sweep();
};

PolicyServiceSettings policy_service_settings(const config::Config& config) {
  PolicyServiceSettings s;
  auto ms = [&](const char* name) {
    return std::chrono::milliseconds(config.get_seconds(name) * 1000);
  };
  s.timeout = ms("smtpd_policy_service_timeout");
  s.max_idle = ms("smtpd_policy_service_max_idle");
  s.max_ttl = ms("smtpd_policy_service_max_ttl");
  s.request_limit = static_cast<uint64_t>(config.get_int("smtpd_policy_service_request_limit"));
  s.try_limit = static_cast<int>(config.get_int("smtpd_policy_service_try_limit"));
  s.retry_delay = ms("smtpd_policy_service_retry_delay");
  s.default_action = config.get("smtpd_policy_service_default_action");
  s.policy_context = config.get("smtpd_policy_service_policy_context");
  return s;
}

PolicyClient::PolicyClient(asio::io_context& io, std::string queue_directory, log::Logger logger)
    : state_(std::make_shared<State>(io, std::move(queue_directory), std::move(logger))) {}

PolicyClient::~PolicyClient() { state_->sweep_timer.cancel(); }

asio::awaitable<PolicyAnswer> PolicyClient::query(std::string service,
                                                  policy::PolicyAttributes attributes,
                                                  PolicyServiceSettings settings) {
  std::shared_ptr<State> keep = state_;  // the pools outlive this query
  co_return co_await keep->query(std::move(service), std::move(attributes), std::move(settings));
}

size_t PolicyClient::idle_connections(const std::string& service) const {
  auto it = state_->pools.find(service);
  return it == state_->pools.end() ? 0 : it->second.idle.size();
}

void PolicyClient::close_idle() {
  state_->pools.clear();
  state_->sweep_at.reset();
  state_->sweep_timer.cancel();
}

asio::awaitable<PolicyAnswer> PolicyClient::State::query(std::string service,
                                                         policy::PolicyAttributes attributes,
                                                         PolicyServiceSettings settings) {
  auto give_up = [&](std::string_view why) {
    logger.warning("policy service {}: {}: using the default action \"{}\"", service, why,
                   settings.default_action);
    return PolicyAnswer{settings.default_action, true};
  };
  auto endpoint = policy::parse_policy_endpoint(service, queue_directory);
  if (!endpoint.ok()) co_return give_up(endpoint.error().message);
  if (!settings.policy_context.empty()) {
    auto it = std::find_if(attributes.begin(), attributes.end(),
                           [](const auto& a) { return a.name == "policy_context"; });
    if (it != attributes.end()) {
      it->value = settings.policy_context;
    } else {
      attributes.push_back({"policy_context", settings.policy_context});
    }
  }
  auto request = policy::encode_request(attributes);
  if (!request.ok()) co_return give_up(request.error().message);

  const int tries = std::max(1, settings.try_limit);
  bool replaced_stale = false;
  for (int done = 0; done < tries;) {
    Attempt a = co_await attempt(service, *endpoint, *request, settings);
    if (a.action) co_return PolicyAnswer{std::move(*a.action), false};
    if (a.stale && !replaced_stale) {
      // The server closed its end while the connection was idle: the other idle ones are
      // likely closed too. Not an attempt.
      replaced_stale = true;
      drop_idle(service);
      continue;
    }
    logger.warning("problem talking to server {}: {}", service, a.failure);
    if (++done < tries) {
      asio::steady_timer delay(io, settings.retry_delay);
      co_await delay.async_wait(kNoThrow);
    }
  }
  co_return give_up(fmt::format("no answer after {} {}", tries, tries == 1 ? "try" : "tries"));
}

asio::awaitable<Attempt> PolicyClient::State::attempt(const std::string& service,
                                                      const policy::PolicyEndpoint& endpoint,
                                                      const std::string& request,
                                                      const PolicyServiceSettings& settings) {
  Attempt out;
  std::unique_ptr<Connection> c = take_idle(service, settings);
  const bool reused = c != nullptr;
  if (!c) {
    c = co_await connect(endpoint, settings.timeout, out.failure);
    if (!c) co_return out;
  }
  {
    Deadline deadline(io, settings.timeout, c->socket);
    auto [ec, n] = co_await asio::async_write(c->socket, asio::buffer(request), kNoThrow);
    if (ec) {
      out.failure = deadline.fired() ? "timeout while sending the request" : ec.message();
      out.stale = reused && !deadline.fired();
      co_return out;
    }
  }
  policy::ResponseParser parser;
  std::array<char, 4096> buffer;
  bool received = false;
  bool extra = false;  // bytes after the response
  {
    Deadline deadline(io, settings.timeout, c->socket);
    while (parser.state() == policy::ResponseParser::State::NeedMore) {
      auto [ec, n] = co_await c->socket.async_read_some(asio::buffer(buffer), kNoThrow);
      if (ec || n == 0) {
        if (deadline.fired()) {
          out.failure = "timeout while waiting for the response";
        } else if (ec == asio::error::eof || n == 0) {
          out.failure = received ? "connection closed in the middle of the response"
                                 : "connection closed by the server";
        } else {
          out.failure = ec.message();
        }
        out.stale = reused && !received && !deadline.fired();
        co_return out;
      }
      received = true;
      const size_t used = parser.feed(std::string_view(buffer.data(), n));
      extra = used < n;
    }
  }
  auto response = parser.result();
  if (!response.ok()) {
    out.failure = "malformed response: " + response.error().message;
    co_return out;
  }
  out.action = std::move(response->action);
  c->requests++;
  c->last_used = std::chrono::steady_clock::now();
  if (extra) {
    logger.warning("policy service {}: data after the response; closing the connection",
                   service);
  } else {
    give_back(service, std::move(c), settings);
  }
  co_return out;
}

asio::awaitable<std::unique_ptr<Connection>> PolicyClient::State::connect(
    const policy::PolicyEndpoint& endpoint, std::chrono::milliseconds timeout,
    std::string& failure) {
  std::vector<asio::generic::stream_protocol::endpoint> targets;
  if (endpoint.kind == policy::PolicyEndpoint::Kind::Unix) {
    if (endpoint.path.size() >= sizeof(sockaddr_un::sun_path)) {
      failure = "socket path too long";
      co_return nullptr;
    }
    targets.emplace_back(asio::local::stream_protocol::endpoint(endpoint.path));
  } else {
    asio::error_code ec;
    const asio::ip::address address = asio::ip::make_address(endpoint.host, ec);
    if (!ec) {
      targets.emplace_back(asio::ip::tcp::endpoint(address, endpoint.port));
    } else {
      // A host name: getaddrinfo on Asio's resolver thread, within the timeout.
      asio::ip::tcp::resolver resolver(io);
      Deadline deadline(io, timeout, [r = &resolver] { r->cancel(); });
      auto [rec, results] = co_await resolver.async_resolve(
          endpoint.host, std::to_string(endpoint.port), kNoThrow);
      if (rec || results.empty()) {
        failure = deadline.fired() ? fmt::format("timeout while resolving {}", endpoint.host)
                         : fmt::format("cannot resolve {}: {}", endpoint.host,
                                       rec ? rec.message() : "no address");
        co_return nullptr;
      }
      for (const auto& r : results) targets.emplace_back(r.endpoint());
    }
  }
  for (const auto& target : targets) {
    Socket socket(io);
    asio::error_code ec;
    socket.open(target.protocol(), ec);
    if (ec) {
      failure = ec.message();
      continue;
    }
    Deadline deadline(io, timeout, socket);
    auto [cec] = co_await socket.async_connect(target, kNoThrow);
    if (!cec) co_return std::make_unique<Connection>(std::move(socket));
    failure = deadline.fired() ? "timeout while connecting" : cec.message();
  }
  co_return nullptr;
}

std::unique_ptr<Connection> PolicyClient::State::take_idle(const std::string& service,
                                                           const PolicyServiceSettings& settings) {
  auto it = pools.find(service);
  if (it == pools.end()) return nullptr;
  Pool& pool = it->second;
  pool.settings = settings;
  const SteadyTime now = std::chrono::steady_clock::now();
  while (!pool.idle.empty()) {
    std::unique_ptr<Connection> c = std::move(pool.idle.back());
    pool.idle.pop_back();
    if (idle_deadline(*c, settings) > now) return c;
  }
  return nullptr;
}

void PolicyClient::State::give_back(const std::string& service,
                                    std::unique_ptr<Connection> connection,
                                    const PolicyServiceSettings& settings) {
  if (settings.request_limit != 0 && connection->requests >= settings.request_limit) return;
  if (connection->last_used - connection->created >= settings.max_ttl) return;
  Pool& pool = pools[service];
  pool.settings = settings;
  pool.idle.push_back(std::move(connection));
  schedule_sweep();
}

void PolicyClient::State::drop_idle(const std::string& service) {
  auto it = pools.find(service);
  if (it != pools.end()) it->second.idle.clear();
}

void PolicyClient::State::sweep() {
  const SteadyTime now = std::chrono::steady_clock::now();
  for (auto& [service, pool] : pools) {
    std::erase_if(pool.idle, [&](const std::unique_ptr<Connection>& c) {
      return idle_deadline(*c, pool.settings) <= now;
    });
  }
}

void PolicyClient::State::schedule_sweep() {
  std::optional<SteadyTime> earliest;
  for (const auto& [service, pool] : pools) {
    for (const auto& c : pool.idle) {
      const SteadyTime t = idle_deadline(*c, pool.settings);
      if (!earliest || t < *earliest) earliest = t;
    }
  }
  if (!earliest) return;  // an armed timer finds nothing to do and stops
  if (sweep_at && *sweep_at <= *earliest) return;
  sweep_at = earliest;
  sweep_timer.expires_at(*earliest);
  sweep_timer.async_wait([weak = weak_from_this()](const asio::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self) return;
    self->sweep_at.reset();
    self->sweep();
    self->schedule_sweep();
  });
}

}  // namespace estafeta::daemon
