// The local delivery agent: requests in, Maildir deliveries, replies out. See local_agent.h;
// the crash-safety argument is in docs/queue-format.md ("Delivering").
#include "delivery/local_agent.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include "base/clock.h"
#include "delivery/agent_server.h"
#include "delivery/maildir.h"
#include "log/delay.h"
#include "message/write_failure.h"
#include "policy/mailbox_name.h"

namespace estafeta::delivery {
namespace {

qmgr::RecipientReply reply_for(const qmgr::AgentRecipient& r, qmgr::RecipientOutcome outcome,
                               std::string status, std::string reason) {
  qmgr::RecipientReply out;
  out.index = r.index;
  out.outcome = outcome;
  out.status = std::move(status);
  out.reason = std::move(reason);
  out.relay = "local";
  return out;
}

std::string_view status_word(qmgr::RecipientOutcome o) {
  switch (o) {
    case qmgr::RecipientOutcome::kDelivered: return "sent";
    case qmgr::RecipientOutcome::kBounced: return "bounced";
    case qmgr::RecipientOutcome::kDeferred: return "deferred";
  }
  return "deferred";
}

// A Maildir write that failed: what it means for the recipient (RFC 3463): 4.2.2 for a
// quota, 4.3.1 for a full disk, else 4.2.0 (message/write_failure.h).
std::string status_of_failure(const Error& e) {
  return std::string(message::mailbox_write_failure(e.code).dsn);
}

}  // namespace

LocalAgent::LocalAgent(LocalAgentOptions options, log::Logger log)
    : options_(std::move(options)), log_(std::move(log)) {
  if (options_.threads < 1) options_.threads = 1;
  auto store = queue::QueueStore::open({.queue_directory = options_.queue_directory});
  if (store) {
    store_ = std::move(*store);
  } else {
    log_.error(fmt::format("cannot open the queue: {}", store.error().message));
  }
}

LocalAgent::~LocalAgent() = default;

qmgr::AgentReply LocalAgent::deliver(const qmgr::AgentRequest& request) {
  const int64_t start_us = system_now_us();
  qmgr::AgentReply reply;
  reply.id = request.id;
  auto defer_all = [&](std::string status, std::string reason) {
    for (const auto& r : request.recipients) {
      reply.recipients.push_back(
          reply_for(r, qmgr::RecipientOutcome::kDeferred, status, reason));
    }
    log_.warning("{}: {}", request.queue_id, reason);
    return reply;
  };
  if (!store_) return defer_all("4.3.0", "queue not available");
  const queue::QueueName queue =
      request.queue == "deferred" ? queue::QueueName::kDeferred : queue::QueueName::kActive;
  auto read = store_->read_message(queue, request.queue_id);
  if (!read.ok()) return defer_all("4.3.0", "cannot read the queue file: " + read.reason);
  const message::Envelope& env = read.value->file.envelope;
  const std::string& content = read.value->file.content;

  std::vector<std::string> maildirs;  // each once: synced before any reply
  std::vector<std::string> lines;     // logged once durable
  auto line = [&](const qmgr::AgentRecipient& r, int64_t began_us, const qmgr::RecipientReply& out) {
    const int64_t end_us = system_now_us();
    return fmt::format(
        "{}: to=<{}>, relay=local, delay={}, delays={}/0/0/{}, dsn={}, status={} ({})",
        request.queue_id, r.address, log::format_delay(std::max<int64_t>(0, end_us - env.arrival_us) / 1e6),
        log::format_delay(std::max<int64_t>(0, start_us - env.arrival_us) / 1e6),
        log::format_delay((end_us - began_us) / 1e6), out.status, status_word(out.outcome), out.reason);
  };
  for (const qmgr::AgentRecipient& r : request.recipients) {
    const int64_t began_us = system_now_us();
    if (r.index >= env.recipients.size() || env.recipients[r.index].address != r.address) {
      reply.recipients.push_back(reply_for(r, qmgr::RecipientOutcome::kDeferred, "4.3.0",
                                           "recipient not in the queue file"));
      lines.push_back(line(r, began_us, reply.recipients.back()));
      continue;
    }
    const size_t at = r.address.rfind('@');
    std::string_view local =
        at == std::string::npos ? std::string_view(r.address) : std::string_view(r.address).substr(0, at);
    auto mailbox = policy::mailbox_name(local);
    if (!mailbox) {
      reply.recipients.push_back(reply_for(r, qmgr::RecipientOutcome::kBounced, "5.1.3",
                                           "illegal mailbox name"));
      lines.push_back(line(r, began_us, reply.recipients.back()));
      continue;
    }
    const std::string maildir = options_.mail_spool_directory + "/" + *mailbox + "/Maildir";
    const std::string name =
        maildir_file_name(env.arrival_us / 1000000, request.queue_id, r.index, options_.myhostname);
    auto linked = link_into_maildir(maildir, name, maildir_message(env.sender, r.address, content));
    if (!linked) {
      reply.recipients.push_back(
          reply_for(r, qmgr::RecipientOutcome::kDeferred, status_of_failure(linked.error()),
                    fmt::format("maildir delivery failed: {}", linked.error().message)));
      lines.push_back(line(r, began_us, reply.recipients.back()));
      continue;
    }
    reply.recipients.push_back(reply_for(r, qmgr::RecipientOutcome::kDelivered, "2.0.0",
                                         "delivered to maildir"));
    lines.push_back(line(r, began_us, reply.recipients.back()));
    if (std::find(maildirs.begin(), maildirs.end(), maildir) == maildirs.end()) {
      maildirs.push_back(maildir);
    }
  }
  // Delivered means durable: every new/ entry synced before the reply says so. Concurrent
  // requests share these syncs.
  for (const std::string& maildir : maildirs) {
    if (Status s = sync_maildir_new(maildir, syncs_); !s.ok()) {
      for (size_t i = 0; i < reply.recipients.size(); ++i) {
        auto& out = reply.recipients[i];
        if (out.outcome != qmgr::RecipientOutcome::kDelivered) continue;
        // The retry finds the name taken and syncs again.
        out.outcome = qmgr::RecipientOutcome::kDeferred;
        out.status = status_of_failure(s.error());
        out.reason = fmt::format("maildir delivery failed: {}", s.error().message);
        lines[i] = line(request.recipients[i], start_us, out);
      }
      break;
    }
  }
  for (const std::string& l : lines) log_.info("{}", l);
  return reply;
}

int LocalAgent::serve(int listen_fd) {
  if (!store_) return 1;  // the constructor logged why
  return serve_agent_requests(
      listen_fd, options_.threads, [this](const qmgr::AgentRequest& r) { return deliver(r); },
      log_);
}

}  // namespace estafeta::delivery
