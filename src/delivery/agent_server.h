// The socket side shared by the delivery agents (local, virtual): accepts the queue
// manager's connections on a listening unix stream socket, reads its delivery requests
// (qmgr/protocol.h), runs each on a pool of threads through a callback and writes the
// replies back (one at a time per connection). Stops on SIGTERM or SIGINT, finishing the
// requests it has read. Edge code; the agents' delivery logic stays in their own files.
#pragma once

#include <functional>

#include "log/logger.h"
#include "qmgr/protocol.h"

namespace estafeta::delivery {

/// Delivers one request; called from several threads at once.
using DeliverFunction = std::function<qmgr::AgentReply(const qmgr::AgentRequest&)>;

/// Serves `listen_fd` until SIGTERM or SIGINT (blocked in the calling thread and read through
/// a signalfd: call it before starting other threads), `threads` requests in parallel. Lowers
/// the calling thread's I/O priority (queue::make_current_thread_background). Also stops when
/// `spawner_exit_fd` (PrivilegedDelivery::exit_fd(); -1: none) hangs up, so that master
/// starts the agent and a new spawner. Returns the exit code: 0 after a signal, 1 on set-up
/// failure or when the spawner is gone (logged).
int serve_agent_requests(int listen_fd, int threads, const DeliverFunction& deliver,
                         const log::Logger& log, int spawner_exit_fd = -1);

}  // namespace estafeta::delivery
