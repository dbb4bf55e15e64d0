// Tests for the queue manager's Scheduler on a FakeClock: admission limit and new/deferred
// fairness, recipient grouping, per-destination and per-transport limits, slow start and
// failure feedback, dead destinations, round-robin, outcomes and their events, backoff,
// lifetimes, delay warnings, deferred scans and flush, removal while in flight, and a rebuild
// after a "restart" from the durable per-recipient statuses only.
#include "qmgr/scheduler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace estafeta::qmgr {
namespace {

using std::chrono::hours;

const TimePoint kStart{hours(24 * 365 * 54)};

std::string domain_of(const std::string& address) { return address.substr(address.find('@') + 1); }

RecipientIn rcpt(std::uint32_t index, const std::string& address,
                 const std::string& transport = "smtp") {
  return RecipientIn{index, address, transport, domain_of(address)};
}

MessageIn message(const std::string& id, std::vector<RecipientIn> recipients, TimePoint arrival,
                  QueueSource source = QueueSource::New) {
  MessageIn m;
  m.queue_id = id;
  m.arrival = arrival;
  m.source = source;
  m.recipients = std::move(recipients);
  return m;
}

DeliveryReport all(const DeliveryRequest& request, Outcome outcome, const std::string& status = "",
                   const std::string& reason = "") {
  DeliveryReport report;
  report.request_id = request.id;
  for (const RequestRecipient& r : request.recipients) {
    report.recipients.push_back({r.index, outcome, Dsn{status, reason, "", ""}});
  }
  return report;
}

DeliveryReport destination_failed(const DeliveryRequest& request) {
  DeliveryReport report;
  report.request_id = request.id;
  report.destination_failure =
      Dsn{"4.4.1", "connect to mx.dead.example[192.0.2.1]:25: Connection refused", "", ""};
  return report;
}

const char* name(Outcome o) {
  switch (o) {
    case Outcome::Delivered:
      return "delivered";
    case Outcome::Deferred:
      return "deferred";
    case Outcome::Bounced:
      return "bounced";
  }
  return "?";
}

// One line per event, so that a whole trace compares at once.
std::vector<std::string> describe(const std::vector<Event>& events, TimePoint now) {
  std::vector<std::string> out;
  for (const Event& e : events) {
    if (auto* r = std::get_if<RecipientStatus>(&e)) {
      out.push_back("rcpt " + r->queue_id + " #" + std::to_string(r->index) + " " +
                    name(r->outcome) + " " + r->dsn.status + (r->expired ? " expired" : "") +
                    (r->attempted ? "" : " unattempted"));
    } else if (auto* b = std::get_if<BounceNeeded>(&e)) {
      std::string line = "bounce " + b->queue_id;
      for (const BouncedRecipient& r : b->recipients) {
        line += " #" + std::to_string(r.index) + (r.expired ? "(expired)" : "");
      }
      out.push_back(line + (b->null_sender ? " null" : ""));
    } else if (auto* w = std::get_if<DelayWarning>(&e)) {
      std::string line = "warn " + w->queue_id;
      for (const DeferredRecipient& r : w->recipients) {
        line += " #" + std::to_string(r.index);
      }
      out.push_back(line);
    } else if (auto* d = std::get_if<MessageDeferred>(&e)) {
      out.push_back(
          "defer " + d->queue_id + " +" +
          std::to_string(std::chrono::duration_cast<Seconds>(d->next_attempt - now).count()) + "s" +
          (d->delay_warning_sent ? " warned" : ""));
    } else if (auto* f = std::get_if<MessageFinished>(&e)) {
      out.push_back("done " + f->queue_id);
    }
  }
  return out;
}

template <class T>
std::vector<T> only(const std::vector<Event>& events) {
  std::vector<T> out;
  for (const Event& e : events) {
    if (auto* x = std::get_if<T>(&e)) {
      out.push_back(*x);
    }
  }
  return out;
}

struct Harness {
  explicit Harness(SchedulerSettings settings = {}) : scheduler(std::move(settings), clock) {}

  void admit(MessageIn m) {
    Status status = scheduler.admit(std::move(m));
    ASSERT_TRUE(status.ok()) << status.error().message;
  }
  void report(const DeliveryReport& r) {
    Status status = scheduler.report(r);
    ASSERT_TRUE(status.ok()) << status.error().message;
  }
  std::vector<std::string> events() { return describe(scheduler.take_events(), clock.now()); }

  FakeClock clock{kStart};
  Scheduler scheduler;
};

// --- Admission -------------------------------------------------------------------------------

TEST(Scheduler, ActiveLimitBoundsMessagesInMemory) {
  SchedulerSettings settings;
  settings.qmgr_message_active_limit = 3;
  Harness h(settings);
  EXPECT_EQ(h.scheduler.admission_capacity(), 3u);
  for (std::string id : {"A", "B", "C"}) {
    h.admit(message(id, {rcpt(0, "u@" + id + ".example")}, kStart));
  }
  EXPECT_EQ(h.scheduler.admission_capacity(), 0u);
  EXPECT_EQ(h.scheduler.next_source(true, true), std::nullopt);
  EXPECT_FALSE(h.scheduler.admit(message("D", {rcpt(0, "u@d.example")}, kStart)).ok());
  EXPECT_FALSE(h.scheduler.contains("D"));

  auto requests = h.scheduler.take_requests();
  ASSERT_EQ(requests.size(), 3u);
  h.report(all(requests[0], Outcome::Delivered));
  EXPECT_EQ(h.events(), (std::vector<std::string>{"rcpt A #0 delivered 2.0.0", "done A"}));
  EXPECT_EQ(h.scheduler.admission_capacity(), 1u);
  EXPECT_EQ(h.scheduler.message_count(), 2u);
}

TEST(Scheduler, RefusesDuplicatesAndUnknownRequests) {
  Harness h;
  h.admit(message("A", {rcpt(0, "u@a.example")}, kStart));
  EXPECT_FALSE(h.scheduler.admit(message("A", {rcpt(1, "v@a.example")}, kStart)).ok());
  EXPECT_FALSE(
      h.scheduler.admit(message("B", {rcpt(3, "u@b.example"), rcpt(3, "v@b.example")}, kStart))
          .ok());
  EXPECT_FALSE(h.scheduler.contains("B"));
  EXPECT_FALSE(h.scheduler.report(DeliveryReport{12345, {}, std::nullopt}).ok());
  // The refused admissions changed nothing: one request, for A's one recipient.
  auto requests = h.scheduler.take_requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].recipients.size(), 1u);
  EXPECT_EQ(requests[0].recipients[0].address, "u@a.example");
}

TEST(Scheduler, AdmissionsAlternateBetweenNewAndDeferred) {
  struct Case {
    int new_waiting;
    int deferred_waiting;
    int limit;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {3, 3, 100, "NDNDND"}, {4, 1, 100, "NDNNN"}, {1, 4, 100, "NDDDD"},
      {0, 2, 100, "DD"},     {2, 0, 100, "NN"},    {5, 5, 4, "NDND"},
  };
  for (const Case& c : cases) {
    SchedulerSettings settings;
    settings.qmgr_message_active_limit = c.limit;
    Harness h(settings);
    int n = c.new_waiting;
    int d = c.deferred_waiting;
    std::string got;
    int id = 0;
    while (auto source = h.scheduler.next_source(n > 0, d > 0)) {
      bool is_new = *source == QueueSource::New;
      got += is_new ? 'N' : 'D';
      (is_new ? n : d) -= 1;
      h.admit(message(std::to_string(id++), {rcpt(0, "u@x.example")}, kStart, *source));
    }
    EXPECT_EQ(got, c.expected) << c.new_waiting << " new, " << c.deferred_waiting
                               << " deferred, limit " << c.limit;
  }
}

// --- Grouping and limits ---------------------------------------------------------------------

TEST(Scheduler, RecipientLimitGroupsRecipients) {
  struct Case {
    std::string transport;
    int count;
    std::optional<int> limit;  // <transport>_destination_recipient_limit
    std::vector<std::size_t> sizes;
  };
  const std::vector<Case> cases = {
      {"smtp", 120, std::nullopt, {50, 50, 20}},  // default_destination_recipient_limit 50
      {"smtp", 50, std::nullopt, {50}},
      {"smtp", 5, 2, {2, 2, 1}},
      {"smtp", 120, 0, {120}},                // 0: no limit
      {"local", 3, std::nullopt, {1, 1, 1}},  // local's default 1
  };
  for (const Case& c : cases) {
    SchedulerSettings settings;
    if (c.limit) {
      settings.transports[c.transport].destination_recipient_limit = c.limit;
    }
    Harness h(settings);
    std::vector<RecipientIn> recipients;
    for (int i = 0; i < c.count; ++i) {
      recipients.push_back(rcpt(i, "user" + std::to_string(i) + "@example.org", c.transport));
    }
    h.admit(message("M", recipients, kStart));
    auto requests = h.scheduler.take_requests();
    std::vector<std::size_t> sizes;
    std::vector<std::uint32_t> indexes;
    for (const DeliveryRequest& r : requests) {
      sizes.push_back(r.recipients.size());
      EXPECT_EQ(r.transport, c.transport);
      EXPECT_EQ(r.next_hop, "example.org");
      for (const RequestRecipient& x : r.recipients) {
        indexes.push_back(x.index);
      }
    }
    EXPECT_EQ(sizes, c.sizes) << c.transport << " x" << c.count;
    std::sort(indexes.begin(), indexes.end());
    EXPECT_EQ(indexes.size(), static_cast<std::size_t>(c.count));
    EXPECT_EQ(std::adjacent_find(indexes.begin(), indexes.end()), indexes.end());
  }
}

TEST(Scheduler, OneRequestPerDestinationOfAMessage) {
  Harness h;
  h.admit(message("M",
                  {rcpt(0, "a@x.example"), rcpt(1, "b@y.example"), rcpt(2, "c@X.example"),
                   rcpt(3, "d@y.example"), rcpt(4, "e@x.example")},
                  kStart));
  auto requests = h.scheduler.take_requests();
  ASSERT_EQ(requests.size(), 2u);
  std::map<std::string, std::vector<std::uint32_t>> by_hop;
  for (const DeliveryRequest& r : requests) {
    for (const RequestRecipient& x : r.recipients) {
      by_hop[r.next_hop].push_back(x.index);
    }
  }
  // Destinations compare case-insensitively; the request carries the first recipient's hop.
  EXPECT_EQ(by_hop["x.example"], (std::vector<std::uint32_t>{0, 2, 4}));
  EXPECT_EQ(by_hop["y.example"], (std::vector<std::uint32_t>{1, 3}));
}

TEST(Scheduler, PerDestinationConcurrencyCap) {
  struct Case {
    std::optional<int> limit;
    std::size_t first_batch;
  };
  // The first batch is the initial window: initial_destination_concurrency (5), capped by the
  // limit.
  const std::vector<Case> cases = {{std::nullopt, 5}, {3, 3}, {1, 1}, {8, 5}};
  for (const Case& c : cases) {
    SchedulerSettings settings;
    if (c.limit) {
      settings.transports["smtp"].destination_concurrency_limit = c.limit;
    }
    Harness h(settings);
    for (int i = 0; i < 10; ++i) {
      h.admit(message("M" + std::to_string(i), {rcpt(0, "u@example.org")}, kStart));
    }
    auto first = h.scheduler.take_requests();
    EXPECT_EQ(first.size(), c.first_batch);
    EXPECT_TRUE(h.scheduler.take_requests().empty());
    auto info = h.scheduler.destination("smtp", "example.org");
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->in_flight, static_cast<int>(c.first_batch));
    EXPECT_EQ(info->queued_recipients, 10 - c.first_batch);
    // A completion frees exactly one slot (the window may grow later, not after one success
    // here: growth needs `window` successes).
    h.report(all(first[0], Outcome::Delivered));
    EXPECT_EQ(h.scheduler.take_requests().size(), 1u);
  }
}

TEST(Scheduler, AReleasedRequestFreesItsSlotAndItsReportOnlyAppliesTheResults) {
  SchedulerSettings settings;
  settings.transports["virtual"].destination_concurrency_limit = 1;
  Harness h(settings);
  for (int i = 0; i < 3; ++i) {
    h.admit(message("M" + std::to_string(i), {rcpt(0, "u@example.org", "virtual")}, kStart));
  }
  auto first = h.scheduler.take_requests();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_TRUE(h.scheduler.take_requests().empty());

  // A full window (1) waits behind the first: the agent is asked to say when it is done
  // with the destination.
  EXPECT_TRUE(first[0].release_wanted);

  // The agent says the destination is free (its results follow): the next one may start,
  // nothing is recorded yet, and the first stays in flight.
  ASSERT_TRUE(h.scheduler.release(first[0].id).ok());
  EXPECT_FALSE(h.scheduler.release(first[0].id).ok());  // once
  EXPECT_FALSE(h.scheduler.release(999).ok());
  EXPECT_TRUE(h.events().empty());
  auto second = h.scheduler.take_requests();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_TRUE(second[0].release_wanted);  // M2 waits
  EXPECT_EQ(h.scheduler.in_flight(), 2u);
  EXPECT_EQ(h.scheduler.destination("virtual", "example.org")->in_flight, 1);

  // The first's results: recorded, but its slot is not freed twice.
  h.report(all(first[0], Outcome::Delivered, "2.0.0"));
  EXPECT_EQ(h.events(), (std::vector<std::string>{"rcpt M0 #0 delivered 2.0.0", "done M0"}));
  EXPECT_TRUE(h.scheduler.take_requests().empty());

  // An unreleased report frees the slot as before.
  h.report(all(second[0], Outcome::Delivered, "2.0.0"));
  auto third = h.scheduler.take_requests();
  ASSERT_EQ(third.size(), 1u);
  EXPECT_FALSE(third[0].release_wanted);  // nothing waits behind it

  // Released with nothing else queued, then the agent is lost before the results: the
  // destination was kept for the report, which defers the recipient.
  ASSERT_TRUE(h.scheduler.release(third[0].id).ok());
  h.events();
  DeliveryReport lost;
  lost.request_id = third[0].id;
  h.report(lost);
  const std::vector<std::string> events = h.events();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events[0], "rcpt M2 #0 deferred 4.3.0");
  EXPECT_EQ(h.scheduler.in_flight(), 0u);
}

TEST(Scheduler, MoreMailHintWhileTheDestinationHasAQueue) {
  SchedulerSettings settings;
  settings.transports["smtp"].destination_concurrency_limit = 1;
  Harness h(settings);
  for (int i = 0; i < 3; ++i) {
    h.admit(message("M" + std::to_string(i), {rcpt(0, "u@example.org")}, kStart));
  }
  h.admit(message("N", {rcpt(0, "u@example.net")}, kStart));
  auto first = h.scheduler.take_requests();
  ASSERT_EQ(first.size(), 2u);
  for (const DeliveryRequest& r : first) {
    // example.org has two more entries queued; example.net has none.
    EXPECT_EQ(r.more_mail, r.next_hop == "example.org") << r.next_hop;
  }
  const DeliveryRequest& org = first[0].next_hop == "example.org" ? first[0] : first[1];
  h.report(all(org, Outcome::Delivered));
  auto second = h.scheduler.take_requests();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_TRUE(second[0].more_mail);
  h.report(all(second[0], Outcome::Delivered));
  auto last = h.scheduler.take_requests();
  ASSERT_EQ(last.size(), 1u);
  EXPECT_FALSE(last[0].more_mail);
}

TEST(Scheduler, AReleasedRequestKeepsItsPlaceInTheProcessLimitUntilItsReport) {
  SchedulerSettings settings;
  settings.transports["virtual"].process_limit = 1;
  Harness h(settings);
  h.admit(message("A", {rcpt(0, "u@a.example", "virtual")}, kStart));
  h.admit(message("B", {rcpt(0, "u@b.example", "virtual")}, kStart));
  auto first = h.scheduler.take_requests();
  ASSERT_EQ(first.size(), 1u);
  ASSERT_TRUE(h.scheduler.release(first[0].id).ok());
  EXPECT_TRUE(h.scheduler.take_requests().empty());  // the agent still works on it
  h.report(all(first[0], Outcome::Delivered, "2.0.0"));
  EXPECT_EQ(h.scheduler.take_requests().size(), 1u);
}

TEST(Scheduler, AnEarlyReleaseIsWantedOnlyWhileAFullWindowWaits) {
  Harness h;  // the initial window: 5
  for (int i = 0; i < 7; ++i) {
    h.admit(message("M" + std::to_string(i), {rcpt(0, "u@example.org", "virtual")}, kStart));
  }
  auto first = h.scheduler.take_requests();
  ASSERT_EQ(first.size(), 5u);
  // Behind each: 6, 5, 4, 3 and 2 messages waiting.
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_TRUE(first[i].more_mail) << i;
    EXPECT_EQ(first[i].release_wanted, i < 2) << i;
  }
}

TEST(Scheduler, LocalConcurrencyIsPerRecipient) {
  Harness h;
  for (int i = 0; i < 5; ++i) {
    h.admit(message("A" + std::to_string(i), {rcpt(0, "alice@localhost", "local")}, kStart));
    h.admit(message("B" + std::to_string(i), {rcpt(0, "bob@localhost", "local")}, kStart));
  }
  auto requests = h.scheduler.take_requests();
  std::map<std::string, int> per_recipient;
  for (const DeliveryRequest& r : requests) {
    EXPECT_EQ(r.next_hop, "localhost");
    per_recipient[r.recipients[0].address] += 1;
  }
  // local_destination_concurrency_limit 2 applies to each recipient, not to "localhost".
  EXPECT_EQ(per_recipient,
            (std::map<std::string, int>{{"alice@localhost", 2}, {"bob@localhost", 2}}));
  ASSERT_TRUE(h.scheduler.destination("local", "Alice@localhost").has_value());
  EXPECT_EQ(h.scheduler.destination("local", "alice@localhost")->in_flight, 2);
}

TEST(Scheduler, ProcessLimitCapsATransport) {
  SchedulerSettings settings;
  settings.transports["smtp"].process_limit = 3;
  Harness h(settings);
  for (int i = 0; i < 5; ++i) {
    h.admit(message("S" + std::to_string(i), {rcpt(0, "u@d" + std::to_string(i) + ".example")},
                    kStart));
  }
  h.admit(message("L0", {rcpt(0, "alice@localhost", "local")}, kStart));
  h.admit(message("L1", {rcpt(0, "bob@localhost", "local")}, kStart));
  auto requests = h.scheduler.take_requests();
  std::map<std::string, std::vector<DeliveryRequest>> by_transport;
  for (const DeliveryRequest& r : requests) {
    by_transport[r.transport].push_back(r);
  }
  EXPECT_EQ(by_transport["smtp"].size(), 3u);
  EXPECT_EQ(by_transport["local"].size(), 2u);  // another transport, its own limit
  h.report(all(by_transport["smtp"][0], Outcome::Delivered));
  auto more = h.scheduler.take_requests();
  ASSERT_EQ(more.size(), 1u);
  EXPECT_EQ(more[0].transport, "smtp");
}

TEST(Scheduler, RateDelaySpacesDeliveriesToADestinationOneAtATime) {
  SchedulerSettings settings;
  settings.default_destination_rate_delay = Seconds(10);
  Harness h(settings);
  for (int i = 0; i < 3; ++i) {
    h.admit(message("R" + std::to_string(i), {rcpt(0, "u@slow.example")}, kStart));
  }
  h.admit(message("F0", {rcpt(0, "u@other.example")}, kStart));
  auto requests = h.scheduler.take_requests();
  ASSERT_EQ(requests.size(), 2u);  // one per destination, not the window of 5
  const DeliveryRequest slow = requests[0].next_hop == "slow.example" ? requests[0] : requests[1];
  EXPECT_FALSE(h.scheduler.next_destination_release().has_value());
  h.report(all(slow, Outcome::Delivered));
  // The next one only after the delay, counted from the end of the last.
  EXPECT_TRUE(h.scheduler.take_requests().empty());
  ASSERT_TRUE(h.scheduler.next_destination_release().has_value());
  EXPECT_EQ(*h.scheduler.next_destination_release(), kStart + Seconds(10));
  h.clock.advance(Seconds(9));
  EXPECT_TRUE(h.scheduler.take_requests().empty());
  h.clock.advance(Seconds(1));
  auto next = h.scheduler.take_requests();
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].next_hop, "slow.example");
  EXPECT_FALSE(h.scheduler.next_destination_release().has_value());
}

TEST(Scheduler, RoundRobinBetweenDestinations) {
  SchedulerSettings settings;
  settings.transports["smtp"].process_limit = 1;  // one at a time shows the order
  Harness h(settings);
  for (std::string id : {"A1", "A2", "A3"}) h.admit(message(id, {rcpt(0, "u@a.example")}, kStart));
  for (std::string id : {"B1", "B2", "B3"}) h.admit(message(id, {rcpt(0, "u@b.example")}, kStart));
  h.admit(message("C1", {rcpt(0, "u@c.example")}, kStart));
  std::string order;
  for (int i = 0; i < 20; ++i) {
    auto requests = h.scheduler.take_requests();
    if (requests.empty()) {
      break;
    }
    ASSERT_EQ(requests.size(), 1u);
    order += requests[0].next_hop.substr(0, 1);
    h.report(all(requests[0], Outcome::Delivered));
  }
  // a.example does not get its three in a row ahead of b and c.
  EXPECT_EQ(order, "abcabab");
}

// --- Concurrency feedback --------------------------------------------------------------------

TEST(Scheduler, SlowStartGrowsTheWindowUpToTheLimit) {
  SchedulerSettings settings;
  settings.transports["smtp"].destination_concurrency_limit = 8;
  Harness h(settings);
  for (int i = 0; i < 200; ++i) {
    h.admit(message("M" + std::to_string(i), {rcpt(0, "u@example.org")}, kStart));
  }
  std::deque<DeliveryRequest> flying;
  for (auto& r : h.scheduler.take_requests()) flying.push_back(r);
  ASSERT_EQ(flying.size(), 5u);  // initial_destination_concurrency
  std::vector<std::size_t> in_flight;
  for (int i = 0; i < 25; ++i) {
    h.report(all(flying.front(), Outcome::Delivered));
    flying.pop_front();
    for (auto& r : h.scheduler.take_requests()) flying.push_back(r);
    in_flight.push_back(flying.size());
  }
  std::vector<std::size_t> expected = {5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 7, 7, 7,
                                       7, 7, 7, 7, 8, 8, 8, 8, 8, 8, 8, 8};
  EXPECT_EQ(in_flight, expected);
  EXPECT_EQ(h.scheduler.destination("smtp", "example.org")->window, 8);
}

TEST(Scheduler, DestinationFailureShrinksTheWindow) {
  Harness h;
  for (int i = 0; i < 20; ++i) {
    h.admit(message("M" + std::to_string(i), {rcpt(0, "u@example.org")}, kStart));
  }
  auto first = h.scheduler.take_requests();
  ASSERT_EQ(first.size(), 5u);
  h.report(destination_failed(first[0]));
  EXPECT_EQ(h.events(), (std::vector<std::string>{"rcpt M0 #0 deferred 4.4.1", "defer M0 +300s"}));
  auto info = h.scheduler.destination("smtp", "example.org");
  EXPECT_EQ(info->window, 4);
  EXPECT_FALSE(info->dead);
  // Four still in flight fill the shrunken window.
  EXPECT_TRUE(h.scheduler.take_requests().empty());
  // A per-recipient failure is not a destination failure: positive feedback, one slot frees.
  h.report(all(first[1], Outcome::Deferred, "4.2.2", "mailbox full"));
  EXPECT_EQ(h.scheduler.destination("smtp", "example.org")->window, 4);
  EXPECT_EQ(h.scheduler.take_requests().size(), 1u);
}

TEST(Scheduler, DeadDestinationDefersItsQueueAndDoesNotBlockOthers) {
  SchedulerSettings settings;
  settings.transports["smtp"].initial_destination_concurrency = 1;
  settings.transports["smtp"].process_limit = 2;
  Harness h(settings);
  for (int i = 1; i <= 5; ++i) {
    h.admit(message("D" + std::to_string(i), {rcpt(0, "u@dead.example")}, kStart));
  }
  for (int i = 1; i <= 3; ++i) {
    h.admit(message("L" + std::to_string(i), {rcpt(0, "u@live.example")}, kStart));
  }
  auto requests = h.scheduler.take_requests();
  ASSERT_EQ(requests.size(), 2u);
  ASSERT_EQ(requests[0].queue_id, "D1");
  ASSERT_EQ(requests[1].queue_id, "L1");

  // One failed cohort at window 1: dead.
  h.report(destination_failed(requests[0]));
  std::vector<std::string> expected = {"rcpt D1 #0 deferred 4.4.1", "defer D1 +300s"};
  for (int i = 2; i <= 5; ++i) {
    std::string id = "D" + std::to_string(i);
    expected.push_back("rcpt " + id + " #0 deferred 4.4.1 unattempted");
    expected.push_back("defer " + id + " +300s");
  }
  auto events = h.scheduler.take_events();
  EXPECT_EQ(describe(events, h.clock.now()), expected);
  auto statuses = only<RecipientStatus>(events);
  ASSERT_EQ(statuses.size(), 5u);
  EXPECT_EQ(statuses[1].dsn.reason,
            "delivery temporarily suspended: connect to mx.dead.example[192.0.2.1]:25: "
            "Connection refused");
  auto info = h.scheduler.destination("smtp", "dead.example");
  ASSERT_TRUE(info.has_value());
  EXPECT_TRUE(info->dead);
  EXPECT_EQ(info->dead_until, kStart + Seconds{300});  // minimal_backoff_time

  // live.example gets the freed process slot and carries on.
  h.report(all(requests[1], Outcome::Delivered));
  auto live = h.scheduler.take_requests();
  ASSERT_EQ(live.size(), 2u);  // window grew to 2 after one success at window 1
  for (const DeliveryRequest& r : live) {
    EXPECT_EQ(r.next_hop, "live.example");
    h.report(all(r, Outcome::Delivered));
  }
  h.scheduler.take_events();

  // New mail for the dead destination is deferred at once, without an attempt...
  h.admit(message("D6", {rcpt(0, "v@dead.example")}, kStart));
  EXPECT_TRUE(h.scheduler.take_requests().empty());
  EXPECT_EQ(h.events(),
            (std::vector<std::string>{"rcpt D6 #0 deferred 4.4.1 unattempted", "defer D6 +300s"}));
  // ... until minimal_backoff_time has passed.
  h.clock.advance(Seconds{300});
  h.admit(message("D7", {rcpt(0, "v@dead.example")}, kStart));
  auto retry = h.scheduler.take_requests();
  ASSERT_EQ(retry.size(), 1u);
  EXPECT_EQ(retry[0].queue_id, "D7");
  EXPECT_FALSE(h.scheduler.destination("smtp", "dead.example")->dead);
}

// --- Outcomes and events ---------------------------------------------------------------------

TEST(Scheduler, OutcomesMakeTheirEvents) {
  struct Case {
    bool null_sender;
    std::vector<Outcome> outcomes;
    std::vector<std::string> events;
  };
  using O = Outcome;
  const std::vector<Case> cases = {
      {false,
       {O::Delivered, O::Delivered},
       {"rcpt M #0 delivered 2.0.0", "rcpt M #1 delivered 2.0.0", "done M"}},
      {false,
       {O::Delivered, O::Bounced, O::Deferred},
       {"rcpt M #0 delivered 2.0.0", "rcpt M #1 bounced 5.0.0", "rcpt M #2 deferred 4.0.0",
        "bounce M #1", "defer M +300s"}},
      {false,
       {O::Bounced, O::Bounced},
       {"rcpt M #0 bounced 5.0.0", "rcpt M #1 bounced 5.0.0", "bounce M #0 #1", "done M"}},
      {true, {O::Bounced}, {"rcpt M #0 bounced 5.0.0", "bounce M #0 null", "done M"}},
      {false, {O::Deferred}, {"rcpt M #0 deferred 4.0.0", "defer M +300s"}},
  };
  for (const Case& c : cases) {
    Harness h;
    MessageIn m = message("M", {}, kStart);
    m.null_sender = c.null_sender;
    for (std::size_t i = 0; i < c.outcomes.size(); ++i) {
      m.recipients.push_back(rcpt(i, "u" + std::to_string(i) + "@example.org"));
    }
    h.admit(m);
    auto requests = h.scheduler.take_requests();
    ASSERT_EQ(requests.size(), 1u);
    DeliveryReport report{requests[0].id, {}, std::nullopt};
    for (std::size_t i = 0; i < c.outcomes.size(); ++i) {
      report.recipients.push_back({static_cast<std::uint32_t>(i), c.outcomes[i], {}});
    }
    h.report(report);
    EXPECT_EQ(h.events(), c.events);
    EXPECT_FALSE(h.scheduler.contains("M"));
  }
}

TEST(Scheduler, MissingResultsAreDeferredAndStrayOnesReported) {
  Harness h;
  h.admit(message("M", {rcpt(0, "a@example.org"), rcpt(1, "b@example.org")}, kStart));
  auto requests = h.scheduler.take_requests();
  ASSERT_EQ(requests.size(), 1u);
  DeliveryReport report{requests[0].id, {}, std::nullopt};
  report.recipients.push_back({0, Outcome::Delivered, {}});
  report.recipients.push_back({7, Outcome::Delivered, {}});  // not in the request
  Status status = h.scheduler.report(report);
  EXPECT_FALSE(status.ok());
  auto events = h.scheduler.take_events();
  EXPECT_EQ(describe(events, h.clock.now()),
            (std::vector<std::string>{"rcpt M #0 delivered 2.0.0", "rcpt M #1 deferred 4.3.0",
                                      "defer M +300s"}));
  EXPECT_EQ(only<RecipientStatus>(events)[1].dsn.reason, "delivery agent did not report a status");
}

TEST(Scheduler, BackoffFollowsTheMessageAge) {
  struct Case {
    long age_s;
    long next_in_s;
  };
  const std::vector<Case> cases = {
      {0, 300}, {200, 300}, {1000, 1000}, {3000, 3000}, {10 * 3600, 4000}};
  for (const Case& c : cases) {
    Harness h;
    h.admit(message("M", {rcpt(0, "u@example.org")}, kStart - Seconds{c.age_s}));
    auto requests = h.scheduler.take_requests();
    h.report(all(requests.at(0), Outcome::Deferred, "4.4.1", "timeout"));
    auto deferred = only<MessageDeferred>(h.scheduler.take_events());
    ASSERT_EQ(deferred.size(), 1u);
    EXPECT_EQ(deferred[0].next_attempt - kStart, Seconds{c.next_in_s}) << "age " << c.age_s;
  }
}

TEST(Scheduler, DeferredAfterTheLifetimeIsBounced) {
  struct Case {
    bool null_sender;
    long age_s;
    bool expires;
  };
  const long day = 24 * 3600;
  // maximal_queue_lifetime 5 d (default), bounce_queue_lifetime 1 d.
  const std::vector<Case> cases = {
      {false, 5 * day - 1, false}, {false, 5 * day, true}, {false, 2 * day, false},
      {true, day - 1, false},      {true, day, true},      {true, 6 * day, true},
  };
  for (const Case& c : cases) {
    SchedulerSettings settings;
    settings.bounce_queue_lifetime = hours(24);
    Harness h(settings);
    MessageIn m = message("M", {rcpt(0, "u@example.org")}, kStart - Seconds{c.age_s});
    m.null_sender = c.null_sender;
    h.admit(m);
    auto requests = h.scheduler.take_requests();
    h.report(all(requests.at(0), Outcome::Deferred, "4.4.1", "connect to example.org: timeout"));
    auto events = h.scheduler.take_events();
    auto statuses = only<RecipientStatus>(events);
    ASSERT_EQ(statuses.size(), 1u);
    // The deferral's DSN is kept either way (Postfix's expired bounce shows the last error).
    EXPECT_EQ(statuses[0].dsn.status, "4.4.1");
    EXPECT_EQ(statuses[0].dsn.reason, "connect to example.org: timeout");
    std::string trace = c.null_sender ? " null" : "";
    if (c.expires) {
      EXPECT_EQ(describe(events, h.clock.now()),
                (std::vector<std::string>{"rcpt M #0 bounced 4.4.1 expired",
                                          "bounce M #0(expired)" + trace, "done M"}))
          << "null " << c.null_sender << " age " << c.age_s;
    } else {
      EXPECT_EQ(statuses[0].outcome, Outcome::Deferred)
          << "null " << c.null_sender << " age " << c.age_s;
      EXPECT_EQ(only<MessageDeferred>(events).size(), 1u);
    }
  }
}

TEST(Scheduler, DelayWarningOnceAndOnlyWhileDeferred) {
  struct Case {
    std::string label;
    long warning_h;  // delay_warning_time
    long age_h;
    bool already_sent;
    std::vector<Outcome> outcomes;
    std::vector<std::string> events;
  };
  using O = Outcome;
  const std::vector<Case> cases = {
      {"old and deferred",
       4,
       5,
       false,
       {O::Deferred, O::Delivered},
       {"rcpt M #0 deferred 4.0.0", "rcpt M #1 delivered 2.0.0", "warn M #0",
        "defer M +4000s warned"}},
      {"already warned",
       4,
       5,
       true,
       {O::Deferred},
       {"rcpt M #0 deferred 4.0.0", "defer M +4000s warned"}},
      {"too young", 4, 3, false, {O::Deferred}, {"rcpt M #0 deferred 4.0.0", "defer M +4000s"}},
      {"delivered", 4, 5, false, {O::Delivered}, {"rcpt M #0 delivered 2.0.0", "done M"}},
      {"bounced", 4, 5, false, {O::Bounced}, {"rcpt M #0 bounced 5.0.0", "bounce M #0", "done M"}},
      {"off", 0, 100, false, {O::Deferred}, {"rcpt M #0 deferred 4.0.0", "defer M +4000s"}},
  };
  for (const Case& c : cases) {
    SchedulerSettings settings;
    settings.delay_warning_time = hours(c.warning_h);
    Harness h(settings);
    MessageIn m = message("M", {}, kStart - hours(c.age_h));
    m.delay_warning_sent = c.already_sent;
    for (std::size_t i = 0; i < c.outcomes.size(); ++i) {
      m.recipients.push_back(rcpt(i, "u" + std::to_string(i) + "@example.org"));
    }
    h.admit(m);
    auto requests = h.scheduler.take_requests();
    ASSERT_EQ(requests.size(), 1u);
    DeliveryReport report{requests[0].id, {}, std::nullopt};
    for (std::size_t i = 0; i < c.outcomes.size(); ++i) {
      report.recipients.push_back({static_cast<std::uint32_t>(i), c.outcomes[i], {}});
    }
    h.report(report);
    EXPECT_EQ(h.events(), c.events) << c.label;
  }
}

TEST(Scheduler, DelayWarningFlagCarriesAcrossAdmissions) {
  SchedulerSettings settings;
  settings.delay_warning_time = hours(4);
  Harness h(settings);
  MessageIn m = message("M", {rcpt(0, "u@example.org")}, kStart - hours(5));
  h.admit(m);
  h.report(all(h.scheduler.take_requests().at(0), Outcome::Deferred));
  auto first = h.scheduler.take_events();
  ASSERT_EQ(only<DelayWarning>(first).size(), 1u);
  auto deferred = only<MessageDeferred>(first);
  ASSERT_EQ(deferred.size(), 1u);
  ASSERT_TRUE(deferred[0].delay_warning_sent);

  // The edge stored the flag; the next attempt is admitted with it and warns no more.
  h.clock.set(deferred[0].next_attempt);
  m.delay_warning_sent = deferred[0].delay_warning_sent;
  m.source = QueueSource::Deferred;
  h.admit(m);
  h.report(all(h.scheduler.take_requests().at(0), Outcome::Deferred));
  auto second = h.scheduler.take_events();
  EXPECT_TRUE(only<DelayWarning>(second).empty());
  EXPECT_EQ(only<MessageDeferred>(second).size(), 1u);
}

// --- Deferred scans and flush ----------------------------------------------------------------

TEST(Scheduler, DeferredScansEveryQueueRunDelay) {
  Harness h;
  EXPECT_EQ(h.scheduler.next_deferred_scan(), kStart);  // the first scan is due at once
  auto scan = h.scheduler.begin_deferred_scan();
  ASSERT_TRUE(scan.has_value());
  EXPECT_EQ(scan->cutoff, kStart);
  EXPECT_FALSE(scan->flush);
  EXPECT_FALSE(h.scheduler.begin_deferred_scan().has_value());  // one at a time
  h.scheduler.deferred_scan_done();
  EXPECT_EQ(h.scheduler.next_deferred_scan(), kStart + Seconds{300});
  h.clock.advance(Seconds{299});
  EXPECT_FALSE(h.scheduler.begin_deferred_scan().has_value());
  h.clock.advance(Seconds{1});
  scan = h.scheduler.begin_deferred_scan();
  ASSERT_TRUE(scan.has_value());
  EXPECT_EQ(scan->cutoff, kStart + Seconds{300});
  // A scan that runs long: the next one is still due queue_run_delay after this one started.
  h.clock.advance(Seconds{1000});
  EXPECT_FALSE(h.scheduler.begin_deferred_scan().has_value());
  h.scheduler.deferred_scan_done();
  EXPECT_TRUE(h.scheduler.begin_deferred_scan().has_value());
}

TEST(Scheduler, FlushMakesEverythingDueAndRevivesDeadDestinations) {
  SchedulerSettings settings;
  settings.transports["smtp"].initial_destination_concurrency = 1;
  Harness h(settings);
  ASSERT_TRUE(h.scheduler.begin_deferred_scan().has_value());
  h.scheduler.deferred_scan_done();

  h.admit(message("D1", {rcpt(0, "u@dead.example")}, kStart));
  h.report(destination_failed(h.scheduler.take_requests().at(0)));
  ASSERT_TRUE(h.scheduler.destination("smtp", "dead.example")->dead);
  h.scheduler.take_events();

  h.clock.advance(Seconds{10});
  h.scheduler.flush();
  EXPECT_EQ(h.scheduler.next_deferred_scan(), h.clock.now());
  auto scan = h.scheduler.begin_deferred_scan();
  ASSERT_TRUE(scan.has_value());
  EXPECT_TRUE(scan->flush);
  EXPECT_EQ(scan->cutoff, TimePoint::max());

  // The flushed message is admitted and tried at once, although only 10 s have passed.
  MessageIn again = message("D1", {rcpt(0, "u@dead.example")}, kStart, QueueSource::Deferred);
  h.admit(again);
  EXPECT_EQ(h.scheduler.take_requests().size(), 1u);

  // A flush during a scan makes the next one due as soon as this one is done.
  h.scheduler.flush();
  EXPECT_FALSE(h.scheduler.begin_deferred_scan().has_value());
  h.scheduler.deferred_scan_done();
  scan = h.scheduler.begin_deferred_scan();
  ASSERT_TRUE(scan.has_value());
  EXPECT_TRUE(scan->flush);
  h.scheduler.deferred_scan_done();
  // And the flag is spent: the next scan waits queue_run_delay again.
  EXPECT_FALSE(h.scheduler.begin_deferred_scan().has_value());
}

TEST(Scheduler, DeferTransportsWaitForAFlush) {
  SchedulerSettings settings;
  settings.defer_transports = {"smtp"};
  Harness h(settings);
  // Only the smtp recipient waits: no request, a deferral without attempt, and the message
  // goes to deferred/ with its backoff.
  h.admit(message("M1", {rcpt(0, "a@remote.example"), rcpt(1, "b@here", "local")}, kStart));
  auto requests = h.scheduler.take_requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].transport, "local");
  auto statuses = only<RecipientStatus>(h.scheduler.take_events());
  ASSERT_EQ(statuses.size(), 1u);
  EXPECT_EQ(statuses[0].dsn.reason, kDeferredTransport);
  EXPECT_EQ(statuses[0].dsn.status, "4.3.2");
  h.report(all(requests[0], Outcome::Delivered));
  EXPECT_EQ(h.events(), (std::vector<std::string>{"rcpt M1 #1 delivered 2.0.0", "defer M1 +300s"}));

  // Admitted by a flush, the same recipient is tried.
  MessageIn again = message("M1", {rcpt(0, "a@remote.example")}, kStart, QueueSource::Deferred);
  again.flushed = true;
  h.admit(again);
  requests = h.scheduler.take_requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].next_hop, "remote.example");
  EXPECT_TRUE(h.events().empty());
  h.report(all(requests[0], Outcome::Delivered));
  EXPECT_EQ(h.events(), (std::vector<std::string>{"rcpt M1 #0 delivered 2.0.0", "done M1"}));
}

// --- Removal and restart ---------------------------------------------------------------------

TEST(Scheduler, RemovedMessageIgnoresItsResultsInFlight) {
  SchedulerSettings settings;
  settings.transports["smtp"].process_limit = 1;
  Harness h(settings);
  h.admit(message("M", {rcpt(0, "u@a.example"), rcpt(1, "u@b.example")}, kStart));
  auto requests = h.scheduler.take_requests();
  ASSERT_EQ(requests.size(), 1u);
  ASSERT_EQ(requests[0].next_hop, "a.example");

  EXPECT_TRUE(h.scheduler.remove("M"));  // e.g. postsuper -h
  EXPECT_FALSE(h.scheduler.contains("M"));
  EXPECT_FALSE(h.scheduler.remove("M"));
  EXPECT_EQ(h.scheduler.admission_capacity(), 20000u);

  // Released while its old request is still out: only b's recipient is pending.
  h.admit(message("M", {rcpt(1, "u@b.example")}, kStart, QueueSource::Deferred));
  // The old request's result is ignored (no event, nothing happens to the new M)...
  h.report(all(requests[0], Outcome::Delivered));
  EXPECT_TRUE(h.events().empty());
  // ... but its process slot is free again.
  auto next = h.scheduler.take_requests();
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].next_hop, "b.example");
  ASSERT_EQ(next[0].recipients.size(), 1u);
  EXPECT_EQ(next[0].recipients[0].index, 1u);
  h.report(all(next[0], Outcome::Delivered));
  EXPECT_EQ(h.events(), (std::vector<std::string>{"rcpt M #1 delivered 2.0.0", "done M"}));
  EXPECT_EQ(h.scheduler.in_flight(), 0u);
}

TEST(Scheduler, RemovedQueuedMessageIsNeverHandedOut) {
  SchedulerSettings settings;
  settings.transports["smtp"].destination_concurrency_limit = 1;
  Harness h(settings);
  h.admit(message("A", {rcpt(0, "u@example.org")}, kStart));
  h.admit(message("B", {rcpt(0, "v@example.org")}, kStart));
  h.admit(message("C", {rcpt(0, "w@example.org")}, kStart));
  auto first = h.scheduler.take_requests();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_TRUE(h.scheduler.remove("B"));
  h.report(all(first[0], Outcome::Delivered));
  auto next = h.scheduler.take_requests();
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].queue_id, "C");
  EXPECT_EQ(h.scheduler.destination("smtp", "example.org")->queued_recipients, 0u);
}

// What the edge keeps on disk: per recipient, a final status (restart contract 1).
struct FakeStore {
  struct Stored {
    TimePoint arrival;
    bool null_sender = false;
    std::vector<RecipientIn> recipients;
    std::map<std::uint32_t, Outcome> final_status;
    std::vector<BouncedRecipient> unnotified;
  };

  void apply(const std::vector<Event>& events) {
    for (const Event& e : events) {
      if (auto* r = std::get_if<RecipientStatus>(&e)) {
        if (r->outcome == Outcome::Deferred) {
          continue;
        }
        ASSERT_EQ(files[r->queue_id].final_status.count(r->index), 0u) << "finished twice";
        files[r->queue_id].final_status[r->index] = r->outcome;
        if (r->outcome == Outcome::Bounced) {
          files[r->queue_id].unnotified.push_back({r->index, r->address, r->dsn, r->expired});
        }
      } else if (auto* b = std::get_if<BounceNeeded>(&e)) {
        notices.push_back(describe({e}, TimePoint{})[0]);
        files[b->queue_id].unnotified.clear();
      } else if (auto* f = std::get_if<MessageFinished>(&e)) {
        files.erase(f->queue_id);
      }
    }
  }

  MessageIn load(const std::string& id) {
    const Stored& s = files.at(id);
    MessageIn m = message(id, {}, s.arrival);
    m.null_sender = s.null_sender;
    for (const RecipientIn& r : s.recipients) {
      if (s.final_status.count(r.index) == 0) {
        m.recipients.push_back(r);
      }
    }
    m.unnotified_bounces = s.unnotified;
    return m;
  }

  std::map<std::string, Stored> files;
  std::vector<std::string> notices;
};

TEST(Scheduler, RebuildAfterRestartNeverRepeatsFinishedRecipients) {
  FakeStore store;
  std::vector<RecipientIn> recipients = {rcpt(0, "a@one.example"), rcpt(1, "b@two.example"),
                                         rcpt(2, "c@three.example"), rcpt(3, "d@four.example"),
                                         rcpt(4, "alice@localhost", "local")};
  store.files["M"] = {kStart, false, recipients, {}, {}};
  store.files["N"] = {kStart, false, {rcpt(0, "z@one.example")}, {}, {}};

  std::set<std::pair<std::string, std::uint32_t>> finished;
  {
    Harness h;
    h.admit(store.load("M"));
    h.admit(store.load("N"));
    auto requests = h.scheduler.take_requests();
    ASSERT_EQ(requests.size(), 6u);
    for (const DeliveryRequest& r : requests) {
      std::uint32_t index = r.recipients.at(0).index;
      if (r.queue_id == "N") {
        h.report(all(r, Outcome::Delivered));
      } else if (index == 0 || index == 3) {
        h.report(all(r, Outcome::Delivered));
      } else if (index == 1) {
        h.report(all(r, Outcome::Bounced, "5.1.1", "user unknown"));
      }
      // #2 and #4 are in flight when qmgr is killed.
    }
    store.apply(h.scheduler.take_events());
    for (auto& [id, file] : store.files) {
      for (auto& [index, outcome] : file.final_status) {
        finished.insert({id, index});
      }
    }
    // N finished and its file is gone; M's bounce is recorded but no notice was queued yet.
    EXPECT_EQ(store.files.count("N"), 0u);
    EXPECT_TRUE(store.notices.empty());
  }
  ASSERT_EQ(finished,
            (std::set<std::pair<std::string, std::uint32_t>>{{"M", 0}, {"M", 1}, {"M", 3}}));

  // "Restart": a new scheduler fed only from the store.
  Harness h;
  h.admit(store.load("M"));
  auto requests = h.scheduler.take_requests();
  std::vector<std::uint32_t> handed_out;
  for (const DeliveryRequest& r : requests) {
    for (const RequestRecipient& x : r.recipients) {
      EXPECT_EQ(finished.count({r.queue_id, x.index}), 0u) << "repeated #" << x.index;
      handed_out.push_back(x.index);
    }
  }
  std::sort(handed_out.begin(), handed_out.end());
  EXPECT_EQ(handed_out, (std::vector<std::uint32_t>{2, 4}));
  for (const DeliveryRequest& r : requests) {
    h.report(all(r, Outcome::Delivered));
  }
  auto events = h.scheduler.take_events();
  store.apply(events);
  // The bounce recorded before the crash is notified now, once.
  EXPECT_EQ(store.notices, (std::vector<std::string>{"bounce M #1"}));
  EXPECT_EQ(store.files.count("M"), 0u);

  // A message whose recipients were all final when qmgr died only needs its file removed.
  store.files["P"] = {kStart, false, {rcpt(0, "q@one.example")}, {{0, Outcome::Delivered}}, {}};
  h.admit(store.load("P"));
  EXPECT_TRUE(h.scheduler.take_requests().empty());
  EXPECT_EQ(h.events(), (std::vector<std::string>{"done P"}));
}

}  // namespace
}  // namespace estafeta::qmgr
