// What the local and virtual delivery agents share around their own delivery logic: the
// queue store they read messages from (read-only), the request's message, replies that
// defer a whole request, the mapping from a delivery task's result to a recipient outcome
// and its log word.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "delivery/delivery_task.h"
#include "log/logger.h"
#include "qmgr/protocol.h"
#include "queue/queue_store.h"

namespace estafeta::delivery {

/// Opens the queue store for reading; on failure logs why and returns null (the agent then
/// defers every request: "queue not available").
std::unique_ptr<queue::QueueStore> open_queue_for_agent(const std::string& queue_directory,
                                                        const log::Logger& log);

/// A recipient's reply from `relay` ("local", "virtual").
qmgr::RecipientReply recipient_reply(const qmgr::AgentRecipient& r, qmgr::RecipientOutcome outcome,
                                     std::string status, std::string reason,
                                     std::string_view relay);

/// The reply that defers every recipient of `request` with `status` and `reason` (logged
/// once as a warning).
qmgr::AgentReply defer_request(const qmgr::AgentRequest& request, const std::string& status,
                               const std::string& reason, std::string_view relay,
                               const log::Logger& log);

/// Reads the request's message from its queue (active/ or deferred/). `store` may be null.
/// On failure, `deferred` holds the reply that defers the whole request.
struct RequestMessage {
  queue::StoreRead<queue::StoredMessage> read;
  std::optional<qmgr::AgentReply> deferred;
};
RequestMessage read_request_message(queue::QueueStore* store, const qmgr::AgentRequest& request,
                                    std::string_view relay, const log::Logger& log);

/// A task's result as the queue manager's outcome (AlreadyDelivered is Delivered).
qmgr::RecipientOutcome outcome_of(TaskStatus status);

/// Postfix's status= word: sent, bounced, deferred.
std::string_view status_word(qmgr::RecipientOutcome outcome);

}  // namespace estafeta::delivery
