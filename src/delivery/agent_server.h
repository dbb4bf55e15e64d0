// The socket side shared by the delivery agents (local, virtual): accepts the queue
// manager's connections on a listening unix stream socket, reads its delivery requests
// (qmgr/protocol.h), runs each on a pool of threads through a callback and writes the
// replies back (one at a time per connection). Stops on SIGTERM or SIGINT, finishing the
// requests it has read. Edge code; the agents' delivery logic stays in their own files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "log/logger.h"
#include "qmgr/protocol.h"

namespace estafeta::delivery {

/// Delivers one request; called from several threads at once.
using DeliverFunction = std::function<qmgr::AgentReply(const qmgr::AgentRequest&)>;

/// Tells the queue manager, before their replies, that these requests of the burst no
/// longer hold their destinations (AgentReply::results_follow: their Maildir copies are in
/// new/ and only the directory syncs are left). Thread-safe: a Maildir batch's leader calls
/// it for every request of the batch, whichever thread serves them.
using ResultsFollowFunction = std::function<void(const std::vector<uint64_t>& request_ids)>;

/// Delivers requests that arrived together (1 to kMaxRequestsPerBurst); one reply per request,
/// in order; called from several threads at once. May have `results_follow` called (from
/// any thread, before it returns) for requests whose replies it still has to wait for.
using DeliverBurstFunction = std::function<std::vector<qmgr::AgentReply>(
    const std::vector<qmgr::AgentRequest>& requests, const ResultsFollowFunction& results_follow)>;

/// The most requests handed to one DeliverBurstFunction call.
inline constexpr size_t kMaxRequestsPerBurst = 64;

/// Serves `listen_fd` until SIGTERM or SIGINT (blocked in the calling thread and read through
/// a signalfd: call it before starting other threads), `threads` requests in parallel. Lowers
/// the calling thread's I/O priority (queue::make_current_thread_background). Also stops when
/// `spawner_exit_fd` (PrivilegedDelivery::exit_fd(); -1: none) hangs up, so that master
/// starts the agent and a new spawner. Returns the exit code: 0 after a signal, 1 on set-up
/// failure or when the spawner is gone (logged). A bad request shuts its connection down
/// (logged); from then on, and once a reply could not be written, the requests of that
/// connection still waiting are dropped, not delivered: the queue manager, which hears
/// nothing of them, sends them again (delivered unheard, an mbox copy would come twice).
int serve_agent_requests(int listen_fd, int threads, const DeliverFunction& deliver,
                         const log::Logger& log, int spawner_exit_fd = -1);

/// The same, but the requests that one read of a connection brings (up to
/// kMaxRequestsPerBurst) go to one call of `deliver` in one thread, and their replies leave
/// in one write: an agent that can deliver them together (one task per mailbox owner) pays
/// one thread hand-off and one reply write per burst instead of per request. Bursts form
/// only while the queue manager sends faster than the agent answers (no timer).
int serve_agent_bursts(int listen_fd, int threads, const DeliverBurstFunction& deliver,
                       const log::Logger& log, int spawner_exit_fd = -1);

}  // namespace estafeta::delivery
