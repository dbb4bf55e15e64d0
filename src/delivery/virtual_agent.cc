// The virtual delivery agent: requests in, plans (virtual_plan.h), tasks to the privileged
// spawner, replies out. See virtual_agent.h.
#include "delivery/virtual_agent.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
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

qmgr::AgentReply VirtualAgent::deliver(const qmgr::AgentRequest& request) {
  const int64_t start_us = system_now_us();
  RequestMessage read = read_request_message(store_.get(), request, "virtual", log_);
  if (read.deferred) return *read.deferred;
  qmgr::AgentReply reply;
  reply.id = request.id;
  const message::Envelope& env = read.read.value->file.envelope;
  const std::string& content = read.read.value->file.content;
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
  reply.recipients.resize(n);
  std::vector<int64_t> began(n, start_us);
  auto finish = [&](size_t i, qmgr::RecipientOutcome o, std::string dsn, std::string reason) {
    reply.recipients[i] =
        recipient_reply(request.recipients[i], o, std::move(dsn), std::move(reason), "virtual");
  };
  // Maildir deliveries grouped by owner: (uid, gid) -> recipient positions.
  std::map<std::pair<uid_t, gid_t>, std::vector<size_t>> maildir_groups;
  std::vector<VirtualPlan> plans(n);
  for (size_t i = 0; i < n; ++i) {
    const qmgr::AgentRecipient& r = request.recipients[i];
    began[i] = system_now_us();
    if (r.index >= env.recipients.size() || env.recipients[r.index].address != r.address) {
      finish(i, qmgr::RecipientOutcome::kDeferred, "4.3.0", "recipient not in the queue file");
      continue;
    }
    // An address queued without a domain (a notice to "postmaster") is at $myorigin, as
    // Postfix's cleanup would have written it.
    const std::string address =
        r.address.find('@') == std::string::npos && !options_.myorigin.empty()
            ? r.address + "@" + options_.myorigin
            : r.address;
    plans[i] = plan_virtual_delivery(options_.settings, lookups, address);
    const VirtualPlan& p = plans[i];
    if (!p.warning.empty()) log_.warning("{}", p.warning);
    switch (p.action) {
      case VirtualPlan::Action::Bounce:
        finish(i, qmgr::RecipientOutcome::kBounced, p.dsn, p.reason);
        break;
      case VirtualPlan::Action::Defer:
        finish(i, qmgr::RecipientOutcome::kDeferred, p.dsn, p.reason);
        break;
      case VirtualPlan::Action::Deliver:
        if (p.kind == TaskKind::Maildir) {
          maildir_groups[{p.uid, p.gid}].push_back(i);
        } else {
          DeliveryTask task;
          task.kind = TaskKind::Mbox;
          task.as = {p.uid, p.gid, {}, r.address, ""};
          task.path = p.path;
          task.sender = env.sender.empty() ? "MAILER-DAEMON" : env.sender;
          task.arrival_sec = env.arrival_us / 1000000;
          task.mbox_locks = options_.settings.mbox_locks;
          task.file_size_limit = options_.settings.mailbox_limit;
          TaskResult t =
              run_with(spawner_, task, maildir_message(env.sender, r.address, content, r.orcpt));
          finish(i, outcome_of(t.status), t.dsn, t.text);
        }
        break;
    }
  }
  // The copies of one owner go to its Maildir worker together (with other requests' copies
  // for it that wait meanwhile: delivery/maildir_batcher.h), in parts within a batch's limits.
  for (const auto& [owner, members] : maildir_groups) {
    size_t first = 0;
    while (first < members.size()) {
      DeliveryTask task;
      task.kind = TaskKind::MaildirBatch;
      task.as = {owner.first, owner.second, {}, request.recipients[members[first]].address, ""};
      task.file_size_limit = options_.settings.mailbox_limit;
      std::string bytes;
      size_t request_bytes = 0;
      size_t last = first;
      for (; last < members.size() && task.copies.size() < kMaxBatchCopies; ++last) {
        const size_t i = members[last];
        const qmgr::AgentRecipient& r = request.recipients[i];
        MaildirCopy copy;
        copy.path = plans[i].path;
        copy.maildir_name = maildir_file_name(env.arrival_us / 1000000, request.queue_id, r.index,
                                              options_.myhostname);
        const size_t cost = maildir_copy_request_bytes(copy);
        if (!task.copies.empty() && request_bytes + cost > kMaildirBatchRequestBytes) break;
        request_bytes += cost;
        const std::string copy_bytes = maildir_message(env.sender, r.address, content, r.orcpt);
        copy.offset = bytes.size();
        copy.length = copy_bytes.size();
        bytes += copy_bytes;
        task.copies.push_back(std::move(copy));
      }
      const std::vector<TaskResult> results = spawner_.run_maildir_copies(task, bytes);
      for (size_t k = first; k < last; ++k) {
        const TaskResult& part = results[k - first];
        finish(members[k], outcome_of(part.status), part.dsn, part.text);
      }
      first = last;
    }
  }
  for (size_t i = 0; i < n; ++i) {
    const qmgr::RecipientReply& out = reply.recipients[i];
    const int64_t end_us = system_now_us();
    log::DeliveryLine line;
    line.queue_id = request.queue_id;
    line.to = request.recipients[i].address;
    line.relay = "virtual";
    line.delay = static_cast<double>(std::max<int64_t>(0, end_us - env.arrival_us)) / 1e6;
    line.a = static_cast<double>(std::max<int64_t>(0, start_us - env.arrival_us)) / 1e6;
    line.d = static_cast<double>(std::max<int64_t>(0, end_us - began[i])) / 1e6;
    line.dsn = out.status;
    line.status = std::string(status_word(out.outcome));
    line.reason = out.reason;
    log_.info(log::delivery_line(line));
  }
  return reply;
}

int VirtualAgent::serve(int listen_fd) {
  if (!store_) return 1;  // the constructor logged why
  return serve_agent_requests(
      listen_fd, options_.threads, [this](const qmgr::AgentRequest& r) { return deliver(r); }, log_,
      spawner_.exit_fd());
}

}  // namespace estafeta::delivery
