// AnvilService: smtpd's connection and rate limits at the edge, one per smtpd worker (one
// master.cf service, as Postfix's anvil keys its counters by service and client). Counts on
// the pure policy::AnvilCounters of this process and, with anvil_redis_server, also in Redis
// (RedisCounterStore) so that all instances share the rates; the verdict then uses the shared
// count. Redis down or slow: the local count decides, with one warning, and a notice when
// Redis answers again; mail is never refused because of Redis. The concurrent-connection count
// is always this process's (a crashed instance could not give its connections back).
//
// Where smtpd calls it:
//   connect()/disconnect()    at accept and at the session's end (smtpd_worker.cc).
//   check(Message)            at MAIL,  before the sender is accepted (450 on refusal).
//   check(Recipient)          at RCPT,  before the recipient is accepted (450).
//   check(Auth)               at AUTH,  before the exchange starts (450).
//   check_starttls()          at STARTTLS, before its 220 (454, the session stays plaintext).
//   check(NewTls)             after each completed TLS handshake, STARTTLS or wrapper mode
//                             (421, then close).
// A refusal's reply goes to the client, its warning to the log (log_refusal()). Calls for an
// exempt client (smtpd_client_event_limit_exceptions) or an event without a limit neither count
// nor wait. Edge (Asio); use from the worker's event loop only.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <memory>
#include <string>

#include "base/clock.h"
#include "daemon/anvil_redis.h"
#include "log/logger.h"
#include "policy/anvil.h"

namespace estafeta::daemon {

class AnvilService {
 public:
  /// `shared` may be null: per-instance counters only. `key_prefix` starts every Redis key
  /// (prefix + event + ":" + address, "estafeta:anvil:conn:192.0.2.1"): the instances that
  /// share a prefix share the counts, whatever their service names (instances behind one MX
  /// name their services differently when they listen on addresses of their own); set a
  /// prefix per service (master.cf -o) to keep, say, submission's counts apart.
  AnvilService(asio::io_context& io, const log::Logger& log, policy::AnvilLimits limits,
               std::string service, std::string server_hostname,
               std::unique_ptr<RedisCounterStore> shared = nullptr, std::string key_prefix = {});

  /// The facts of one client for the calls below.
  policy::AnvilClient client(std::string address, std::string namaddr, bool exempt) const;

  /// A new connection: counts it (concurrency and rate); refused past either limit (421).
  /// disconnect() must follow, refused or not.
  asio::awaitable<policy::AnvilVerdict> connect(const policy::AnvilClient& client);
  void disconnect(const policy::AnvilClient& client);
  /// Counts one Message, Recipient, Auth or NewTls event and judges it.
  asio::awaitable<policy::AnvilVerdict> check(policy::AnvilEvent event,
                                              const policy::AnvilClient& client);
  /// STARTTLS: may a new TLS session start? Reads the NewTls rate without counting.
  asio::awaitable<policy::AnvilVerdict> check_starttls(const policy::AnvilClient& client);
  /// Logs a refusal's warning.
  void log_refusal(const policy::AnvilVerdict& verdict) const;

  const policy::AnvilLimits& limits() const { return limits_; }

 private:
  /// Adds n to the local and (if configured) shared counter; the shared value when it came.
  asio::awaitable<long long> count(policy::AnvilEvent event, const policy::AnvilClient& client,
                                   long long n);

  asio::io_context& io_;
  const log::Logger& log_;
  policy::AnvilLimits limits_;
  std::string service_;
  std::string server_hostname_;
  SystemClock clock_;
  policy::AnvilCounters local_;
  std::unique_ptr<RedisCounterStore> shared_;
  std::string key_prefix_;
};

}  // namespace estafeta::daemon
