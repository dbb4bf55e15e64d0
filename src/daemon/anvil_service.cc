// smtpd's anvil at the edge (see anvil_service.h).
#include "daemon/anvil_service.h"

#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <functional>
#include <optional>

namespace estafeta::daemon {
namespace {

using policy::AnvilEvent;
using policy::AnvilVerdict;

// The answer of the store's thread, brought back to the event loop: the coroutine waits on a
// timer that the posted handler cancels (the same pattern as smtpd_session.cc's
// await_result). The store answers every call within its timeouts.
asio::awaitable<RedisCounterStore::Outcome> shared_add(asio::io_context& io,
                                                       RedisCounterStore& store, std::string key,
                                                       long long n, std::chrono::seconds window) {
  struct Wait {
    explicit Wait(asio::io_context& io) : timer(io, std::chrono::steady_clock::time_point::max()) {}
    asio::steady_timer timer;
    std::optional<RedisCounterStore::Outcome> outcome;
  };
  auto wait = std::make_shared<Wait>(io);
  store.add(std::move(key), n, window, [wait, &io](RedisCounterStore::Outcome outcome) {
    asio::post(io, [wait, outcome = std::move(outcome)]() mutable {
      wait->outcome.emplace(std::move(outcome));
      wait->timer.cancel();
    });
  });
  while (!wait->outcome) {
    co_await wait->timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
  }
  co_return std::move(*wait->outcome);
}

}  // namespace

AnvilService::AnvilService(asio::io_context& io, const log::Logger& log, policy::AnvilLimits limits,
                           std::string service, std::string server_hostname,
                           std::unique_ptr<RedisCounterStore> shared, std::string key_prefix)
    : io_(io),
      log_(log),
      limits_(limits),
      service_(std::move(service)),
      server_hostname_(std::move(server_hostname)),
      local_(limits.time_unit, limits.max_clients, clock_),
      shared_(std::move(shared)),
      key_prefix_(std::move(key_prefix)) {}

policy::AnvilClient AnvilService::client(std::string address, std::string namaddr,
                                         bool exempt) const {
  policy::AnvilClient c;
  c.address = std::move(address);
  c.namaddr = std::move(namaddr);
  c.service = service_;
  c.server_hostname = server_hostname_;
  c.exempt = exempt;
  return c;
}

asio::awaitable<AnvilVerdict> AnvilService::connect(const policy::AnvilClient& client) {
  if (client.exempt) co_return AnvilVerdict::allow(0);
  policy::AnvilCounters::ConnectCounts counts = local_.connect(client.address);
  long long rate = counts.rate;
  if (shared_ && limits_.connection_rate > 0) {
    std::string key = key_prefix_ + "conn:" + client.address;
    RedisCounterStore::Outcome outcome =
        co_await shared_add(io_, *shared_, std::move(key), 1, limits_.time_unit);
    if (outcome.warning) log_.warning("{}", *outcome.warning);
    if (outcome.notice) log_.info("{}", *outcome.notice);
    if (outcome.value) rate = *outcome.value;
  }
  // As Postfix: a refused connection counts too; the concurrency limit is judged first.
  AnvilVerdict verdict = policy::judge_connection_count(counts.count, limits_, client);
  if (!verdict.allowed) co_return verdict;
  co_return policy::judge_rate(AnvilEvent::Connection, rate, limits_, client);
}

void AnvilService::disconnect(const policy::AnvilClient& client) {
  if (!client.exempt) local_.disconnect(client.address);
}

asio::awaitable<AnvilVerdict> AnvilService::check(AnvilEvent event,
                                                  const policy::AnvilClient& client) {
  if (client.exempt || limits_.rate_limit(event) <= 0) co_return AnvilVerdict::allow(0);
  long long rate = co_await count(event, client, 1);
  co_return policy::judge_rate(event, rate, limits_, client);
}

asio::awaitable<AnvilVerdict> AnvilService::check_starttls(const policy::AnvilClient& client) {
  if (client.exempt || limits_.new_tls_rate <= 0) co_return AnvilVerdict::allow(0);
  long long rate = co_await count(AnvilEvent::NewTls, client, 0);
  co_return policy::judge_starttls(rate, limits_, client);
}

void AnvilService::log_refusal(const AnvilVerdict& verdict) const {
  if (!verdict.allowed) log_.warning("{}", verdict.warning);
}

asio::awaitable<long long> AnvilService::count(AnvilEvent event, const policy::AnvilClient& client,
                                               long long n) {
  long long rate = local_.add(event, client.address, n);
  if (!shared_) co_return rate;
  std::string key =
      key_prefix_ + std::string(policy::anvil_event_name(event)) + ":" + client.address;
  RedisCounterStore::Outcome outcome =
      co_await shared_add(io_, *shared_, std::move(key), n, limits_.time_unit);
  if (outcome.warning) log_.warning("{}", *outcome.warning);
  if (outcome.notice) log_.info("{}", *outcome.notice);
  co_return outcome.value.value_or(rate);
}

}  // namespace estafeta::daemon
