// The virtual delivery agent: requests in, plans (virtual_plan.h), tasks to the privileged
// spawner, replies out. See virtual_agent.h.
#include "delivery/virtual_agent.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <tuple>
#include <utility>

#include "base/clock.h"
#include "delivery/agent_common.h"
#include "delivery/agent_server.h"
#include "delivery/fd_passing.h"
#include "delivery/maildir.h"
#include "log/delivery_line.h"

namespace estafeta::delivery {
namespace {

// Runs `task` with `bytes` as its message.
TaskResult run_with(PrivilegedDelivery& spawner, const DeliveryTask& task, std::string_view bytes) {
  auto fd = sealed_message_fd(bytes);
  if (!fd) return deferred("4.3.0", fd.error().message, fd.error().code);
  TaskResult r = spawner.run(task, *fd);
  ::close(*fd);
  return r;
}

}  // namespace

VirtualAgent::VirtualAgent(VirtualAgentOptions options, PrivilegedDelivery& spawner,
                           log::Logger log)
    : options_(std::move(options)), spawner_(spawner), log_(std::move(log)) {
  store_ = open_queue_for_agent(options_.queue_directory, log_);
}

VirtualAgent::~VirtualAgent() = default;

// One request between reading its message and answering it.
struct VirtualAgent::Prepared {
  const qmgr::AgentRequest* request = nullptr;
  int64_t start_us = 0;
  RequestMessage read;  // holds the message while the request is delivered
  qmgr::AgentReply reply;
  std::vector<int64_t> began;     // per recipient
  std::vector<VirtualPlan> plans;  // per recipient
  std::vector<bool> answered;      // per recipient
};

void VirtualAgent::prepare(Prepared& p) {
  const qmgr::AgentRequest& request = *p.request;
  p.start_us = system_now_us();
  p.read = read_request_message(store_.get(), request, "virtual", log_);
  if (p.read.deferred) return;
  p.reply.id = request.id;
  const message::Envelope& env = p.read.read.value->file.envelope;
  const std::string& content = p.read.read.value->file.content;
  const maps::MapSet& tables = *options_.tables;
  // Each parameter's tables in order; pattern tables only for the full address.
  auto lookup_in = [&tables](const std::vector<std::string>& specs) -> KeyLookup {
    if (specs.empty()) return nullptr;
    return [&tables, &specs](std::string_view key, bool partial) {
      for (const std::string& spec : specs) {
        if (partial && maps::is_pattern_table(spec)) continue;
        maps::LookupResult r = tables.lookup(spec, key);
        if (r.status != maps::LookupStatus::NotFound) return r;
      }
      return maps::LookupResult::not_found();
    };
  };
  const VirtualTables lookups{lookup_in(options_.mailbox_maps), lookup_in(options_.uid_maps),
                              lookup_in(options_.gid_maps)};

  const size_t n = request.recipients.size();
  p.reply.recipients.resize(n);
  p.began.assign(n, p.start_us);
  p.plans.resize(n);
  p.answered.assign(n, false);
  for (size_t i = 0; i < n; ++i) {
    const qmgr::AgentRecipient& r = request.recipients[i];
    p.began[i] = system_now_us();
    if (r.index >= env.recipients.size() || env.recipients[r.index].address != r.address) {
      answer(p, i, qmgr::RecipientOutcome::kDeferred, "4.3.0", "recipient not in the queue file");
      continue;
    }
    // An address queued without a domain (a notice to "postmaster") is at $myorigin, as
    // Postfix's cleanup would have written it.
    const std::string address =
        r.address.find('@') == std::string::npos && !options_.myorigin.empty()
            ? r.address + "@" + options_.myorigin
            : r.address;
    p.plans[i] = plan_virtual_delivery(options_.settings, lookups, address);
    const VirtualPlan& plan = p.plans[i];
    if (!plan.warning.empty()) log_.warning("{}", plan.warning);
    switch (plan.action) {
      case VirtualPlan::Action::Bounce:
        answer(p, i, qmgr::RecipientOutcome::kBounced, plan.dsn, plan.reason);
        break;
      case VirtualPlan::Action::Defer:
        answer(p, i, qmgr::RecipientOutcome::kDeferred, plan.dsn, plan.reason);
        break;
      case VirtualPlan::Action::Deliver:
        if (plan.kind == TaskKind::Maildir) break;  // left for deliver_maildirs()
        DeliveryTask task;
        task.kind = TaskKind::Mbox;
        task.as = {plan.uid, plan.gid, {}, r.address, ""};
        task.path = plan.path;
        task.sender = env.sender.empty() ? "MAILER-DAEMON" : env.sender;
        task.arrival_sec = env.arrival_us / 1000000;
        task.mbox_locks = options_.settings.mbox_locks;
        task.file_size_limit = options_.settings.mailbox_limit;
        TaskResult t =
            run_with(spawner_, task, maildir_message(env.sender, r.address, content, r.orcpt));
        answer(p, i, outcome_of(t.status), t.dsn, t.text);
        break;
    }
  }
}

void VirtualAgent::answer(Prepared& p, size_t i, qmgr::RecipientOutcome outcome, std::string dsn,
                          std::string reason) {
  p.reply.recipients[i] = recipient_reply(p.request->recipients[i], outcome, std::move(dsn),
                                          std::move(reason), "virtual");
  p.answered[i] = true;
}

void VirtualAgent::deliver_maildirs(std::vector<Prepared>& prepared,
                                    const ResultsFollowFunction& results_follow) {
  // The Maildir copies of every request, grouped by owner: (uid, gid) -> (request, recipient).
  std::map<std::pair<uid_t, gid_t>, std::vector<std::pair<size_t, size_t>>> groups;
  // Per request, its copies not yet in new/: at 0 its destination is free, which the queue
  // manager hears when it asked (release_wanted: a backlog waits for the destination).
  std::vector<size_t> unpublished(prepared.size(), 0);
  for (size_t k = 0; k < prepared.size(); ++k) {
    const Prepared& p = prepared[k];
    if (p.read.deferred) continue;
    for (size_t i = 0; i < p.plans.size(); ++i) {
      if (p.answered[i]) continue;
      groups[{p.plans[i].uid, p.plans[i].gid}].emplace_back(k, i);
      ++unpublished[k];
    }
  }
  // Each owner's copies go to its Maildir worker together (with other threads' copies for it
  // that wait meanwhile: delivery/maildir_batcher.h), in parts within a batch's limits.
  // (Not a structured binding: the lambda below captures `members`, which clang 14 refuses.)
  for (const auto& group : groups) {
    const std::pair<uid_t, gid_t>& owner = group.first;
    const std::vector<std::pair<size_t, size_t>>& members = group.second;
    size_t first = 0;
    while (first < members.size()) {
      DeliveryTask task;
      task.kind = TaskKind::MaildirBatch;
      const auto [k0, i0] = members[first];
      task.as = {owner.first, owner.second, {}, prepared[k0].request->recipients[i0].address, ""};
      task.file_size_limit = options_.settings.mailbox_limit;
      std::string bytes;
      size_t request_bytes = 0;
      size_t last = first;
      for (; last < members.size() && task.copies.size() < kMaxBatchCopies; ++last) {
        const auto [k, i] = members[last];
        const Prepared& p = prepared[k];
        const qmgr::AgentRecipient& r = p.request->recipients[i];
        const message::Envelope& env = p.read.read.value->file.envelope;
        MaildirCopy copy;
        copy.path = p.plans[i].path;
        copy.maildir_name = maildir_file_name(env.arrival_us / 1000000, p.request->queue_id,
                                              r.index, options_.myhostname);
        const size_t cost = maildir_copy_request_bytes(copy);
        if (!task.copies.empty() && request_bytes + cost > kMaildirBatchRequestBytes) break;
        std::string copy_bytes =
            maildir_message(env.sender, r.address, p.read.read.value->file.content, r.orcpt);
        // Large messages to many recipients: a part holds at most kMaildirBatchMessageBytes
        // (but always one copy), not a copy per recipient of the whole message at once.
        if (!task.copies.empty() && bytes.size() + copy_bytes.size() > kMaildirBatchMessageBytes) {
          break;
        }
        request_bytes += cost;
        copy.offset = bytes.size();
        copy.length = copy_bytes.size();
        bytes += copy_bytes;
        task.copies.push_back(std::move(copy));
      }
      std::function<void()> published;
      const bool listened =
          results_follow &&
          std::any_of(members.begin() + first, members.begin() + last,
                      [&](auto& m) { return prepared[m.first].request->release_wanted; });
      if (listened) {
        published = [&, first, last] {
          std::vector<uint64_t> free;
          for (size_t m = first; m < last; ++m) {
            const size_t k = members[m].first;
            if (--unpublished[k] == 0 && prepared[k].request->release_wanted) {
              free.push_back(prepared[k].request->id);
            }
          }
          if (!free.empty()) results_follow(free);
        };
      }
      const std::vector<TaskResult> results = spawner_.run_maildir_copies(task, bytes, published);
      for (size_t m = first; m < last; ++m) {
        const auto [k, i] = members[m];
        const TaskResult& part = results[m - first];
        answer(prepared[k], i, outcome_of(part.status), part.dsn, part.text);
      }
      first = last;
    }
  }
}

qmgr::AgentReply VirtualAgent::finish(Prepared& p) {
  if (p.read.deferred) return std::move(*p.read.deferred);
  const message::Envelope& env = p.read.read.value->file.envelope;
  for (size_t i = 0; i < p.reply.recipients.size(); ++i) {
    const qmgr::RecipientReply& out = p.reply.recipients[i];
    const int64_t end_us = system_now_us();
    log::DeliveryLine line;
    line.queue_id = p.request->queue_id;
    line.to = p.request->recipients[i].address;
    line.relay = "virtual";
    line.delay = static_cast<double>(std::max<int64_t>(0, end_us - env.arrival_us)) / 1e6;
    line.a = static_cast<double>(std::max<int64_t>(0, p.start_us - env.arrival_us)) / 1e6;
    line.d = static_cast<double>(std::max<int64_t>(0, end_us - p.began[i])) / 1e6;
    line.dsn = out.status;
    line.status = std::string(status_word(out.outcome));
    line.reason = out.reason;
    log_.info(log::delivery_line(line));
  }
  return std::move(p.reply);
}

std::vector<qmgr::AgentReply> VirtualAgent::deliver_all(
    const std::vector<qmgr::AgentRequest>& requests, const ResultsFollowFunction& results_follow) {
  std::vector<Prepared> prepared(requests.size());
  for (size_t k = 0; k < requests.size(); ++k) {
    prepared[k].request = &requests[k];
    prepare(prepared[k]);
  }
  deliver_maildirs(prepared, results_follow);
  std::vector<qmgr::AgentReply> replies;
  replies.reserve(prepared.size());
  for (Prepared& p : prepared) replies.push_back(finish(p));
  return replies;
}

qmgr::AgentReply VirtualAgent::deliver(const qmgr::AgentRequest& request) {
  return std::move(deliver_all({request}).front());
}

int VirtualAgent::serve(int listen_fd) {
  if (!store_) return 1;  // the constructor logged why
  return serve_agent_bursts(
      listen_fd, options_.threads,
      [this](const std::vector<qmgr::AgentRequest>& requests,
             const ResultsFollowFunction& results_follow) {
        return deliver_all(requests, results_follow);
      },
      log_, spawner_.exit_fd());
}

}  // namespace estafeta::delivery
