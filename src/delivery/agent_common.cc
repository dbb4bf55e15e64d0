// The pieces the local and virtual delivery agents share. See agent_common.h.
#include "delivery/agent_common.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace estafeta::delivery {

std::unique_ptr<queue::QueueStore> open_queue_for_agent(const std::string& queue_directory,
                                                        const log::Logger& log) {
  auto store = queue::QueueStore::open({.queue_directory = queue_directory});
  if (store) return std::move(*store);
  log.error(fmt::format("cannot open the queue: {}", store.error().message));
  return nullptr;
}

qmgr::RecipientReply recipient_reply(const qmgr::AgentRecipient& r, qmgr::RecipientOutcome outcome,
                                     std::string status, std::string reason,
                                     std::string_view relay) {
  qmgr::RecipientReply out;
  out.index = r.index;
  out.outcome = outcome;
  out.status = std::move(status);
  out.reason = std::move(reason);
  out.relay = std::string(relay);
  return out;
}

qmgr::AgentReply defer_request(const qmgr::AgentRequest& request, const std::string& status,
                               const std::string& reason, std::string_view relay,
                               const log::Logger& log) {
  qmgr::AgentReply reply;
  reply.id = request.id;
  for (const auto& r : request.recipients) {
    reply.recipients.push_back(
        recipient_reply(r, qmgr::RecipientOutcome::kDeferred, status, reason, relay));
  }
  log.warning("{}: {}", request.queue_id, reason);
  return reply;
}

RequestMessage read_request_message(queue::QueueStore* store, const qmgr::AgentRequest& request,
                                    std::string_view relay, const log::Logger& log) {
  RequestMessage out;
  if (store == nullptr) {
    out.deferred = defer_request(request, "4.3.0", "queue not available", relay, log);
    return out;
  }
  const queue::QueueName queue =
      request.queue == "deferred" ? queue::QueueName::kDeferred : queue::QueueName::kActive;
  out.read = store->read_message(queue, request.queue_id);
  if (!out.read.ok()) {
    out.deferred = defer_request(request, "4.3.0", "cannot read the queue file: " + out.read.reason,
                                 relay, log);
  }
  return out;
}

qmgr::RecipientOutcome outcome_of(TaskStatus status) {
  switch (status) {
    case TaskStatus::Delivered:
    case TaskStatus::AlreadyDelivered:
      return qmgr::RecipientOutcome::kDelivered;
    case TaskStatus::Bounced:
      return qmgr::RecipientOutcome::kBounced;
    case TaskStatus::Deferred:
      return qmgr::RecipientOutcome::kDeferred;
  }
  return qmgr::RecipientOutcome::kDeferred;
}

std::string_view status_word(qmgr::RecipientOutcome outcome) {
  switch (outcome) {
    case qmgr::RecipientOutcome::kDelivered:
      return "sent";
    case qmgr::RecipientOutcome::kBounced:
      return "bounced";
    case qmgr::RecipientOutcome::kDeferred:
      return "deferred";
  }
  return "deferred";
}

}  // namespace estafeta::delivery
