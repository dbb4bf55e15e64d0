// The queue manager's event loop: admission, requests to agents and to the bounce service,
// outcomes to the queue store. See queue_manager.h; the states and their crash arguments
// are in docs/queue-format.md.
#include "qmgr/queue_manager.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "log/delivery_line.h"
#include "message/dsn.h"
#include "net/signal_fd.h"
#include "net/unix_socket.h"
#include "qmgr/agent_link.h"
#include "qmgr/flush_request.h"
#include "route/canonical_form.h"
#include "route/resolver.h"
#include "qmgr/problem_class.h"
#include "qmgr/protocol.h"
#include "qmgr/scheduler.h"
#include "queue/queue_store.h"
#include "queue/spool.h"

namespace estafeta::qmgr {
namespace {

using queue::QueueName;
using queue::StatusEntry;
using queue::StatusKind;

constexpr std::string_view kLocalTransport = "local";
constexpr std::string_view kSmtpTransport = "smtp";
constexpr std::string_view kRelayTransport = "relay";
// The transports the queue manager answers itself, as Postfix's error(8), retry and
// discard(8) do for every recipient of a request: bounced, deferred or discarded with the
// next hop's text, which may start with an enhanced status code ("5.1.1 User unknown in
// virtual alias table").
struct BuiltinTransport {
  std::string_view name;
  Outcome outcome;
  std::string_view status;  // when the text has none
  std::string_view text;    // when the next hop is empty
};
constexpr BuiltinTransport kBuiltinTransports[] = {
    {"error", Outcome::Bounced, "5.0.0", "mail for this destination is refused"},
    {"retry", Outcome::Deferred, "4.0.0", "delivery temporarily suspended"},
    {"discard", Outcome::Delivered, "2.0.0", "discarded"},
};

const BuiltinTransport* builtin_transport(std::string_view name) {
  for (const BuiltinTransport& t : kBuiltinTransports) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

DeliveryReport builtin_transport_report(const DeliveryRequest& r, const BuiltinTransport& t) {
  std::string status(t.status);
  std::string_view text = r.next_hop.empty() ? t.text : std::string_view(r.next_hop);
  size_t space = text.find(' ');
  if (space != std::string_view::npos && space >= 5 && text[0] == t.status[0] &&
      text[1] == '.') {
    status = std::string(text.substr(0, space));
    text.remove_prefix(space + 1);
  }
  std::string reason(text);
  if (t.outcome == Outcome::Delivered && reason != "discarded") reason = "discarded: " + reason;
  DeliveryReport report;
  report.request_id = r.id;
  for (const auto& rcpt : r.recipients) {
    report.recipients.push_back({rcpt.index, t.outcome, {status, reason, "", "none", ""}});
  }
  return report;
}

int64_t to_us(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

TimePoint from_us(int64_t us) { return TimePoint(std::chrono::microseconds(us)); }

std::string_view status_word(Outcome o) {
  switch (o) {
    case Outcome::Delivered: return "sent";
    case Outcome::Bounced: return "bounced";
    case Outcome::Deferred: return "deferred";
  }
  return "deferred";
}

// Closes a descriptor at the end of a scope.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

class QueueManager::Loop {
 public:
  Loop(QueueManager& qm, std::unique_ptr<queue::QueueStore> store)
      : qm_(qm), store_(std::move(store)), scheduler_(qm.options_.scheduler, qm.clock_) {
    for (const std::string& transport : qm.options_.agent_transports) {
      AgentLink& link = agents_[transport];
      link.socket_path = qm.options_.queue_directory + "/private/" + transport;
      link.name = fmt::format("the {} delivery agent", transport);
    }
    bounce_.socket_path = qm.options_.queue_directory + "/private/bounce";
    bounce_.name = "the bounce service";
  }
  ~Loop() {
    for (auto& [transport, link] : agents_) {
      if (link.fd >= 0) ::close(link.fd);
    }
    if (bounce_.fd >= 0) ::close(bounce_.fd);
    if (wakeup_fd_ >= 0) ::close(wakeup_fd_);
  }

  Status start();
  int serve(int signal_fd);

 private:
  // What the scheduler decided at the end of a message's pass; performed once the notices
  // of the message are answered.
  struct PassEnd {
    bool finished = false;     // every recipient done: remove the file
    TimePoint next_attempt{};  // otherwise: deferred/ until then
  };

  struct InMemory {
    QueueName queue = QueueName::kActive;
    message::Envelope envelope;
    std::vector<StatusEntry> unrecorded;  // outcomes of this pass not yet in the status log
    /// Bounced recipients whose non-delivery notice the bounce service has not yet
    /// written: recorded as done only after its answer (docs/queue-format.md, "Notices").
    std::vector<StatusEntry> unnotified;
    /// Deferrals of this pass that notify_classes reports to error_notice_recipient.
    std::vector<NoticeFacts> resource_problems, software_problems;
    int notices_pending = 0;             // requests to the bounce service not yet answered
    bool bounce_kept_pending = false;    // a non-delivery notice failed: its recipients wait
    std::optional<PassEnd> pass_end;     // set when the scheduler let the message go
    /// Per pending recipient: the final deliveries of an expansion already made (status
    /// log kActionDone entries), handed to the agent so that it does not repeat them.
    std::map<uint32_t, std::vector<std::string>> done_actions;
    /// Queued before this queue manager started and not tried since: an attempt of the
    /// last run may have been cut short (AgentRequest::after_restart).
    bool after_restart = false;
  };

  // A request to the bounce service, until its answer.
  struct NoticeJob {
    std::string queue_id;
    NoticeRequestKind kind = NoticeRequestKind::kFailure;
    std::vector<uint32_t> indexes;  // the recipients it is about
    TimePoint asked{};              // when it was made
  };

  void recover();
  void scan_active();
  void offer_new(const std::string& id);
  void flush_requested(std::string_view datagram);
  const FlushRequest* matching_flush(const std::string& id);
  void run_deferred_scan();
  void admit_waiting();
  void admit(const std::string& id, QueueName queue);
  void dispatch_requests();
  void record_done_actions(const std::string& id, const AgentReply& reply);
  void perform_events();
  void remove_finished(const std::vector<std::pair<std::string, QueueName>>& finished);
  void log_status(const RecipientStatus& s);
  void request_notice(const std::string& id, InMemory& m, NoticeRequestKind kind,
                      std::vector<NoticeFacts> facts);
  void notice_answered(uint64_t request_id, const BounceReply& reply);
  /// Ends the message's pass once its notices are answered: removes a finished file (into
  /// `removals` when given, to be removed with its batch) or records and defers the rest.
  void finish_if_answered(const std::string& id,
                          std::vector<std::pair<std::string, QueueName>>* removals = nullptr);
  void flush_records(const std::string& id, InMemory& m);
  void read_wakeups();
  void agent_io(AgentLink& link, short revents);
  void agent_failed(AgentLink& link, const std::string& why);
  void bounce_io(short revents);
  void bounce_failed(const std::string& why);
  void bounce_connect();
  int poll_timeout_ms() const;
  NoticeFacts facts_of(uint32_t index, const std::string& address, const Dsn& dsn,
                       std::string reason) const {
    NoticeFacts facts{index, address, dsn.status, std::move(reason), dsn.diagnostic,
                      dsn.remote_mta, to_us(qm_.clock_.now())};
    facts.action = dsn.action;
    return facts;
  }

  // When the rescan for lost wake-ups is due: once every announced message is admitted, at
  // most once a second. nullopt if none is needed (or not yet: some still wait).
  std::optional<TimePoint> rescan_due_when() const {
    if (!rescan_when_caught_up_ || !new_waiting_.empty()) return std::nullopt;
    return last_active_scan_ + std::chrono::seconds(1);
  }

  QueueManager& qm_;
  std::unique_ptr<queue::QueueStore> store_;
  Scheduler scheduler_;
  std::map<std::string, InMemory, std::less<>> messages_;
  std::deque<std::string> new_waiting_;
  std::set<std::string, std::less<>> new_waiting_set_;
  std::deque<std::string> deferred_waiting_;
  bool deferred_scan_running_ = false;
  // Flush requests (flush_request.h) waiting for the deferred scan they start, those of the
  // running scan, and the candidates they took: queue id -> next-hop override ("" = none).
  std::vector<FlushRequest> pending_flushes_, scan_flushes_;
  std::map<std::string, std::string, std::less<>> flushed_;
  TimePoint next_active_rescan_{};
  TimePoint last_active_scan_{};
  // Wake-ups lost to a full socket queue (see read_wakeups): rescan active/ once the ones
  // that came are admitted.
  bool rescan_when_caught_up_ = false;
  size_t wakeup_queue_limit_ = 10;  // net.unix.max_dgram_qlen
  int wakeup_fd_ = -1;
  std::map<std::string, AgentLink, std::less<>> agents_;  // by transport name
  std::map<uint64_t, std::string> agent_request_messages_;  // request id -> queue id, in flight
  int64_t started_us_ = 0;  // when start() ran
  AgentLink bounce_;
  std::map<uint64_t, NoticeJob> notice_jobs_;
  uint64_t next_notice_request_ = 1;
};

Status QueueManager::Loop::start() {
  started_us_ = to_us(qm_.clock_.now());
  const std::string& q = qm_.options_.queue_directory;
  for (const char* sub : {"/public", "/private", "/pid"}) (void)::mkdir((q + sub).c_str(), 0700);
  recover();
  auto bound = net::bind_unix_socket(q + "/public/qmgr", SOCK_DGRAM, 0600, SOCK_NONBLOCK);
  if (!bound.ok()) return bound.error();
  wakeup_fd_ = *bound;
  // A big receive buffer: a burst of wake-ups must not be lost (a lost one only delays a
  // message until the next rescan).
  int size = 4 << 20;
  (void)::setsockopt(wakeup_fd_, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  // Linux also queues at most net.unix.max_dgram_qlen datagrams on a unix socket, whatever
  // the buffer: more senders get EAGAIN (read_wakeups repairs that).
  if (FILE* f = std::fopen("/proc/sys/net/unix/max_dgram_qlen", "r")) {
    unsigned long limit = 0;
    if (std::fscanf(f, "%lu", &limit) == 1 && limit > 0) wakeup_queue_limit_ = limit;
    std::fclose(f);
  }
  scan_active();
  return {};
}

// A crash between the two directory syncs of a move may leave a message under two names:
// keep one (hold wins, then active), unlink the rest. Then drop status logs of messages that
// are gone.
void QueueManager::Loop::recover() {
  // Sorted listings (QueueStore::list sorts) searched, not a map of every queued id (with
  // 100,000 deferred messages, 100,000 map nodes and strings built at every start).
  std::vector<std::string> hold, active;
  if (auto names = store_->list(QueueName::kHold)) hold = std::move(*names);
  if (auto names = store_->list(QueueName::kActive)) active = std::move(*names);
  auto in = [](const std::vector<std::string>& sorted, const std::string& id) {
    return std::binary_search(sorted.begin(), sorted.end(), id);
  };
  auto drop = [&](QueueName kept, QueueName dropped, const std::string& id) {
    qm_.log_.warning("{}: found in {} and {}: keeping the {} copy", id,
                     queue::queue_dir_name(kept), queue::queue_dir_name(dropped),
                     queue::queue_dir_name(kept));
    // Not remove(): the status log belongs to the copy that stays.
    (void)store_->drop_duplicate(dropped, id);
  };
  for (const auto& id : active) {
    if (in(hold, id)) drop(QueueName::kHold, QueueName::kActive, id);
  }
  if (auto deferred = store_->list(QueueName::kDeferred)) {
    for (const auto& id : *deferred) {
      if (in(hold, id)) {
        drop(QueueName::kHold, QueueName::kDeferred, id);
      } else if (in(active, id)) {
        drop(QueueName::kActive, QueueName::kDeferred, id);
      }
    }
  }
  auto orphans = store_->remove_orphan_status_logs();
  if (orphans && *orphans > 0) qm_.log_.info("removed {} orphan status logs", *orphans);
}

void QueueManager::Loop::scan_active() {
  next_active_rescan_ = qm_.clock_.now() + qm_.options_.active_rescan;
  last_active_scan_ = qm_.clock_.now();
  rescan_when_caught_up_ = false;
  auto names = store_->list(QueueName::kActive);
  if (!names) {
    qm_.log_.warning("scan of active/: {}", names.error().message);
    return;
  }
  for (const auto& id : *names) offer_new(id);
}

void QueueManager::Loop::offer_new(const std::string& id) {
  if (messages_.count(id) || !new_waiting_set_.insert(id).second) return;
  new_waiting_.push_back(id);
}

void QueueManager::Loop::run_deferred_scan() {
  if (!deferred_scan_running_) {
    auto scan = scheduler_.begin_deferred_scan();
    if (!scan) return;
    deferred_scan_running_ = true;
    scan_flushes_ = std::move(pending_flushes_);
    pending_flushes_.clear();
    // A flush without a request (none is made so) takes everything, as before.
    if (scan->flush && scan_flushes_.empty()) scan_flushes_.push_back(FlushRequest{});
    const TimePoint now = qm_.clock_.now();
    auto names = store_->list(QueueName::kDeferred);
    if (names) {
      for (const auto& id : *names) {
        if (messages_.count(id)) continue;
        auto due = store_->next_attempt(QueueName::kDeferred, id);
        if (!due) continue;  // gone meanwhile
        const FlushRequest* flush = matching_flush(id);
        if (flush != nullptr) flushed_[id] = flush->next_hop;
        if (flush != nullptr || from_us(*due) <= now) deferred_waiting_.push_back(id);
      }
    } else {
      qm_.log_.warning("scan of deferred/: {}", names.error().message);
    }
  }
  if (deferred_waiting_.empty()) {
    deferred_scan_running_ = false;
    scheduler_.deferred_scan_done();
    scan_flushes_.clear();
    flushed_.clear();  // what admission did not take (a message gone meanwhile)
  }
}

// The first flush request of the running scan that takes the message; null if none does.
const FlushRequest* QueueManager::Loop::matching_flush(const std::string& id) {
  std::optional<std::vector<std::string>> pending;  // read once, only for a site
  for (const FlushRequest& flush : scan_flushes_) {
    if (!flush.site.empty() && !pending) {
      pending.emplace();
      auto read = store_->read_envelope(QueueName::kDeferred, id);
      if (!read.ok()) return nullptr;  // admission reports what is wrong with it
      const auto& recipients = read.value->envelope.recipients;
      for (size_t i = 0; i < recipients.size(); ++i) {
        if (!read.value->recipients[i].done) pending->push_back(recipients[i].address);
      }
    }
    if (flush_matches(flush, id, pending ? *pending : std::vector<std::string>{})) return &flush;
  }
  return nullptr;
}

void QueueManager::Loop::flush_requested(std::string_view datagram) {
  auto request = parse_flush_request(datagram);
  if (!request) {
    qm_.log_.warning("malformed flush request on public/qmgr: ignored");
    return;
  }
  qm_.log_.info(
      "flush requested{}{}{}", request->site.empty() ? "" : " for site " + request->site,
      request->queue_id_part.empty() ? "" : " for queue ids with " + request->queue_id_part,
      request->next_hop.empty() ? "" : " via " + request->next_hop);
  pending_flushes_.push_back(std::move(*request));
  scheduler_.flush();
}

void QueueManager::Loop::admit_waiting() {
  while (auto source = scheduler_.next_source(!new_waiting_.empty(), !deferred_waiting_.empty())) {
    if (*source == QueueSource::New) {
      std::string id = std::move(new_waiting_.front());
      new_waiting_.pop_front();
      new_waiting_set_.erase(id);
      admit(id, QueueName::kActive);
    } else {
      std::string id = std::move(deferred_waiting_.front());
      deferred_waiting_.pop_front();
      admit(id, QueueName::kDeferred);
    }
    if (deferred_scan_running_ && deferred_waiting_.empty()) {
      deferred_scan_running_ = false;
      scheduler_.deferred_scan_done();
      scan_flushes_.clear();
      flushed_.clear();  // what admission did not take (a message gone meanwhile)
    }
  }
}

void QueueManager::Loop::admit(const std::string& id, QueueName queue) {
  if (messages_.count(id)) return;
  auto read = store_->read_envelope(queue, id);
  if (!read.ok()) {
    if (read.failure == queue::ReadFailure::kCorrupt) {
      const bool moved = store_->move(id, queue, QueueName::kCorrupt).ok();
      qm_.log_.warning("{}: corrupt queue file: {}{}", id, read.reason,
                       moved ? "; moved to corrupt/" : "");
    } else if (read.failure == queue::ReadFailure::kError) {
      qm_.log_.warning("{}: {}", id, read.reason);  // the next scan tries again
    }
    return;
  }
  queue::StoredEnvelope& stored = *read.value;
  const message::Envelope& env = stored.envelope;
  MessageIn in;
  in.queue_id = id;
  std::optional<std::string> flush_next_hop;  // set: brought in by a flush request
  if (auto f = flushed_.find(id); f != flushed_.end()) {
    flush_next_hop = std::move(f->second);
    flushed_.erase(f);
    in.flushed = true;
  }
  in.arrival = from_us(env.arrival_us);
  in.null_sender = env.sender.empty();
  in.source = queue == QueueName::kActive ? QueueSource::New : QueueSource::Deferred;
  in.delay_warning_sent = queue::delay_warning_sent(stored.status);
  size_t pending = 0;
  std::map<uint32_t, std::vector<std::string>> done_actions;
  for (size_t i = 0; i < env.recipients.size(); ++i) {
    if (stored.recipients[i].done) continue;
    if (!stored.recipients[i].done_actions.empty()) {
      done_actions[static_cast<uint32_t>(i)] = std::move(stored.recipients[i].done_actions);
    }
    const std::string& address = env.recipients[i].address;
    route::ResolveResult resolved;
    // header_checks FILTER: every recipient goes through that transport and destination
    // (unless a REDIRECT overrides it; the cleanup stage records only one of them anyway).
    const std::string_view filter =
        env.actions.redirect.empty() ? std::string_view(env.actions.filter) : std::string_view();
    if (auto filtered = route::filter_resolution(filter, address)) {
      resolved.resolution = std::move(*filtered);
    } else {
      resolved = route::resolve(qm_.options_.route,
                                route::canonical_form(qm_.options_.route, address), env.sender);
    }
    if (resolved.temp_fail) {
      qm_.log_.warning("{}: address resolver table lookup failed; trying later", id);
      return;  // the next scan tries again
    }
    RecipientIn r;
    r.index = static_cast<uint32_t>(i);
    r.address = address;
    r.transport = std::move(resolved.resolution.transport);
    // The local agent's destination is the recipient (local_destination_recipient_limit = 1).
    r.next_hop = r.transport == kLocalTransport ? address : resolved.resolution.nexthop;
    // A flush route (flush_request.h) replaces the smart host of the SMTP transports.
    if (flush_next_hop && !flush_next_hop->empty() &&
        (r.transport == kSmtpTransport || r.transport == kRelayTransport)) {
      r.next_hop = *flush_next_hop;
    }
    in.recipients.push_back(std::move(r));
    ++pending;
  }
  if (Status s = scheduler_.admit(std::move(in)); !s.ok()) {
    qm_.log_.warning("{}: {}", id, s.error().message);
    return;
  }
  qm_.log_.info("{}: from=<{}>, size={}, nrcpt={} (queue active)", id, env.sender,
                stored.content_size, pending);
  if (!env.redirected_from.empty() && queue == QueueName::kActive) {
    // header_checks REDIRECT: the recipients it replaced, for the log (once, not at every
    // retry from deferred/).
    std::string was;
    for (const auto& r : env.redirected_from) was += (was.empty() ? "<" : ", <") + r.address + ">";
    qm_.log_.info("{}: redirect to=<{}>, orig_to={}", id, env.recipients.front().address, was);
  }
  InMemory& m = messages_[id];
  m.queue = queue;
  m.envelope = std::move(stored.envelope);
  m.done_actions = std::move(done_actions);
  // In deferred/, a message tried since the start has its next attempt after it.
  m.after_restart = m.envelope.arrival_us < started_us_;
  if (m.after_restart && queue == QueueName::kDeferred) {
    auto due = store_->next_attempt(queue, id);
    m.after_restart = due.ok() && *due <= started_us_;
  }
}

void QueueManager::Loop::dispatch_requests() {
  for (DeliveryRequest& r : scheduler_.take_requests()) {
    auto m = messages_.find(r.queue_id);
    if (const BuiltinTransport* builtin = builtin_transport(r.transport)) {
      // error:, retry:, discard: (transport_maps; a virtual alias domain's unknown address).
      (void)scheduler_.report(builtin_transport_report(r, *builtin));
      continue;
    }
    auto agent = agents_.find(r.transport);
    if (agent == agents_.end() || m == messages_.end()) {
      // No agent for this transport (no master.cf row runs it): the recipients wait in
      // deferred/ and are retried, and bounced when the message expires.
      DeliveryReport report;
      report.request_id = r.id;
      for (const auto& rcpt : r.recipients) {
        report.recipients.push_back({rcpt.index, Outcome::Deferred,
                                     {"4.3.0", "mail transport unavailable", "",
                                      "none"}});
      }
      (void)scheduler_.report(report);
      continue;
    }
    AgentRequest request;
    request.id = r.id;
    request.queue_id = r.queue_id;
    request.queue = std::string(queue::queue_dir_name(m->second.queue));
    request.transport = r.transport;
    request.next_hop = r.next_hop;
    for (const auto& rcpt : r.recipients) {
      const auto& e = m->second.envelope.recipients[rcpt.index];
      AgentRecipient out{rcpt.index, rcpt.address, e.orcpt, e.notify};
      if (auto done = m->second.done_actions.find(rcpt.index);
          done != m->second.done_actions.end()) {
        out.done_actions = done->second;
      }
      request.recipients.push_back(std::move(out));
    }
    request.after_restart = m->second.after_restart;
    request.more_mail = r.more_mail;
    request.release_wanted = r.release_wanted;
    agent_request_messages_[r.id] = r.queue_id;
    agent->second.waiting.emplace_back(r.id, encode_request(request));
  }
  for (auto& [transport, link] : agents_) {
    if (link.waiting.empty()) continue;
    connect_link(link, qm_.clock_.now());
    send_waiting(link);
  }
}

void QueueManager::Loop::agent_failed(AgentLink& link, const std::string& why) {
  qm_.log_.warning("connection to {}: {}", link.name, why);
  // What it did not answer is deferred (the scheduler's kAgentDidNotReport).
  for (uint64_t id : close_link(link, qm_.clock_.now())) {
    agent_request_messages_.erase(id);
    DeliveryReport report;
    report.request_id = id;
    (void)scheduler_.report(report);
  }
}

void QueueManager::Loop::agent_io(AgentLink& link, short revents) {
  if (auto broken = link_io(link, revents)) return agent_failed(link, *broken);
  for (;;) {
    auto reply = take_reply(link.in);
    if (!reply.ok()) return agent_failed(link, "bad reply: " + reply.error().message);
    if (!reply->has_value()) break;
    const AgentReply& a = **reply;
    if (a.results_follow) {
      // The destination's slot is free; the request stays in flight (a lost agent defers it)
      // and the queue file as it is until the results come.
      if (!link.in_flight.contains(a.id)) continue;  // not ours (never happens)
      if (Status s = scheduler_.release(a.id); !s.ok()) {
        qm_.log_.warning("agent reply {}: {}", a.id, s.error().message);
      }
      continue;
    }
    if (!link.in_flight.erase(a.id)) continue;  // not ours (never happens)
    auto about = agent_request_messages_.find(a.id);
    if (about != agent_request_messages_.end()) {
      record_done_actions(about->second, a);
      agent_request_messages_.erase(about);
    }
    DeliveryReport report;
    report.request_id = a.id;
    for (const auto& r : a.recipients) {
      const Outcome o = r.outcome == RecipientOutcome::kDelivered ? Outcome::Delivered
                        : r.outcome == RecipientOutcome::kBounced ? Outcome::Bounced
                                                                  : Outcome::Deferred;
      report.recipients.push_back(
          {r.index, o, {r.status, r.reason, r.diagnostic, r.relay, r.action}});
    }
    if (!a.destination_failure.empty()) {
      report.destination_failure = Dsn{"4.4.1", a.destination_failure, "", "", ""};
    }
    if (Status s = scheduler_.report(report); !s.ok()) {
      qm_.log_.warning("agent reply {}: {}", a.id, s.error().message);
    }
  }
}

// The final deliveries an agent made for recipients it still defers (an expansion partly
// delivered) go into the status log with the deferral (the same flush), so that neither the
// next attempt nor a restart repeats them.
void QueueManager::Loop::record_done_actions(const std::string& id, const AgentReply& reply) {
  auto m = messages_.find(id);
  if (m == messages_.end()) return;
  const int64_t now = to_us(qm_.clock_.now());
  for (const auto& r : reply.recipients) {
    InMemory& in = m->second;
    if (r.outcome != RecipientOutcome::kDeferred || r.index >= in.envelope.recipients.size()) {
      continue;
    }
    auto& known = in.done_actions[r.index];
    for (const std::string& key : r.done_actions) {
      if (std::find(known.begin(), known.end(), key) != known.end()) continue;
      known.push_back(key);
      in.unrecorded.push_back(StatusEntry{StatusKind::kActionDone, r.index, now, "", "", key});
    }
  }
}

// ---- notices: requests to the bounce service ---------------------------------------------

void QueueManager::Loop::request_notice(const std::string& id, InMemory& m,
                                        NoticeRequestKind kind, std::vector<NoticeFacts> facts) {
  BounceRequest request;
  request.id = next_notice_request_++;
  request.queue_id = id;
  request.queue = std::string(queue::queue_dir_name(m.queue));
  request.kind = kind;
  NoticeJob job{id, kind, {}, qm_.clock_.now()};
  for (const NoticeFacts& f : facts) job.indexes.push_back(f.index);
  request.recipients = std::move(facts);
  notice_jobs_[request.id] = std::move(job);
  m.notices_pending += 1;
  if (bounce_.waiting.empty()) bounce_.waiting_since = qm_.clock_.now();
  // Sent by the loop's bounce_connect(), never from here: an answer may end the pass of a
  // message that the caller still holds.
  bounce_.waiting.emplace_back(request.id, encode_bounce_request(request));
}

// Connects to the bounce service when requests wait. While it is down they wait a few
// seconds (it may be starting with us, or restarting), then fail: their recipients stay
// pending and the message is tried again after its backoff, so nothing is lost and nothing
// spins. A service that accepted requests but does not answer them (hung) is given up on
// after bounce_reply_timeout, the same way.
void QueueManager::Loop::bounce_connect() {
  const TimePoint now = qm_.clock_.now();
  // Request ids grow with time, and waiting requests are bounded by the patience above: the
  // first job is the oldest request in flight.
  if (bounce_.fd >= 0 && !bounce_.in_flight.empty() && !notice_jobs_.empty() &&
      now - notice_jobs_.begin()->second.asked >= qm_.options_.bounce_reply_timeout) {
    bounce_failed(fmt::format("no answer within {} s", qm_.options_.bounce_reply_timeout.count()));
  }
  if (!connect_link(bounce_, now) && !bounce_.waiting.empty() &&
      now - bounce_.waiting_since >= qm_.options_.bounce_connect_patience) {
    std::vector<std::pair<uint64_t, std::string>> failed;
    failed.swap(bounce_.waiting);
    qm_.log_.warning("cannot connect to {} ({}): {} notice request{} fail, tried again later",
                     bounce_.name, bounce_.socket_path, failed.size(),
                     failed.size() == 1 ? "" : "s");
    for (const auto& [id, bytes] : failed) {
      notice_answered(id, BounceReply{id, {}, "bounce service unavailable"});
    }
    return;
  }
  send_waiting(bounce_);
}

void QueueManager::Loop::bounce_failed(const std::string& why) {
  qm_.log_.warning("connection to {}: {}", bounce_.name, why);
  for (uint64_t id : close_link(bounce_, qm_.clock_.now())) {
    notice_answered(id, BounceReply{id, {}, "bounce service failed: " + why});
  }
}

void QueueManager::Loop::bounce_io(short revents) {
  if (auto broken = link_io(bounce_, revents)) return bounce_failed(*broken);
  for (;;) {
    auto reply = take_bounce_reply(bounce_.in);
    if (!reply.ok()) return bounce_failed("bad reply: " + reply.error().message);
    if (!reply->has_value()) break;
    if (!bounce_.in_flight.erase((**reply).id)) continue;  // not ours (never happens)
    notice_answered((**reply).id, **reply);
  }
}

// The bounce service answered (or could not be asked). Written: what the notice was waiting
// for is recorded (bounced recipients, the delay warning) and the notices are admitted.
// Not written: bounced recipients stay pending (recorded as deferred), a delay warning is
// sent at a later pass, a success or postmaster notice is lost (logged).
void QueueManager::Loop::notice_answered(uint64_t request_id, const BounceReply& reply) {
  auto j = notice_jobs_.find(request_id);
  if (j == notice_jobs_.end()) return;
  NoticeJob job = std::move(j->second);
  notice_jobs_.erase(j);
  auto found = messages_.find(job.queue_id);
  if (found == messages_.end()) return;
  InMemory& m = found->second;
  m.notices_pending -= 1;
  const int64_t now = to_us(qm_.clock_.now());
  auto take_unnotified = [&m](uint32_t index) -> std::optional<StatusEntry> {
    auto it = std::find_if(m.unnotified.begin(), m.unnotified.end(),
                           [index](const StatusEntry& e) { return e.recipient == index; });
    if (it == m.unnotified.end()) return std::nullopt;
    StatusEntry e = std::move(*it);
    m.unnotified.erase(it);
    return e;
  };
  if (reply.error.empty()) {
    for (const std::string& notice : reply.notice_ids) offer_new(notice);
    if (job.kind == NoticeRequestKind::kFailure) {
      for (uint32_t index : job.indexes) {
        if (auto e = take_unnotified(index)) m.unrecorded.push_back(std::move(*e));
      }
    } else if (job.kind == NoticeRequestKind::kDelay) {
      m.unrecorded.push_back(StatusEntry{StatusKind::kDelayWarned, 0, now, "", "", ""});
    }
  } else if (job.kind == NoticeRequestKind::kFailure) {
    for (uint32_t index : job.indexes) {
      auto e = take_unnotified(index);
      if (!e) continue;
      const std::string reason = "cannot queue the non-delivery notice: " + reply.error;
      qm_.log_.info("{}: to=<{}>, relay=none, dsn=4.3.0, status=deferred ({})", job.queue_id,
                    m.envelope.recipients[index].address, reason);
      m.unrecorded.push_back(StatusEntry{StatusKind::kDeferred, index, now, "4.3.0", "", reason});
      m.bounce_kept_pending = true;
    }
  } else {
    qm_.log_.warning("{}: {} notice not queued: {}", job.queue_id,
                     job.kind == NoticeRequestKind::kDelay     ? "delay"
                     : job.kind == NoticeRequestKind::kSuccess ? "success"
                                                               : "postmaster",
                     reply.error);
  }
  finish_if_answered(job.queue_id);
}

// Performs the end of a message's pass once the scheduler has let it go and every notice
// about it is answered: remove it, or record its outcomes and defer it. A message whose
// non-delivery notice could not be written is deferred even if the scheduler finished it.
void QueueManager::Loop::finish_if_answered(
    const std::string& id, std::vector<std::pair<std::string, QueueName>>* removals) {
  auto found = messages_.find(id);
  if (found == messages_.end()) return;
  InMemory& m = found->second;
  if (!m.pass_end || m.notices_pending > 0) return;
  if (m.pass_end->finished && !m.bounce_kept_pending) {
    // Outcomes of this pass are not recorded: the file goes (a status log from an earlier
    // pass with it, log-safely: QueueStore::remove_many), with the batch when there is one.
    if (removals != nullptr) {
      removals->emplace_back(id, m.queue);
    } else {
      remove_finished({{id, m.queue}});
    }
    messages_.erase(found);
    return;
  }
  const TimePoint next_attempt =
      m.pass_end->finished
          ? next_attempt_time(qm_.options_.scheduler, from_us(m.envelope.arrival_us),
                              qm_.clock_.now())
          : m.pass_end->next_attempt;
  flush_records(id, m);
  QueueName now_in = m.queue;
  if (now_in == QueueName::kActive) {
    if (Status s = store_->move(id, QueueName::kActive, QueueName::kDeferred); s.ok()) {
      now_in = QueueName::kDeferred;
    } else {
      qm_.log_.warning("{}: {}", id, s.error().message);
    }
  }
  if (now_in == QueueName::kDeferred) {
    (void)store_->set_next_attempt(now_in, id, to_us(next_attempt));
  }
  messages_.erase(found);
}

void QueueManager::Loop::log_status(const RecipientStatus& s) {
  // Agents log their own attempts; the queue manager logs what no agent tried.
  if (s.attempted && agents_.count(s.transport) && !s.expired) return;
  const double delay =
      std::chrono::duration<double>(qm_.clock_.now() - s.arrival).count();
  std::string reason = s.dsn.reason;
  if (s.expired) reason = "message expired: " + reason;
  log::DeliveryLine line;
  line.queue_id = s.queue_id;
  line.to = s.address;
  line.relay = s.dsn.remote_mta.empty() ? "none" : s.dsn.remote_mta;
  line.delay = delay;
  line.a = delay;
  line.dsn = s.dsn.status;
  line.status = s.outcome == Outcome::Bounced && s.expired ? "expired"
                                                          : std::string(status_word(s.outcome));
  line.reason = std::move(reason);
  qm_.log_.info(log::delivery_line(line));
}

void QueueManager::Loop::flush_records(const std::string& id, InMemory& m) {
  if (m.unrecorded.empty()) return;
  if (Status s = store_->record(id, m.unrecorded); !s.ok()) {
    // Not durable: after a crash these recipients are tried again (at least once).
    qm_.log_.warning("{}: recording delivery status: {}", id, s.error().message);
  }
  m.unrecorded.clear();
}

void QueueManager::Loop::perform_events() {
  std::vector<Event> events = scheduler_.take_events();
  if (events.empty()) return;
  std::set<std::string> touched;
  std::vector<std::pair<std::string, QueueName>> finished;  // queue id, where its file is
  for (const Event& e : events) {
    if (auto s = std::get_if<RecipientStatus>(&e)) {
      log_status(*s);
      auto m = messages_.find(s->queue_id);
      if (m == messages_.end()) continue;
      const StatusKind kind = s->outcome == Outcome::Delivered ? StatusKind::kDelivered
                              : s->outcome == Outcome::Bounced ? StatusKind::kBounced
                                                               : StatusKind::kDeferred;
      StatusEntry entry{kind, s->index, to_us(qm_.clock_.now()), s->dsn.status,
                        s->dsn.remote_mta, s->dsn.reason};
      if (kind == StatusKind::kBounced) {
        // Done only once its notice is written (BounceNeeded, at the end of the pass).
        m->second.unnotified.push_back(std::move(entry));
        continue;
      }
      m->second.unrecorded.push_back(std::move(entry));
      touched.insert(s->queue_id);
      const auto& in_file = m->second.envelope.recipients[s->index];
      if (s->outcome == Outcome::Delivered && !in_file.notify.empty() &&
          message::wants_notice(in_file.notify, "SUCCESS") && s->dsn.action != "passed") {
        request_notice(s->queue_id, m->second, NoticeRequestKind::kSuccess,
                       {facts_of(s->index, s->address, s->dsn, s->dsn.reason)});
      }
      if (s->outcome == Outcome::Deferred) {
        const auto& classes = qm_.options_.notify_classes;
        switch (problem_class(s->dsn)) {
          case ProblemClass::kResource:
            if (classes.has(message::NotifyClass::kResource)) {
              m->second.resource_problems.push_back(
                  facts_of(s->index, s->address, s->dsn, s->dsn.reason));
            }
            break;
          case ProblemClass::kSoftware:
            if (classes.has(message::NotifyClass::kSoftware)) {
              m->second.software_problems.push_back(
                  facts_of(s->index, s->address, s->dsn, s->dsn.reason));
            }
            break;
          case ProblemClass::kNone: break;
        }
      }
    } else if (auto b = std::get_if<BounceNeeded>(&e)) {
      auto m = messages_.find(b->queue_id);
      if (m == messages_.end()) continue;
      std::vector<NoticeFacts> facts;
      for (const BouncedRecipient& r : b->recipients) {
        const auto& in_file = m->second.envelope.recipients[r.index];
        if (!message::wants_notice(in_file.notify, "FAILURE")) {
          // No notice wanted (NOTIFY=NEVER...): done at once.
          auto& held = m->second.unnotified;
          auto it = std::find_if(held.begin(), held.end(),
                                 [&](const StatusEntry& x) { return x.recipient == r.index; });
          if (it != held.end()) {
            m->second.unrecorded.push_back(std::move(*it));
            held.erase(it);
          }
          continue;
        }
        facts.push_back(facts_of(r.index, r.address, r.dsn,
                                 r.expired ? "message expired: " + r.dsn.reason : r.dsn.reason));
      }
      if (!facts.empty()) {
        request_notice(b->queue_id, m->second, NoticeRequestKind::kFailure, std::move(facts));
      }
    } else if (auto w = std::get_if<DelayWarning>(&e)) {
      auto m = messages_.find(w->queue_id);
      if (m == messages_.end()) continue;
      std::vector<NoticeFacts> facts;
      for (const DeferredRecipient& r : w->recipients) {
        const auto& in_file = m->second.envelope.recipients[r.index];
        // Without NOTIFY, delay warnings follow delay_warning_time (RFC 3461 leaves it to us).
        if (!in_file.notify.empty() && !message::wants_notice(in_file.notify, "DELAY")) continue;
        facts.push_back(facts_of(r.index, r.address, r.dsn, r.dsn.reason));
      }
      if (facts.empty()) {
        m->second.unrecorded.push_back(
            StatusEntry{StatusKind::kDelayWarned, 0, to_us(qm_.clock_.now()), "", "", ""});
      } else {
        request_notice(w->queue_id, m->second, NoticeRequestKind::kDelay, std::move(facts));
      }
    } else if (auto d = std::get_if<MessageDeferred>(&e)) {
      auto m = messages_.find(d->queue_id);
      if (m == messages_.end()) continue;
      InMemory& in = m->second;
      if (!in.resource_problems.empty()) {
        request_notice(d->queue_id, in, NoticeRequestKind::kResource,
                       std::move(in.resource_problems));
      }
      if (!in.software_problems.empty()) {
        request_notice(d->queue_id, in, NoticeRequestKind::kSoftware,
                       std::move(in.software_problems));
      }
      in.pass_end = PassEnd{false, d->next_attempt};
      finish_if_answered(d->queue_id);
    } else if (auto f = std::get_if<MessageFinished>(&e)) {
      auto m = messages_.find(f->queue_id);
      if (m == messages_.end()) continue;
      m->second.pass_end = PassEnd{true, {}};
      // A file that can go now goes with the others finished in this batch
      // (remove_finished, after this loop).
      finish_if_answered(f->queue_id, &finished);
    }
  }
  remove_finished(finished);
  // Messages still in progress: what happened to some recipients is made durable now, so a
  // crash does not repeat it.
  for (const std::string& id : touched) {
    auto m = messages_.find(id);
    if (m != messages_.end() && !m->second.pass_end) flush_records(id, m->second);
  }
}

// The files of messages finished in one batch of events, removed together: one sync of each
// queue's directory for all that have a status log (QueueStore::remove_many; one sync per
// message bounded the drain of a large deferred queue), and their logs after it.
void QueueManager::Loop::remove_finished(
    const std::vector<std::pair<std::string, QueueName>>& finished) {
  for (QueueName queue :
       {QueueName::kActive, QueueName::kDeferred, QueueName::kHold, QueueName::kCorrupt}) {
    std::vector<std::string> ids;
    for (const auto& [id, in] : finished) {
      if (in == queue) ids.push_back(id);
    }
    if (ids.empty()) continue;
    auto failed = store_->remove_many(queue, ids);
    if (!failed.ok()) {
      // As a failed remove(): a warning and no "removed" (their logs stay, as orphans).
      qm_.log_.warning("removing {} finished messages: {}", ids.size(), failed.error().message);
      continue;
    }
    std::set<std::string_view> not_removed;
    for (const auto& f : *failed) {
      qm_.log_.warning("{}: {}", f.queue_id, f.error.message);
      not_removed.insert(f.queue_id);
    }
    for (const std::string& id : ids) {
      if (!not_removed.count(id)) qm_.log_.info("{}: removed", id);
    }
  }
}

void QueueManager::Loop::read_wakeups() {
  char buf[kMaxFlushRequestSize + 1];
  size_t read = 0;
  bool rescan = false;
  for (;;) {
    ssize_t n = ::recv(wakeup_fd_, buf, sizeof buf, 0);
    if (n < 0) break;
    ++read;
    std::string_view id(buf, size_t(n));
    if (id.empty()) {
      rescan = true;  // "rescan": a lost wake-up, or the queue tools changed something
    } else if (is_flush_request(id)) {
      flush_requested(id);
    } else if (queue::Spool::queue_id_pid(id) >= 0) {
      offer_new(std::string(id));
    }
  }
  if (rescan) scan_active();
  // A full queue: senders after the limit got EAGAIN and their wake-ups are lost (smtpd
  // sends a "rescan" with its next message, the queue tools with their last one, but the
  // last of a burst can be lost too). So after reading a queue's worth, active/ is scanned
  // again once what came is admitted; set after the scan above, which may have listed
  // active/ before the last losses of this read.
  if (read >= wakeup_queue_limit_) rescan_when_caught_up_ = true;
}

int QueueManager::Loop::poll_timeout_ms() const {
  TimePoint wake = std::min(scheduler_.next_deferred_scan(), next_active_rescan_);
  if (auto release = scheduler_.next_destination_release()) wake = std::min(wake, *release);
  for (const auto& [transport, link] : agents_) {
    if (link.fd < 0 && !link.waiting.empty()) wake = std::min(wake, link.next_connect);
  }
  if (bounce_.fd < 0 && !bounce_.waiting.empty()) wake = std::min(wake, bounce_.next_connect);
  if (bounce_.fd >= 0 && !notice_jobs_.empty()) {
    wake = std::min(wake, notice_jobs_.begin()->second.asked + qm_.options_.bounce_reply_timeout);
  }
  if (rescan_due_when()) wake = std::min(wake, *rescan_due_when());
  // Candidates offered during this turn (a notice just queued) are admitted at once.
  if ((!new_waiting_.empty() || !deferred_waiting_.empty()) &&
      scheduler_.admission_capacity() > 0) {
    return 0;
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(wake - qm_.clock_.now()).count();
  return static_cast<int>(std::clamp<int64_t>(ms + 1, 0, 60 * 1000));
}

int QueueManager::Loop::serve(int signal_fd) {
  std::vector<AgentLink*> links = {&bounce_};  // fixed: agents_ does not change
  for (auto& [transport, link] : agents_) links.push_back(&link);
  std::vector<pollfd> fds;
  for (;;) {
    run_deferred_scan();
    admit_waiting();
    perform_events();
    dispatch_requests();
    perform_events();  // reports made at once (transports without an agent)
    bounce_connect();
    if (qm_.clock_.now() >= next_active_rescan_ ||
        (rescan_due_when() && qm_.clock_.now() >= *rescan_due_when())) {
      scan_active();
    }

    // The signal, the wake-ups, the bounce service, then one entry per agent link (in the
    // order of agents_). Descriptors < 0 are skipped by poll.
    fds.clear();
    fds.push_back({signal_fd, POLLIN, 0});
    fds.push_back({wakeup_fd_, POLLIN, 0});
    for (AgentLink* link : links) {
      fds.push_back({link->fd, 0, 0});
      if (link->fd >= 0) fds.back().events = short(POLLIN | (link->out.empty() ? 0 : POLLOUT));
    }
    if (::poll(fds.data(), fds.size(), poll_timeout_ms()) < 0 && errno != EINTR) {
      qm_.log_.fatal(fmt::format("poll: {}", std::strerror(errno)));
      return 1;
    }
    // SIGTERM or SIGINT: what is in flight is redone (notices included: at most once more).
    if (fds[0].revents != 0) return 0;
    if (fds[1].revents != 0) read_wakeups();
    if (bounce_.fd >= 0 && fds[2].revents != 0) bounce_io(fds[2].revents);
    for (size_t i = 1; i < links.size(); ++i) {
      if (links[i]->fd >= 0 && fds[i + 2].revents != 0) agent_io(*links[i], fds[i + 2].revents);
    }
  }
}

// ---- QueueManager ------------------------------------------------------------------------

QueueManager::QueueManager(QueueManagerOptions options, log::Logger log, const Clock& clock)
    : options_(std::move(options)), log_(std::move(log)), clock_(clock) {}

QueueManager::~QueueManager() = default;

int QueueManager::run() {
  auto stop = net::block_into_signalfd({SIGTERM, SIGINT});
  if (!stop.ok()) {
    log_.fatal(stop.error().message);
    return 1;
  }
  Fd sfd{*stop};
  auto store = queue::QueueStore::open({.queue_directory = options_.queue_directory});
  if (!store) {
    log_.fatal(fmt::format("cannot open the queue: {}", store.error().message));
    return 1;
  }
  const std::string lock_path = options_.queue_directory + "/pid/qmgr.lock";
  (void)::mkdir((options_.queue_directory + "/pid").c_str(), 0700);
  Fd lock{::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)};
  if (lock.fd < 0 || ::flock(lock.fd, LOCK_EX | LOCK_NB) != 0) {
    log_.fatal(fmt::format("{}: another queue manager serves this queue ({})", lock_path,
                           std::strerror(errno)));
    return 1;
  }
  Loop loop(*this, std::move(*store));
  if (Status s = loop.start(); !s.ok()) {
    log_.fatal(s.error().message);
    return 1;
  }
  return loop.serve(sfd.fd);
}

}  // namespace estafeta::qmgr
