// The edge of Postfix's policy delegation protocol (check_policy_service): PolicyClient asks
// a policy server (postgrey, policyd-spf, ...) for an action over a persistent connection,
// asynchronously on an asio::io_context; the bytes are policy/policy_protocol.h's.
//
// Services are named as in Postfix (policy/policy_endpoint.h): inet:host:port, unix:/path,
// private/name and public/name (relative to queue_directory). Per service, idle connections
// are kept and reused by later queries, from any session of the process; one query at a time
// uses a connection, so concurrent queries to one service open more connections.
//
// Postfix's smtpd_policy_service_* parameters (PolicyServiceSettings):
//   timeout       limit for each of connecting, sending the request, receiving the response
//   max_idle      an idle connection is closed after this long
//   max_ttl       a connection older than this is closed after its current request
//   request_limit a connection is closed after this many requests (0: no limit)
//   try_limit     attempts per query; between them, retry_delay; each failure is logged
//                 ("warning: problem talking to server SERVICE: Connection refused")
//   default_action  the answer when no attempt succeeded (logged as a warning)
//   policy_context  when not empty, the request's policy_context attribute (added if the
//                 request has none)
// A failure is: no connection, a timeout, the server closing the connection, a malformed
// response (the connection is then closed). A reused idle connection that the server had
// already closed (it restarted, or its own idle limit passed) is replaced by a new one at
// once, without counting as an attempt or being logged (Postfix's clients reconnect too).
// A server that sends more than the response (data after its empty line) is answered from
// that response, but its connection is not reused.
//
// Never blocks the event loop: host names are resolved with Asio's resolver (getaddrinfo on
// its own thread); everything else is asynchronous I/O with timers. One io_context thread;
// not thread-safe. Queries keep the client's state alive, so the client may be destroyed
// with queries still pending (they finish on the io_context).
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "config/config.h"
#include "log/logger.h"
#include "policy/policy_protocol.h"

namespace estafeta::daemon {

/// Postfix's smtpd_policy_service_* parameters (defaults are Postfix's).
struct PolicyServiceSettings {
  std::chrono::milliseconds timeout{std::chrono::seconds(100)};   // _timeout
  std::chrono::milliseconds max_idle{std::chrono::seconds(300)};  // _max_idle
  std::chrono::milliseconds max_ttl{std::chrono::seconds(1000)};  // _max_ttl
  uint64_t request_limit = 0;                                      // _request_limit; 0: none
  int try_limit = 2;                                               // _try_limit (>= 1)
  std::chrono::milliseconds retry_delay{std::chrono::seconds(1)};  // _retry_delay
  std::string default_action = "451 4.3.5 Server configuration problem";  // _default_action
  std::string policy_context;                                      // _policy_context
};

/// The settings from main.cf (with a service's -o overrides already applied).
PolicyServiceSettings policy_service_settings(const config::Config& config);

/// A query's outcome: the action text as the server sent it ("DUNNO", "DEFER_IF_PERMIT
/// Greylisted, ...", "550 5.7.1 go away"), or the default action.
struct PolicyAnswer {
  std::string action;
  bool from_default = false;  // no attempt succeeded; action is settings.default_action
};

class PolicyClient {
 public:
  /// `queue_directory` anchors private/ and public/ names; `logger` gets the warnings.
  PolicyClient(asio::io_context& io, std::string queue_directory, log::Logger logger);
  ~PolicyClient();
  PolicyClient(const PolicyClient&) = delete;
  PolicyClient& operator=(const PolicyClient&) = delete;

  /// Sends `attributes` (in their order; policy::request_attributes() gives Postfix's) to
  /// `service` and returns its action, or the default action after try_limit failures (or
  /// at once when the service name or an attribute name is unusable).
  asio::awaitable<PolicyAnswer> query(std::string service, policy::PolicyAttributes attributes,
                                      PolicyServiceSettings settings);

  /// Idle connections kept for `service` (for tests and diagnostics).
  size_t idle_connections(const std::string& service) const;
  /// Closes every idle connection (at reload or shutdown).
  void close_idle();

  struct State;  // the pools and the idle timer; shared with running queries

 private:
  std::shared_ptr<State> state_;
};

}  // namespace estafeta::daemon
