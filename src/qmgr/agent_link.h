// The queue manager's end of a connection to a service it sends requests to (one
// transport's delivery agent, the bounce service): a non-blocking unix stream socket, the
// requests waiting until it is connected, those sent and not yet answered, and the bytes in
// both directions. The loop (queue_manager.cc) polls the descriptor and calls these.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "qmgr/scheduler.h"

namespace estafeta::qmgr {

/// One connection (agent or bounce service); owned by the queue manager's loop.
struct AgentLink {
  std::string socket_path;
  std::string name;  // for logs: "the local delivery agent", "the bounce service"
  int fd = -1;
  std::string out;  // encoded requests not yet written
  std::string in;   // bytes read, not yet a whole reply
  std::set<uint64_t> in_flight;  // request ids sent on this connection
  std::vector<std::pair<uint64_t, std::string>> waiting;  // until connected: id, encoded
  TimePoint next_connect{};
  TimePoint waiting_since{};  // when `waiting` last became non-empty
};

/// Connects `link` if it is down, has requests waiting and its next try is due; false when
/// it stays down (the next try is then a second away).
bool connect_link(AgentLink& link, TimePoint now);
/// Moves the waiting requests to the output of a connected link.
void send_waiting(AgentLink& link);
/// Writes what the socket takes, then reads what is there; the error when the link broke.
std::optional<std::string> link_io(AgentLink& link, short revents);
/// Closes a broken link; returns the ids of the requests it did not answer.
std::set<uint64_t> close_link(AgentLink& link, TimePoint now);

}  // namespace estafeta::qmgr
