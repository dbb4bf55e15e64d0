// The smtpd process's connection to Dovecot's authentication server (smtpd_sasl_path: a unix
// socket, or inet:host:port), on the process's io_context and shared by all its sessions, as
// Postfix's xsasl_dovecot keeps one per smtpd. Requests are multiplexed by id. A connection
// that fails (refused, closed, a protocol error, no answer within the timeout) fails the
// requests in flight with a temporary failure (the client gets 454) and the next request
// connects again. The protocol is sasl/dovecot_protocol.h's; here only sockets and waiting.
// Not thread-safe: used from the io_context's thread only.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "log/logger.h"
#include "sasl/dovecot_protocol.h"
#include "sasl/smtp_auth.h"

namespace estafeta::daemon {

class DovecotAuthClient {
 public:
  struct Request {
    std::string mechanism;
    std::optional<std::string> initial_response;  // base64
    std::string service = "smtp";
    std::string local_ip, remote_ip;
    bool secured = false;  // the client is under TLS
  };

  /// `endpoint`: an absolute unix socket path or "inet:host:port". `log` outlives the client.
  DovecotAuthClient(asio::io_context& io, std::string endpoint, const log::Logger& log,
                    std::chrono::seconds timeout = std::chrono::seconds(30));
  ~DovecotAuthClient();
  DovecotAuthClient(const DovecotAuthClient&) = delete;
  DovecotAuthClient& operator=(const DovecotAuthClient&) = delete;

  /// The server's mechanisms, connecting (and handshaking) first when needed. Error: the
  /// server cannot be reached (the warning is logged here, once per failed connection).
  asio::awaitable<Result<std::vector<sasl::Mechanism>>> mechanisms();

  /// Starts an exchange; `*id` names it for next() and forget() (valid when the answer is
  /// Continue). `id` must stay valid until the awaitable completes.
  asio::awaitable<sasl::Answer> begin(Request request, uint32_t* id);
  /// The client's response to the last challenge of exchange `id`.
  asio::awaitable<sasl::Answer> next(uint32_t id, std::string response);
  /// The exchange ended without a final answer (the client cancelled): its answers, should
  /// any come, are dropped.
  void forget(uint32_t id);

  const std::string& endpoint() const { return endpoint_; }

 private:
  struct Connection;
  struct Waiter;
  asio::awaitable<Result<std::shared_ptr<Connection>>> ready_connection();
  asio::awaitable<sasl::Answer> exchange(std::shared_ptr<Connection> c, uint32_t id,
                                         std::string line);
  asio::awaitable<void> run_connection(std::shared_ptr<Connection> c);
  asio::awaitable<Status> connect(Connection& c);
  asio::awaitable<bool> wait(std::shared_ptr<Waiter> w);
  void send(const std::shared_ptr<Connection>& c, std::string line);
  asio::awaitable<void> write_outbox(std::shared_ptr<Connection> c);
  void fail(Connection& c, const std::string& why);

  asio::io_context& io_;
  std::string endpoint_;
  const log::Logger& log_;
  std::chrono::seconds timeout_;
  std::shared_ptr<Connection> connection_;
  uint32_t next_id_ = 1;
};

}  // namespace estafeta::daemon
