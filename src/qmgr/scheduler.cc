// Scheduler: messages in memory, per-transport rings of per-destination queues, requests in
// flight, and the events of messages whose pass is over. See scheduler.h for the contract.
//
// Structure (Postfix's qmgr, simplified to its oqmgr-style FIFO per destination):
//   Transport  (one per master.cf service name): limits, deliveries in flight, its destinations,
//              and a ring of the destinations that can start a delivery now.
//   Destination (transport + next hop, or + recipient when the recipient limit is 1): a window,
//              deliveries in flight, and a FIFO of entries (up to recipient-limit recipients of
//              one message); dead until a time, with the DSN that killed it.
//   Message: its recipients with their state (queued, in flight, deferred, done) and the
//              bounced and deferred results of this pass.
#include "qmgr/scheduler.h"

#include <algorithm>
#include <deque>
#include <set>

#include "base/ascii.h"
#include "base/assert.h"
#include "qmgr/destination_window.h"

namespace estafeta::qmgr {

struct Scheduler::Message {
  struct Recipient {
    RecipientIn in;
    RecipientState state = RecipientState::Queued;
    Destination* destination = nullptr;  // while Queued
  };

  std::string queue_id;
  TimePoint arrival;
  bool null_sender = false;
  bool warning_sent = false;
  std::vector<Recipient> recipients;
  // Invariant: unfinished == recipients in state Queued or InFlight.
  std::size_t unfinished = 0;
  std::vector<BouncedRecipient> bounced;
  std::vector<DeferredRecipient> deferred;
  std::set<std::uint64_t> requests;  // in flight
};

struct Scheduler::Destination {
  struct Entry {
    Message* message = nullptr;
    std::vector<std::size_t> slots;  // positions in message->recipients
  };

  Destination(Transport& t, std::string k, const TransportLimits& limits)
      : transport(&t),
        key(std::move(k)),
        window(limits.initial_destination_concurrency, limits.destination_concurrency_limit,
               limits.failed_cohort_limit) {}

  Transport* transport;
  std::string key;
  DestinationWindow window;
  int busy = 0;
  int released = 0;  // requests released before their reports (their InFlight points here)
  std::deque<Entry> todo;
  std::size_t queued_recipients = 0;
  bool in_ring = false;
  TimePoint dead_until;
  Dsn dead_dsn;
  // With a rate delay: no delivery starts before this (set when one ends).
  TimePoint next_start;
  bool delayed = false;  // in delayed_
};

struct Scheduler::Transport {
  std::string name;
  TransportLimits limits;
  int busy = 0;
  std::map<std::string, std::unique_ptr<Destination>, std::less<>> destinations;
  // Destinations that were runnable when queued; checked again when taken.
  std::deque<Destination*> ring;
};

namespace {

std::string default_status(Outcome outcome) {
  switch (outcome) {
    case Outcome::Delivered:
      return "2.0.0";
    case Outcome::Deferred:
      return "4.0.0";
    case Outcome::Bounced:
      return "5.0.0";
  }
  return "4.0.0";
}

}  // namespace

Scheduler::Scheduler(SchedulerSettings settings, const Clock& clock)
    : settings_(std::move(settings)), clock_(clock) {}

Scheduler::~Scheduler() = default;

// --- Admission ---------------------------------------------------------------------------

std::size_t Scheduler::admission_capacity() const {
  auto limit = static_cast<std::size_t>(std::max(settings_.qmgr_message_active_limit, 0));
  return messages_.size() >= limit ? 0 : limit - messages_.size();
}

std::optional<QueueSource> Scheduler::next_source(bool new_waiting, bool deferred_waiting) const {
  if (admission_capacity() == 0) {
    return std::nullopt;
  }
  if (new_waiting && deferred_waiting) {
    return last_source_ == QueueSource::New ? QueueSource::Deferred : QueueSource::New;
  }
  if (new_waiting) {
    return QueueSource::New;
  }
  if (deferred_waiting) {
    return QueueSource::Deferred;
  }
  return std::nullopt;
}

bool Scheduler::contains(std::string_view queue_id) const {
  return messages_.find(queue_id) != messages_.end();
}

std::size_t Scheduler::message_count() const { return messages_.size(); }

Status Scheduler::admit(MessageIn in) {
  revive_due_destinations();
  if (contains(in.queue_id)) {
    return make_error("qmgr: " + in.queue_id + " is already in memory");
  }
  if (admission_capacity() == 0) {
    return make_error("qmgr: qmgr_message_active_limit reached; " + in.queue_id + " not admitted");
  }
  std::set<std::uint32_t> indexes;
  for (const RecipientIn& r : in.recipients) {
    if (!indexes.insert(r.index).second) {
      return make_error("qmgr: " + in.queue_id + ": recipient index " + std::to_string(r.index) +
                        " given twice");
    }
  }

  auto owned = std::make_unique<Message>();
  Message& m = *owned;
  m.queue_id = in.queue_id;
  m.arrival = in.arrival;
  m.null_sender = in.null_sender;
  m.warning_sent = in.delay_warning_sent;
  m.bounced = std::move(in.unnotified_bounces);
  m.recipients.reserve(in.recipients.size());
  for (RecipientIn& r : in.recipients) {
    m.recipients.push_back(Message::Recipient{std::move(r), RecipientState::Queued, nullptr});
  }
  m.unfinished = m.recipients.size();
  messages_.emplace(m.queue_id, std::move(owned));
  last_source_ = in.source;

  // defer_transports: held back until an explicit flush, without an attempt.
  if (!in.flushed && !settings_.defer_transports.empty()) {
    for (std::size_t slot = 0; slot < m.recipients.size(); ++slot) {
      if (settings_.defer_transports.count(m.recipients[slot].in.transport)) {
        apply(m, slot, Outcome::Deferred, Dsn{"4.3.2", std::string(kDeferredTransport), "", ""},
              false);
      }
    }
  }

  // Group by destination, keeping the order of first appearance.
  std::vector<std::pair<Destination*, std::vector<std::size_t>>> groups;
  std::map<Destination*, std::size_t> group_of;
  for (std::size_t slot = 0; slot < m.recipients.size(); ++slot) {
    if (m.recipients[slot].state != RecipientState::Queued) continue;
    const RecipientIn& r = m.recipients[slot].in;
    Transport& t = transport_for(r.transport);
    std::string key =
        ascii::lower(t.limits.destination_recipient_limit == 1 ? r.address : r.next_hop);
    Destination& d = destination_for(t, key);
    auto [it, inserted] = group_of.emplace(&d, groups.size());
    if (inserted) {
      groups.emplace_back(&d, std::vector<std::size_t>{});
    }
    groups[it->second].second.push_back(slot);
  }

  for (auto& [d, slots] : groups) {
    if (d->window.dead()) {
      // Postfix defers mail for a dead destination without trying it.
      for (std::size_t slot : slots) {
        defer_unattempted(m, slot, d->dead_dsn);
      }
      continue;
    }
    auto limit = static_cast<std::size_t>(d->transport->limits.destination_recipient_limit);
    if (limit == 0) {
      limit = slots.size();
    }
    for (std::size_t begin = 0; begin < slots.size(); begin += limit) {
      std::size_t end = std::min(begin + limit, slots.size());
      Destination::Entry entry{&m, {slots.begin() + begin, slots.begin() + end}};
      for (std::size_t slot : entry.slots) {
        m.recipients[slot].destination = d;
      }
      d->queued_recipients += entry.slots.size();
      d->todo.push_back(std::move(entry));
    }
    enqueue_if_runnable(*d);
  }
  finish_if_done(m);
  return {};
}

bool Scheduler::remove(std::string_view queue_id) {
  auto it = messages_.find(queue_id);
  if (it == messages_.end()) {
    return false;
  }
  Message& m = *it->second;
  std::set<Destination*> touched;
  for (const Message::Recipient& r : m.recipients) {
    if (r.state == RecipientState::Queued && r.destination != nullptr) {
      touched.insert(r.destination);
    }
  }
  for (Destination* d : touched) {
    std::erase_if(d->todo, [&](const Destination::Entry& e) {
      if (e.message != &m) {
        return false;
      }
      d->queued_recipients -= e.slots.size();
      return true;
    });
  }
  for (std::uint64_t id : m.requests) {
    in_flight_.at(id).message = nullptr;
  }
  messages_.erase(it);
  for (Destination* d : touched) {
    discard_if_idle(*d);
  }
  return true;
}

// --- Deferred queue scans ----------------------------------------------------------------

TimePoint Scheduler::next_deferred_scan() const {
  if (flush_pending_ || !last_scan_start_) {
    return clock_.now();
  }
  return *last_scan_start_ + settings_.queue_run_delay;
}

std::optional<DeferredScan> Scheduler::begin_deferred_scan() {
  if (scan_running_) {
    return std::nullopt;
  }
  TimePoint now = clock_.now();
  if (!flush_pending_ && last_scan_start_ && now < *last_scan_start_ + settings_.queue_run_delay) {
    return std::nullopt;
  }
  DeferredScan scan{flush_pending_ ? TimePoint::max() : now, flush_pending_};
  scan_running_ = true;
  flush_pending_ = false;
  last_scan_start_ = now;
  return scan;
}

void Scheduler::deferred_scan_done() { scan_running_ = false; }

void Scheduler::flush() {
  flush_pending_ = true;
  while (!dead_.empty()) {
    revive(*dead_.begin()->second);
  }
}

// --- Delivery ----------------------------------------------------------------------------

std::vector<DeliveryRequest> Scheduler::take_requests() {
  revive_due_destinations();
  release_delayed_destinations();
  std::vector<DeliveryRequest> out;
  // One request per transport per pass: transports have separate process limits, so the pass
  // order only orders the result.
  bool progress = true;
  while (progress) {
    progress = false;
    for (auto& [name, t] : transports_) {
      if (auto request = next_request(*t)) {
        out.push_back(std::move(*request));
        progress = true;
      }
    }
  }
  return out;
}

std::optional<DeliveryRequest> Scheduler::next_request(Transport& t) {
  if (t.limits.process_limit > 0 && t.busy >= t.limits.process_limit) {
    return std::nullopt;
  }
  while (!t.ring.empty()) {
    Destination* d = t.ring.front();
    t.ring.pop_front();
    d->in_ring = false;
    if (!runnable(*d)) {
      discard_if_idle(*d);
      continue;
    }
    Destination::Entry entry = std::move(d->todo.front());
    d->todo.pop_front();
    d->queued_recipients -= entry.slots.size();
    Message& m = *entry.message;

    DeliveryRequest request;
    request.id = next_request_id_++;
    request.queue_id = m.queue_id;
    request.transport = t.name;
    request.next_hop = m.recipients[entry.slots.front()].in.next_hop;
    request.more_mail = !d->todo.empty();
    request.release_wanted = d->todo.size() >= static_cast<std::size_t>(d->window.window());
    InFlight flight{&m, d, entry.slots, {}};
    for (std::size_t slot : entry.slots) {
      Message::Recipient& r = m.recipients[slot];
      r.state = RecipientState::InFlight;
      r.destination = nullptr;
      request.recipients.push_back({r.in.index, r.in.address});
      flight.indexes.push_back(r.in.index);
    }
    m.requests.insert(request.id);
    in_flight_.emplace(request.id, std::move(flight));
    d->busy += 1;
    t.busy += 1;
    // Back of the ring: the next delivery of this transport goes to another destination.
    enqueue_if_runnable(*d);
    return request;
  }
  return std::nullopt;
}

Status Scheduler::report(const DeliveryReport& report) {
  revive_due_destinations();
  auto it = in_flight_.find(report.request_id);
  if (it == in_flight_.end()) {
    return make_error("qmgr: report for unknown delivery request " +
                      std::to_string(report.request_id));
  }
  InFlight flight = std::move(it->second);
  in_flight_.erase(it);
  Destination& d = *flight.destination;

  std::vector<const RecipientResult*> results(flight.indexes.size(), nullptr);
  std::string ignored;
  for (const RecipientResult& r : report.recipients) {
    auto pos = std::find(flight.indexes.begin(), flight.indexes.end(), r.index);
    if (pos == flight.indexes.end() || results[pos - flight.indexes.begin()] != nullptr) {
      ignored += (ignored.empty() ? "" : " ") + std::to_string(r.index);
      continue;
    }
    results[pos - flight.indexes.begin()] = &r;
  }
  bool complete = std::find(results.begin(), results.end(), nullptr) == results.end();

  // Feedback before the slot is released: Postfix counts the completing delivery as busy.
  // A released request gave its feedback then.
  bool died = false;
  d.transport->busy -= 1;  // the agent's part, held until the report (process_limit)
  if (flight.released) {
    d.released -= 1;
  } else {
    if (report.destination_failure) {
      died = d.window.failure();
    } else if (complete) {
      succeeded(d);
    }
    free_slot(d);
  }

  if (flight.message != nullptr) {
    Message& m = *flight.message;
    m.requests.erase(report.request_id);
    for (std::size_t i = 0; i < flight.slots.size(); ++i) {
      if (results[i] != nullptr) {
        apply(m, flight.slots[i], results[i]->outcome, results[i]->dsn, true);
      } else if (report.destination_failure) {
        apply(m, flight.slots[i], Outcome::Deferred, *report.destination_failure, true);
      } else {
        apply(m, flight.slots[i], Outcome::Deferred,
              Dsn{"4.3.0", std::string(kAgentDidNotReport), "", ""}, true);
      }
    }
    // Before kill(): a message that kill() finishes is erased, and `m` must not dangle here.
    finish_if_done(m);
  }
  if (died) {
    kill(d, *report.destination_failure);
  }
  enqueue_if_runnable(d);
  discard_if_idle(d);
  if (!ignored.empty()) {
    return make_error("qmgr: report for request " + std::to_string(report.request_id) +
                      ": results for recipients not in the request ignored: " + ignored);
  }
  return {};
}

Status Scheduler::release(std::uint64_t request_id) {
  revive_due_destinations();
  auto it = in_flight_.find(request_id);
  if (it == in_flight_.end() || it->second.released) {
    return make_error("qmgr: release of unknown delivery request " + std::to_string(request_id));
  }
  it->second.released = true;
  Destination& d = *it->second.destination;
  succeeded(d);  // as a complete report would
  free_slot(d);
  d.released += 1;
  enqueue_if_runnable(d);
  return {};
}

void Scheduler::succeeded(Destination& d) {
  if (d.window.dead()) {
    forget_dead(d);  // the success revives it (Postfix qmgr_queue_unthrottle)
  }
  d.window.success(d.busy);
}

void Scheduler::free_slot(Destination& d) {
  d.busy -= 1;
  const Transport& t = *d.transport;
  if (t.limits.rate_delay.count() > 0 && !d.delayed) {
    d.next_start = clock_.now() + t.limits.rate_delay;
    d.delayed = true;
    delayed_.emplace(d.next_start, &d);
  }
}

std::size_t Scheduler::in_flight() const { return in_flight_.size(); }

std::vector<Event> Scheduler::take_events() { return std::exchange(events_, {}); }

std::optional<DestinationInfo> Scheduler::destination(std::string_view transport,
                                                      std::string_view destination) const {
  auto t = transports_.find(transport);
  if (t == transports_.end()) {
    return std::nullopt;
  }
  auto d = t->second->destinations.find(ascii::lower(destination));
  if (d == t->second->destinations.end()) {
    return std::nullopt;
  }
  const Destination& dest = *d->second;
  DestinationInfo info;
  info.window = dest.window.window();
  info.in_flight = dest.busy;
  info.queued_recipients = dest.queued_recipients;
  info.dead = dest.window.dead();
  info.dead_until = dest.dead_until;
  return info;
}

// --- Internals ---------------------------------------------------------------------------

Scheduler::Transport& Scheduler::transport_for(const std::string& name) {
  auto it = transports_.find(name);
  if (it == transports_.end()) {
    auto t = std::make_unique<Transport>();
    t->name = name;
    t->limits = settings_.limits_for(name);
    it = transports_.emplace(name, std::move(t)).first;
  }
  return *it->second;
}

Scheduler::Destination& Scheduler::destination_for(Transport& t, const std::string& key) {
  auto it = t.destinations.find(key);
  if (it == t.destinations.end()) {
    it = t.destinations.emplace(key, std::make_unique<Destination>(t, key, t.limits)).first;
  }
  return *it->second;
}

bool Scheduler::runnable(const Destination& d) const {
  if (d.window.dead() || d.todo.empty() || d.busy >= d.window.window()) return false;
  const TransportLimits& limits = d.transport->limits;
  if (limits.rate_delay.count() == 0) return true;
  return d.busy == 0 && !d.delayed;  // one at a time, and not before next_start
}

void Scheduler::enqueue_if_runnable(Destination& d) {
  if (!d.in_ring && runnable(d)) {
    d.transport->ring.push_back(&d);
    d.in_ring = true;
  }
}

void Scheduler::discard_if_idle(Destination& d) {
  // Postfix discards an empty, live queue too: its window starts over with the next mail.
  // One in its rate delay stays until the delay is over.
  if (d.window.dead() || !d.todo.empty() || d.busy > 0 || d.released > 0 || d.in_ring ||
      d.delayed) {
    return;
  }
  d.transport->destinations.erase(d.key);
}

void Scheduler::kill(Destination& d, const Dsn& dsn) {
  d.dead_until = clock_.now() + settings_.minimal_backoff_time;
  d.dead_dsn = dsn;
  dead_.emplace(d.dead_until, &d);
  std::deque<Destination::Entry> todo = std::exchange(d.todo, {});
  d.queued_recipients = 0;
  for (Destination::Entry& e : todo) {
    for (std::size_t slot : e.slots) {
      defer_unattempted(*e.message, slot, dsn);
    }
    // Invariant: a message is finished only by the last of its entries, so later entries of the
    // same message never point to an erased one.
    finish_if_done(*e.message);
  }
}

void Scheduler::forget_dead(Destination& d) {
  auto range = dead_.equal_range(d.dead_until);
  for (auto i = range.first; i != range.second; ++i) {
    if (i->second == &d) {
      dead_.erase(i);
      return;
    }
  }
}

void Scheduler::revive(Destination& d) {
  forget_dead(d);
  d.window.revive(d.busy);
  enqueue_if_runnable(d);
  discard_if_idle(d);
}

void Scheduler::release_delayed_destinations() {
  const TimePoint now = clock_.now();
  while (!delayed_.empty() && delayed_.begin()->first <= now) {
    Destination& d = *delayed_.begin()->second;
    delayed_.erase(delayed_.begin());
    d.delayed = false;
    enqueue_if_runnable(d);
    discard_if_idle(d);
  }
}

std::optional<TimePoint> Scheduler::next_destination_release() const {
  if (delayed_.empty()) return std::nullopt;
  return delayed_.begin()->first;
}

void Scheduler::revive_due_destinations() {
  TimePoint now = clock_.now();
  while (!dead_.empty() && dead_.begin()->first <= now) {
    revive(*dead_.begin()->second);
  }
}

void Scheduler::defer_unattempted(Message& m, std::size_t slot, const Dsn& dead_dsn) {
  Dsn dsn = dead_dsn;
  dsn.reason = "delivery temporarily suspended: " + dead_dsn.reason;
  apply(m, slot, Outcome::Deferred, std::move(dsn), false);
}

void Scheduler::apply(Message& m, std::size_t slot, Outcome outcome, Dsn dsn, bool attempted) {
  Message::Recipient& r = m.recipients[slot];
  ESTAFETA_ASSERT(r.state == RecipientState::Queued || r.state == RecipientState::InFlight);
  if (dsn.status.empty()) {
    dsn.status = default_status(outcome);
  }
  TimePoint now = clock_.now();
  bool expired = false;
  if (outcome == Outcome::Deferred && lifetime_over(settings_, m.arrival, m.null_sender, now)) {
    // Postfix returns the message to the sender ("status=expired") with the deferral's DSN.
    outcome = Outcome::Bounced;
    expired = true;
  }
  switch (outcome) {
    case Outcome::Delivered:
      r.state = RecipientState::Done;
      break;
    case Outcome::Bounced:
      r.state = RecipientState::Done;
      m.bounced.push_back({r.in.index, r.in.address, dsn, expired});
      break;
    case Outcome::Deferred:
      r.state = RecipientState::Deferred;
      m.deferred.push_back({r.in.index, r.in.address, dsn});
      break;
  }
  r.destination = nullptr;
  m.unfinished -= 1;
  events_.push_back(RecipientStatus{m.queue_id, r.in.index, r.in.address, r.in.transport,
                                    r.in.next_hop, outcome, std::move(dsn), m.arrival, attempted,
                                    expired});
}

void Scheduler::finish_if_done(Message& m) {
  if (m.unfinished > 0) {
    return;
  }
  ESTAFETA_ASSERT(m.requests.empty());
  TimePoint now = clock_.now();
  if (!m.bounced.empty()) {
    events_.push_back(BounceNeeded{m.queue_id, m.null_sender, std::move(m.bounced)});
  }
  if (!m.deferred.empty()) {
    if (!m.warning_sent && delay_warning_due(settings_, m.arrival, now)) {
      events_.push_back(DelayWarning{m.queue_id, m.null_sender, m.deferred});
      m.warning_sent = true;
    }
    events_.push_back(
        MessageDeferred{m.queue_id, next_attempt_time(settings_, m.arrival, now), m.warning_sent});
  } else {
    events_.push_back(MessageFinished{m.queue_id});
  }
  std::string id = m.queue_id;
  messages_.erase(id);
}

}  // namespace estafeta::qmgr
