// Scheduler: the queue manager's pure core (Postfix's qmgr(8) and OpenSMTPD's ramqueue are the
// models). It decides which queued messages come into memory, which recipients go to which
// delivery agent with what concurrency, and what becomes of a message once none of its
// recipients is pending or in flight: finished, bounced, warned about or deferred until a
// computed time. It reads no file, opens no socket, starts no thread and reads time only from
// the injected Clock. Not thread-safe: one thread (the qmgr edge's event loop) owns it.
//
// The edge's loop (all I/O is the edge's):
//   if (auto scan = s.begin_deferred_scan())      list deferred/ once; candidates are the files
//                                                 whose stored next-attempt time <= scan->cutoff;
//                                                 call deferred_scan_done() when none is left
//   while (auto src = s.next_source(new_waiting, deferred_waiting))
//     read one envelope from *src, with only the recipients that have no final status -> admit()
//   for (auto& r : s.take_requests())             send r to the transport's agent
//   on an agent's reply                           report()
//   for (auto& e : s.take_events())               perform in order (see the Event types)
//   sleep until input or s.next_deferred_scan()   (no other timer exists)
// Hold and delete (queue tools) call remove() for a message that is in memory.
//
// Restart contract. The scheduler's state is rebuilt entirely from what the edge feeds it;
// the edge persists exactly this:
//  1. A final status per recipient: written when a RecipientStatus event says Delivered or
//     Bounced (with the DSN, for the notice). Admission feeds only recipients without one, so a
//     finished delivery is never handed out again. Bounced recipients whose notice was not yet
//     queued (a crash between the two) are fed in MessageIn::unnotified_bounces, and land in
//     the message's next BounceNeeded; once BounceNeeded is performed the edge marks them
//     notified. (The qmgr edge writes a bounced recipient's final status only after the
//     bounce service has queued its notice, so it never has such recipients to feed.)
//  2. The next attempt time of a deferred message (MessageDeferred::next_attempt; Postfix keeps
//     it as the deferred file's mtime). If it is lost, next_attempt_time(settings, arrival,
//     last attempt) recomputes it: the backoff depends on the message's age only, so no attempt
//     counter exists.
//  3. The delay-warning flag (MessageDeferred::delay_warning_sent), written after the warning
//     is queued (a crash in between sends a second warning, never none).
//  4. Arrival time and whether the sender is null: the queue file holds them already.
// Not persisted, and reset by a restart as in Postfix: concurrency windows and dead
// destinations (slow start again), the new/deferred turn, the scan timer (the first scan is due
// at once) and in-flight requests. A recipient whose agent delivered it but whose status was not
// yet recorded when qmgr died is delivered again (at least once, as in Postfix); recording each
// report's statuses before anything else keeps that window small.
//
// Errors: what the edge can get wrong at run time (a second admission of one queue id, a report
// for an unknown request) returns an Error and changes nothing. Destinations are compared
// case-insensitively.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "qmgr/settings.h"

namespace estafeta::qmgr {

/// Where a message waits before admission: active/ (new mail, Postfix's incoming) or deferred/.
enum class QueueSource { New, Deferred };

/// What an agent (or the scheduler, for a dead destination) says about a recipient. The
/// scheduler never interprets it (the Outcome decides) and passes it through to the events.
struct Dsn {
  std::string status;      // RFC 3463 "2.0.0", "4.4.1", "5.1.1"
  std::string reason;      // human text: "connect to mx.example.org[...]: Connection refused"
  std::string diagnostic;  // RFC 3464 Diagnostic-Code ("smtp; 550 5.1.1 ..."), or ""
  std::string remote_mta;  // RFC 3464 Remote-MTA / Postfix's relay=, or ""
  std::string action{};    // a success report's Action when not "delivered", or ""
};

/// A recipient that still needs delivery, as the edge read it from the queue file and the
/// address resolver.
struct RecipientIn {
  std::uint32_t index = 0;  // position in the queue file; unique within the message
  std::string address;      // "user@example.org"
  std::string transport;    // master.cf service: "local", "smtp"
  std::string next_hop;     // "example.org", "[192.0.2.1]:25", "localhost"
};

struct BouncedRecipient {
  std::uint32_t index = 0;
  std::string address;
  Dsn dsn;
  bool expired = false;  // deferred after the message's lifetime (dsn is the last deferral)
};

struct DeferredRecipient {
  std::uint32_t index = 0;
  std::string address;
  Dsn dsn;
};

/// One queue file, admitted into memory.
struct MessageIn {
  std::string queue_id;
  TimePoint arrival;
  bool null_sender = false;
  QueueSource source = QueueSource::New;
  bool delay_warning_sent = false;
  /// Brought in by an explicit flush (queue flush, sendmail -q, ETRN): defer_transports does
  /// not hold its recipients back.
  bool flushed = false;
  /// Only recipients without a final status (restart contract 1).
  std::vector<RecipientIn> recipients;
  /// Bounced durably, notice not yet queued (restart contract 1).
  std::vector<BouncedRecipient> unnotified_bounces;
};

struct RequestRecipient {
  std::uint32_t index = 0;
  std::string address;
};

/// Work for one delivery agent process: recipients of one message, one transport, one next hop.
struct DeliveryRequest {
  std::uint64_t id = 0;
  std::string queue_id;
  std::string transport;
  std::string next_hop;
  std::vector<RequestRecipient> recipients;  // at most the transport's recipient limit
  /// The destination has more recipients queued after this request (Postfix's hint to the
  /// smtp agent to keep its connection open: smtp_connection_cache_on_demand).
  bool more_mail = false;
  /// At least a full window of the destination's mail waits behind this request: the
  /// destination, not the sender, is what holds it back, so the agent should say as soon as
  /// the request no longer needs its slot (release()).
  bool release_wanted = false;
};

enum class Outcome { Delivered, Deferred, Bounced };

/// The reason of a recipient whose agent gave no result for it (the agent failed or broke
/// the protocol): a software error for notify_classes (problem_class.h).
/// The reason of a recipient held back by defer_transports (Postfix's words).
inline constexpr std::string_view kDeferredTransport = "deferred transport";

inline constexpr std::string_view kAgentDidNotReport = "delivery agent did not report a status";

struct RecipientResult {
  std::uint32_t index = 0;
  Outcome outcome = Outcome::Deferred;
  Dsn dsn;  // an empty status becomes "2.0.0", "4.0.0" or "5.0.0"
};

/// An agent's answer to one DeliveryRequest.
struct DeliveryReport {
  std::uint64_t request_id = 0;
  /// One per recipient of the request. A recipient with no result is deferred with
  /// destination_failure's DSN if there is one, else "4.3.0 delivery agent did not report".
  std::vector<RecipientResult> recipients;
  /// Set when the destination itself failed (connection refused, TLS handshake failure), as
  /// opposed to per-recipient failures: negative concurrency feedback, possibly death.
  std::optional<Dsn> destination_failure;
};

// Events, drained by take_events() and performed by the edge in order. All the events of one
// message precede its MessageDeferred or MessageFinished, after which it is out of memory.

/// One recipient's outcome of an attempt (or of a deferral without attempt: a dead
/// destination). The edge logs it (Postfix's "to=<...>, relay=..., status=...") and, for
/// Delivered and Bounced, records the final status durably (restart contract 1).
struct RecipientStatus {
  std::string queue_id;
  std::uint32_t index = 0;
  std::string address;
  std::string transport;
  std::string next_hop;
  Outcome outcome = Outcome::Deferred;
  Dsn dsn;
  TimePoint arrival;      // for the log's delay=
  bool attempted = true;  // false: deferred because the destination is dead
  bool expired = false;   // Bounced because deferred after the lifetime; dsn is the deferral
};

/// Bounced recipients of a message whose pass is over: the edge queues a non-delivery notice
/// (to the sender; for a null-sender message, a double bounce to the postmaster, or it logs and
/// drops it), then marks these recipients notified.
struct BounceNeeded {
  std::string queue_id;
  bool null_sender = false;
  std::vector<BouncedRecipient> recipients;
};

/// The message is older than delay_warning_time and still has deferred recipients; at most one
/// per message (MessageIn::delay_warning_sent). Same null-sender caveat as BounceNeeded.
struct DelayWarning {
  std::string queue_id;
  bool null_sender = false;
  std::vector<DeferredRecipient> recipients;
};

/// Some recipients must be tried again: store next_attempt and delay_warning_sent with the
/// message and move it to deferred/. It has left memory.
struct MessageDeferred {
  std::string queue_id;
  TimePoint next_attempt;
  bool delay_warning_sent = false;
};

/// Every recipient is delivered or bounced (and any BounceNeeded before it performed): remove
/// the queue file. It has left memory.
struct MessageFinished {
  std::string queue_id;
};

using Event =
    std::variant<RecipientStatus, BounceNeeded, DelayWarning, MessageDeferred, MessageFinished>;

/// A scan of deferred/ that the edge should run now.
struct DeferredScan {
  /// Candidates are deferred messages with next_attempt <= cutoff (TimePoint::max() on a flush).
  TimePoint cutoff;
  bool flush = false;
};

/// A destination's state, for tests and diagnostics (a future qshape).
struct DestinationInfo {
  int window = 0;  // 0 when dead
  int in_flight = 0;  // requests holding a slot of the window (not those released)
  std::size_t queued_recipients = 0;
  bool dead = false;
  TimePoint dead_until;
};

class Scheduler {
 public:
  /// `clock` must outlive the scheduler.
  Scheduler(SchedulerSettings settings, const Clock& clock);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // --- Admission -------------------------------------------------------------------------

  /// How many more messages admit() takes now: qmgr_message_active_limit minus those in memory.
  std::size_t admission_capacity() const;

  /// Which queue the next admission should come from, given where candidates are waiting;
  /// nullopt when none is waiting or there is no capacity. When both wait, the turns alternate
  /// (as Postfix's qmgr alternates its incoming and deferred scans), so a deferred backlog never
  /// starves new mail nor the reverse.
  std::optional<QueueSource> next_source(bool new_waiting, bool deferred_waiting) const;

  /// Brings a message into memory. Error (and no change) if its queue id is already in memory,
  /// there is no capacity, or two recipients share an index. A message with nothing pending is
  /// finished at once (its events are queued). Recipients of a transport in defer_transports
  /// are deferred without an attempt (kDeferredTransport), unless the message is flushed.
  Status admit(MessageIn message);

  bool contains(std::string_view queue_id) const;
  std::size_t message_count() const;

  /// Drops a message from memory (hold or delete by the queue tools), with no events. Its queued
  /// recipients are forgotten; results of its requests in flight are ignored when they arrive
  /// (they still release their concurrency slots and give destination feedback). False if it
  /// was not in memory.
  bool remove(std::string_view queue_id);

  // --- Deferred queue scans --------------------------------------------------------------

  /// When the next scan of deferred/ is due: queue_run_delay after the last one started, now
  /// after a flush or before the first scan.
  TimePoint next_deferred_scan() const;
  /// When a destination's rate delay (default_destination_rate_delay) ends next, if one is
  /// waiting: take_requests() should be called then.
  std::optional<TimePoint> next_destination_release() const;

  /// Starts a scan if one is due and none is running; nullopt otherwise.
  std::optional<DeferredScan> begin_deferred_scan();

  /// The edge has offered every candidate of the running scan.
  void deferred_scan_done();

  /// postqueue -f / sendmail -q: the next scan is due now and takes every deferred message, and
  /// every dead destination gets another chance (Postfix's flush also does both).
  void flush();

  // --- Delivery --------------------------------------------------------------------------

  /// Every request that may start now under the per-destination windows and the per-transport
  /// process limits, taking destinations of each transport in turn (round-robin).
  std::vector<DeliveryRequest> take_requests();

  /// An agent's reply. Error (and no change) for an unknown request id. Results for recipients
  /// that are not in the request are ignored and reported in the Error message after the rest
  /// of the report has been applied.
  Status report(const DeliveryReport& report);

  /// The agent no longer needs the destination for this request, and its results follow
  /// (AgentReply::results_follow): the request's slot in the destination's window is
  /// released now, with the success feedback a complete report would give; report() later
  /// applies only the results (and releases the request's place in its transport's
  /// process_limit, since the agent still works on it). Error, changing nothing of the
  /// request, for an unknown or already released request id.
  Status release(std::uint64_t request_id);

  /// Requests handed out and not yet reported.
  std::size_t in_flight() const;

  std::vector<Event> take_events();

  /// `destination` is the next hop, or the recipient address for a transport whose recipient
  /// limit is 1. nullopt if the scheduler holds no state for it.
  std::optional<DestinationInfo> destination(std::string_view transport,
                                             std::string_view destination) const;

 private:
  struct Message;
  struct Destination;
  struct Transport;
  struct InFlight {
    Message* message = nullptr;  // null once the message was removed
    Destination* destination = nullptr;
    std::vector<std::size_t> slots;      // positions in the message's recipients
    std::vector<std::uint32_t> indexes;  // their queue file indexes, same order
    bool released = false;               // release()d: its slots are free already
  };

  enum class RecipientState { Queued, InFlight, Deferred, Done };

  Transport& transport_for(const std::string& name);
  Destination& destination_for(Transport& transport, const std::string& key);
  void enqueue_if_runnable(Destination& d);
  bool runnable(const Destination& d) const;
  void discard_if_idle(Destination& d);
  std::optional<DeliveryRequest> next_request(Transport& t);
  void kill(Destination& d, const Dsn& dsn);
  void forget_dead(Destination& d);
  void revive(Destination& d);
  void revive_due_destinations();
  void release_delayed_destinations();
  void defer_unattempted(Message& m, std::size_t slot, const Dsn& dead_dsn);
  void apply(Message& m, std::size_t slot, Outcome outcome, Dsn dsn, bool attempted);
  void finish_if_done(Message& m);
  // A delivery to `d` succeeded (its feedback, counted before its slot is freed): the window
  // grows, and a dead destination lives again.
  void succeeded(Destination& d);
  // A request's slot in `d`'s window is free (its transport's, counted against
  // process_limit, only at the report), and `d`'s rate delay starts.
  void free_slot(Destination& d);

  SchedulerSettings settings_;
  const Clock& clock_;
  std::map<std::string, std::unique_ptr<Message>, std::less<>> messages_;
  std::map<std::string, std::unique_ptr<Transport>, std::less<>> transports_;
  std::map<std::uint64_t, InFlight> in_flight_;
  std::multimap<TimePoint, Destination*> dead_;  // by dead-until time
  std::multimap<TimePoint, Destination*> delayed_;  // in their rate delay, by its end
  std::vector<Event> events_;
  std::uint64_t next_request_id_ = 1;
  QueueSource last_source_ = QueueSource::Deferred;  // so that the first turn is New
  std::optional<TimePoint> last_scan_start_;
  bool scan_running_ = false;
  bool flush_pending_ = false;
};

}  // namespace estafeta::qmgr
