// Anvil: smtpd's per-client connection and rate limits, as Postfix's anvil(8) keeps them, as a
// pure core. AnvilCounters counts, per client address, the live connections and, over a fixed
// window of anvil_rate_time_unit that starts with the client's first event (one window for all
// of a client's events, as anvil's), the connections, MAIL and RCPT commands, new TLS sessions
// and AUTH commands. judge_*() compare a count with its limit and give Postfix's reply and
// warning. SharedCounterHealth is the up/down bookkeeping of a shared counter store (Redis):
// one warning when it fails, one notice when it answers again. Time comes from an injected
// Clock; no I/O. Not thread-safe: one instance per event loop.
//
// Memory is bounded: a client's entry goes once its window has passed and it has no live
// connection; at most `max_clients` entries with no live connection are kept (the oldest
// window is forgotten first), so a flood of new addresses cannot grow the table without end.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/clock.h"

namespace estafeta::policy {

enum class AnvilEvent { Connection, Message, Recipient, NewTls, Auth };
inline constexpr size_t kAnvilEventCount = 5;

/// "conn", "mail", "rcpt", "newtls", "auth": the event's name in shared-store keys.
std::string_view anvil_event_name(AnvilEvent event);

struct AnvilLimits {
  std::chrono::seconds time_unit{60};  // anvil_rate_time_unit
  long long connection_count = 50;     // smtpd_client_connection_count_limit (0 = none)
  long long connection_rate = 0;       // smtpd_client_connection_rate_limit
  long long message_rate = 0;          // smtpd_client_message_rate_limit
  long long recipient_rate = 0;        // smtpd_client_recipient_rate_limit
  long long new_tls_rate = 0;          // smtpd_client_new_tls_session_rate_limit
  long long auth_rate = 0;             // smtpd_client_auth_rate_limit
  size_t max_clients = 100000;         // tracked clients without a live connection

  /// The rate limit of `event` (0 = none).
  long long rate_limit(AnvilEvent event) const;
};

/// Who an event comes from, for the reply and the log line.
struct AnvilClient {
  std::string address;          // "192.0.2.1"
  std::string namaddr;          // "host.example[192.0.2.1]"
  std::string service;          // master.cf service name ("smtp")
  std::string server_hostname;  // myhostname, in 421 replies
  /// In smtpd_client_event_limit_exceptions: never counted, never refused (Postfix's
  /// hogger list).
  bool exempt = false;
};

struct AnvilVerdict {
  bool allowed = true;
  long long value = 0;  // the count or rate compared with the limit (this event included)
  std::string reply;    // refused: the SMTP reply, without CRLF
  std::string warning;  // refused: the log line, without "warning: "
  bool close = false;   // refused with 421: the session ends after the reply

  static AnvilVerdict allow(long long value) { return AnvilVerdict{true, value, {}, {}, false}; }
};

/// Concurrent sessions `count` (this one included) against smtpd_client_connection_count_limit.
AnvilVerdict judge_connection_count(long long count, const AnvilLimits& limits,
                                    const AnvilClient& client);
/// `rate` events of `event` in the window (this one included) against its rate limit. A refused
/// connection or TLS session is a 421 (then close), MAIL/RCPT/AUTH a 450.
AnvilVerdict judge_rate(AnvilEvent event, long long rate, const AnvilLimits& limits,
                        const AnvilClient& client);
/// STARTTLS asked when `rate` new TLS sessions were already made in the window: refused with
/// 454 (the session goes on in plaintext) once the rate exceeds the limit, as Postfix's check
/// before the handshake.
AnvilVerdict judge_starttls(long long rate, const AnvilLimits& limits, const AnvilClient& client);

class AnvilCounters {
 public:
  AnvilCounters(std::chrono::seconds time_unit, size_t max_clients, const Clock& clock);

  struct ConnectCounts {
    long long count = 0;  // live connections, this one included
    long long rate = 0;   // connections in the window, this one included
  };
  /// Records a connection (refused or not); disconnect() must follow it.
  ConnectCounts connect(std::string_view address);
  void disconnect(std::string_view address);
  /// Adds `n` events (0: only reads) to the client's window; returns the window's count of
  /// `event` after them.
  long long add(AnvilEvent event, std::string_view address, long long n = 1);

  size_t tracked_clients() const { return entries_.size(); }

 private:
  using TimePoint = Clock::TimePoint;
  struct Entry {
    std::array<long long, kAnvilEventCount> counts{};
    long long live = 0;
    TimePoint window_start{};
    bool windowed = false;                         // in order_: its window has started
    std::list<const std::string*>::iterator slot;  // in order_ when windowed
  };
  Entry& entry(std::string_view address);
  void start_window(const std::string& key, Entry& e);
  void unwindow(Entry& e);
  void expire();

  std::chrono::seconds time_unit_;
  size_t max_clients_;
  const Clock& clock_;
  std::unordered_map<std::string, Entry> entries_;
  // Keys of the windowed entries, oldest window first (pointers to entries_' keys, which
  // stay put while the entry lives).
  std::list<const std::string*> order_;
};

/// Up/down state of a shared counter store: callers ask may_try() before each call and report
/// its outcome; the first failure gives the warning to log, the first success after failures
/// the notice. While down, a call is tried again at most once per `retry_after`.
class SharedCounterHealth {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  SharedCounterHealth(std::string store_name, std::chrono::milliseconds retry_after)
      : name_(std::move(store_name)), retry_after_(retry_after) {}

  bool may_try(TimePoint now) const { return up_ || now - last_failure_ >= retry_after_; }
  bool up() const { return up_; }
  /// The warning to log when this failure takes the store down, else nullopt.
  std::optional<std::string> failed(TimePoint now, std::string_view why);
  /// The notice to log when this success brings the store back, else nullopt.
  std::optional<std::string> succeeded();

 private:
  std::string name_;
  std::chrono::milliseconds retry_after_;
  bool up_ = true;
  TimePoint last_failure_{};
};

}  // namespace estafeta::policy
