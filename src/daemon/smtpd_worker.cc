// The smtpd worker (see smtpd_worker.h).
#include "daemon/smtpd_worker.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/signal_set.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "daemon/anvil_service.h"
#include "daemon/privileges.h"
#include "daemon/smtpd_session.h"
#include "net/transport.h"
#include "outbound/dns_resolver.h"
#include "policy/dns_answer_cache.h"

namespace estafeta::daemon {
namespace {

constexpr auto kNoThrow = asio::experimental::as_tuple(asio::use_awaitable);

// Live sessions of one listener (maxproc). Per-client counts and rates are the AnvilService's.
struct ConnectionCounts {
  long long total = 0;
};

class Worker {
 public:
  explicit Worker(SmtpdWorkerOptions options) : options_(std::move(options)), signals_(io_) {}

  int run() {
    queue::Spool::Options spool_options;
    spool_options.queue_directory = options_.queue_directory;
    spool_options.sync_threads = 8;
    spool_options.precreated_files = 32;  // file creation off the event loop
    spool_options.warn = [this](const std::string& text) { options_.log.warning("{}", text); };
    auto spool = queue::Spool::open(std::move(spool_options));
    if (!spool.ok()) return failed(spool.error().message);
    spool_ = std::move(spool.value());
    store_ = std::make_unique<SpoolStore>(*spool_);
    flush_requests_ =
        std::make_unique<net::DatagramSender>(options_.queue_directory + "/public/qmgr");
    for (const auto& listener : options_.listeners) {
      if (listener.settings->has_remote_tables() && !lookups_) {
        lookups_ = std::make_unique<maps::LookupPool>(8);
      }
    }
    if (!options_.listeners.empty()) {
      // The restrictions' DNS lookups (reject_rbl_client, reject_unknown_*_domain ...) and
      // policy services, shared by the sessions of every listener of this process.
      auto resolver =
          outbound::DnsResolver::create(io_, options_.listeners.front().settings->resolver);
      if (!resolver.ok()) return failed(resolver.error().message);
      dns_ = std::move(*resolver);
      policy_client_ =
          std::make_unique<PolicyClient>(io_, options_.queue_directory, options_.log);
      auto anvil = make_anvil(*options_.listeners.front().settings);
      if (!anvil.ok()) return failed(anvil.error().message);
      anvil_ = std::move(*anvil);
    }
    for (auto& listener : options_.listeners) {
      auto state = std::make_unique<ListenerState>(io_, listener);
      asio::error_code ec;
      state->acceptor.assign(protocol_of(listener.fd), listener.fd, ec);
      if (ec) return failed(fmt::format("listener {}: {}", listener.endpoint, ec.message()));
      if (listener.settings->peername_lookup) {
        auto resolver = outbound::DnsResolver::create(io_, listener.settings->resolver);
        if (!resolver.ok()) return failed(resolver.error().message);
        state->resolver = std::move(resolver.value());
      }
      listeners_.push_back(std::move(state));
    }
    for (auto& state : listeners_) asio::co_spawn(io_, accept_loop(*state), asio::detached);
    signals_.add(SIGTERM);
    signals_.add(SIGINT);
    signals_.add(SIGHUP);
    wait_for_signal();
    if (options_.started) options_.started(Status{});
    io_.run();
    return 0;
  }

 private:
  int failed(const std::string& message) {
    options_.log.fatal(message);
    if (options_.started) options_.started(make_error(message));
    return 1;
  }

  struct ListenerState {
    ListenerState(asio::io_context& io, const Listener& l)
        : acceptor(io), endpoint(l.endpoint), settings(l.settings), tls(l.tls) {}
    asio::ip::tcp::acceptor acceptor;
    std::string endpoint;
    std::shared_ptr<const SmtpdSettings> settings;
    std::shared_ptr<asio::ssl::context> tls;
    ConnectionCounts counts;
    std::unique_ptr<outbound::DnsResolver> resolver;  // null: smtpd_peername_lookup = no
  };

  // The counters of this service (all its listeners share its settings).
  Result<std::unique_ptr<AnvilService>> make_anvil(const SmtpdSettings& settings) {
    std::unique_ptr<RedisCounterStore> shared;
    if (!settings.anvil_redis_server.empty()) {
      auto redis = parse_redis_server(settings.anvil_redis_server);
      if (!redis.ok()) return make_error("anvil_redis_server: " + redis.error().message);
      redis->timeout = settings.anvil_redis_timeout;
      shared = std::make_unique<RedisCounterStore>(std::move(*redis));
    }
    return std::make_unique<AnvilService>(io_, options_.log, settings.anvil, options_.service,
                                          settings.session.hostname, std::move(shared),
                                          settings.anvil_redis_key_prefix);
  }

  static asio::ip::tcp protocol_of(int fd) {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    return addr.ss_family == AF_INET6 ? asio::ip::tcp::v6() : asio::ip::tcp::v4();
  }

  void wait_for_signal() {
    signals_.async_wait([this](const asio::error_code& ec, int signal) {
      if (ec) return;
      if (signal == SIGHUP) {
        draining_ = true;
        for (auto& state : listeners_) {
          asio::error_code ignored;
          state->acceptor.close(ignored);
        }
        options_.log.info("reload: finishing {} session(s)", sessions_);
        if (sessions_ == 0) io_.stop();
        wait_for_signal();
      } else {
        io_.stop();
      }
    });
  }

  asio::awaitable<void> accept_loop(ListenerState& state) {
    while (!draining_) {
      auto [ec, socket] = co_await state.acceptor.async_accept(kNoThrow);
      if (ec) {
        if (draining_ || ec == asio::error::operation_aborted) co_return;
        options_.log.warning("accept on {}: {}", state.endpoint, ec.message());
        continue;
      }
      asio::co_spawn(io_, serve(state, std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> serve(ListenerState& state, asio::ip::tcp::socket socket) {
    asio::error_code ec;
    auto remote = socket.remote_endpoint(ec);
    if (ec) co_return;
    socket.set_option(asio::ip::tcp::no_delay(true), ec);
    auto address = remote.address();
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
      address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
    }
    smtp::ClientInfo client{address.to_string(), "unknown", remote.port()};
    const SmtpdSettings& settings = *state.settings;
    auto& counts = state.counts;
    if (settings.max_sessions > 0 && counts.total >= settings.max_sessions) {
      options_.log.warning("too many connections from {}[{}]", client.hostname, client.address);
      std::string reply = fmt::format("421 4.7.0 {} Error: too many connections\r\n",
                                      settings.session.hostname);
      co_await asio::async_write(socket, asio::buffer(reply), kNoThrow);
      co_return;
    }
    // smtpd_client_connection_count_limit and _rate_limit (Postfix's anvil); the client
    // counts as connected until disconnect(), refused or not. XXX a remote table in
    // smtpd_client_event_limit_exceptions is asked on the event loop.
    policy::AnvilClient limited = anvil_->client(
        client.address, fmt::format("{}[{}]", client.hostname, client.address),
        settings.limit_exceptions.contains(client.address) == policy::Match::Yes);
    ++counts.total;
    policy::AnvilVerdict verdict = co_await anvil_->connect(limited);
    if (!verdict.allowed) {
      anvil_->log_refusal(verdict);
      std::string reply = verdict.reply + "\r\n";
      co_await asio::async_write(socket, asio::buffer(reply), kNoThrow);
      anvil_->disconnect(limited);
      --counts.total;
      co_return;
    }
    ++sessions_;
    SessionEnvironment env{io_, options_.log, *store_, settings, state.tls.get(), lookups_.get()};
    env.flush_requests = flush_requests_.get();
    env.anvil = anvil_.get();
    env.anvil_client = &limited;
    env.sasl = sasl_client(settings);
    env.dns = dns_.get();
    env.dns_cache = &dns_cache_;
    env.policy_client = policy_client_.get();
    env.resolver = state.resolver.get();
    co_await run_smtp_session(env, net::make_tcp_transport(std::move(socket)), client);
    anvil_->disconnect(limited);
    --counts.total;
    if (--sessions_ == 0 && draining_) io_.stop();
  }

  // The Dovecot connection for the settings' smtpd_sasl_path: one per path and process,
  // shared by every session (null when SMTP AUTH is off).
  DovecotAuthClient* sasl_client(const SmtpdSettings& settings) {
    if (!settings.sasl.enabled) return nullptr;
    auto& client = sasl_clients_[settings.sasl.path];
    if (!client) {
      client = std::make_unique<DovecotAuthClient>(io_, settings.sasl.path, options_.log);
    }
    return client.get();
  }

  SmtpdWorkerOptions options_;
  asio::io_context io_{1};
  asio::signal_set signals_;
  std::unique_ptr<queue::Spool> spool_;
  std::unique_ptr<SpoolStore> store_;
  std::unique_ptr<net::DatagramSender> flush_requests_;  // ETRN -> public/qmgr
  std::unique_ptr<maps::LookupPool> lookups_;            // only when a remote table is configured
  std::unique_ptr<outbound::DnsResolver> dns_;           // resolver_nameservers
  // The restrictions' DNS answers, kept for their TTL (at most an hour), as Postfix's smtpd
  // keeps DNS-list answers per process. Used on io_'s one thread only (io_.run() below is
  // the process's only runner; the lookup pool never touches it).
  policy::DnsAnswerCache dns_cache_;
  std::unique_ptr<PolicyClient> policy_client_;          // check_policy_service
  std::unique_ptr<AnvilService> anvil_;                  // connection and rate limits
  std::vector<std::unique_ptr<ListenerState>> listeners_;
  std::unordered_map<std::string, std::unique_ptr<DovecotAuthClient>> sasl_clients_;
  long long sessions_ = 0;
  bool draining_ = false;
};

}  // namespace

int run_smtpd_worker(SmtpdWorkerOptions options) {
  if (auto dropped = drop_privileges(options.mail_owner); !dropped.ok()) {
    options.log.fatal(dropped.error().message);
    if (options.started) options.started(dropped.error());
    return 1;
  }
  Worker worker(std::move(options));
  return worker.run();
}

}  // namespace estafeta::daemon
