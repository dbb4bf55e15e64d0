// The socket side of the smtp delivery agent, on an Asio event loop (the local and virtual
// agents block a thread per request: delivery/agent_server.h; an SMTP delivery spends its
// time waiting on the network, so here every request is a coroutine on one thread). Accepts
// the queue manager's connections on a listening unix stream socket, reads its delivery
// requests (qmgr/protocol.h), runs each as `asio::awaitable<AgentReply>` at once (any
// number in parallel: the queue manager's concurrency windows bound them), and writes each
// reply when it is ready, in completion order. SIGTERM or SIGINT stops accepting and reading;
// the requests in progress finish (their own timeouts bound them), then it returns. Edge.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <functional>

#include "log/logger.h"
#include "qmgr/protocol.h"

namespace estafeta::outbound {

using AsyncDeliver = std::function<asio::awaitable<qmgr::AgentReply>(qmgr::AgentRequest)>;

/// Serves `listen_fd` (a listening unix stream socket, taken over) on `io` until SIGTERM or
/// SIGINT, then lets the requests in progress finish. Runs `io` in the calling thread.
/// `on_stop` (optional) runs on the signal, after accepting and reading stopped: it ends the
/// caller's own work on `io` (the smtp agent's cached connections) so that `io` can run out.
/// Returns the exit code: 0 after a signal, 1 when the socket cannot be used (logged).
int serve_agent_requests_async(asio::io_context& io, int listen_fd, const AsyncDeliver& deliver,
                               const log::Logger& log, const std::function<void()>& on_stop = {});

}  // namespace estafeta::outbound
