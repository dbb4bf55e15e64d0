// The smtp agent's cache of idle SMTP connections (Postfix's smtp_connection_cache_*): after
// a delivery that left its session clean, the connection is kept open for the next request
// to the same next hop or the same server, instead of QUIT. Pure: the connection itself is a
// type parameter (the edge's socket and session), time comes from an injected Clock, and
// closing is the caller's job (take(), expire() and take_all() hand the connections back).
//
// Keys: a connection is stored under two labels (connection_cache_labels): its destination
// (the next hop as routed, "example.org" or "[relay]:587") and its endpoint (the server's
// address and port), each followed by the properties of the session that a later request
// must share to use it: the TLS policy applied (level, match, protocols, ciphers, SNI) and,
// for the endpoint, the SASL user (the user is chosen by next hop and server, so a
// destination hit, which goes to the server the connection was made to, has the same one).
// So a connection made under a weaker TLS level is never found by a request whose policy is
// stricter, nor one authenticated as another user.
//
// Limits (Postfix's): an idle connection is closed after `idle_limit`
// (smtp_connection_cache_time_limit); a connection older than `reuse_time_limit` is not
// stored again (smtp_connection_reuse_time_limit); nor one used `reuse_count_limit` times
// (smtp_connection_reuse_count_limit, 0 = no limit). One event loop, no locks; not
// thread-safe.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "outbound/tls_plan.h"

namespace estafeta::outbound {

struct ConnectionCacheLimits {
  std::chrono::seconds idle_limit{2};          // smtp_connection_cache_time_limit
  std::chrono::seconds reuse_time_limit{300};  // smtp_connection_reuse_time_limit
  uint32_t reuse_count_limit = 0;              // smtp_connection_reuse_count_limit; 0: none
};

struct ConnectionLabels {
  std::string destination;  // "example.org|may|..." (next hop + session properties)
  std::string endpoint;     // "192.0.2.1:25|may|..."
};

/// The labels of a session with `address`:`port` made for `nexthop` under `tls` (and
/// authenticated as `sasl_user`, "" for none: part of the endpoint label only). `tls_in_clear`: the
/// session was made without STARTTLS where the policy allowed it (the clear retry after a failed
/// opportunistic handshake), labelled apart so that it never stands for a TLS session.
ConnectionLabels connection_cache_labels(std::string_view nexthop, std::string_view address,
                                         uint16_t port, const TlsPolicy& tls,
                                         std::string_view sasl_user, bool tls_in_clear = false);

/// What a connection carries across uses.
struct ConnectionUse {
  Clock::TimePoint created{};  // when it was connected
  uint32_t uses = 0;           // deliveries made over it so far (>= 1 once stored)
};

template <typename Connection>
class ConnectionCache {
 public:
  struct Taken {
    Connection connection;
    ConnectionUse use;
  };

  /// `clock` must outlive the cache.
  ConnectionCache(ConnectionCacheLimits limits, const Clock& clock)
      : limits_(limits), clock_(clock) {}

  /// Whether a connection with this history may be kept for another use now: younger than
  /// the reuse time limit and below the reuse count limit.
  bool may_reuse(const ConnectionUse& use) const {
    if (limits_.reuse_count_limit != 0 && use.uses >= limits_.reuse_count_limit) return false;
    return clock_.now() - use.created < limits_.reuse_time_limit;
  }

  /// Keeps an idle connection. Precondition: may_reuse(use). A connection already stored
  /// under the same endpoint label stays; both are kept (one server, several sessions).
  void store(ConnectionLabels labels, Connection connection, ConnectionUse use) {
    entries_.push_back(
        Entry{std::move(labels), std::move(connection), use, clock_.now() + limits_.idle_limit});
  }

  /// The most recently stored connection for this destination label, removed from the cache;
  /// nullopt when there is none that is still within its idle time.
  std::optional<Taken> take_by_destination(std::string_view label) {
    return take([&](const Entry& e) { return e.labels.destination == label; });
  }
  std::optional<Taken> take_by_endpoint(std::string_view label) {
    return take([&](const Entry& e) { return e.labels.endpoint == label; });
  }

  /// Removes and returns the connections whose idle time is over (the caller closes them).
  std::vector<Connection> expire() {
    std::vector<Connection> out;
    const Clock::TimePoint now = clock_.now();
    auto keep = entries_.begin();
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->expires <= now) {
        out.push_back(std::move(it->connection));
      } else {
        if (keep != it) *keep = std::move(*it);
        ++keep;
      }
    }
    entries_.erase(keep, entries_.end());
    return out;
  }

  /// When the next stored connection's idle time ends; nullopt when the cache is empty.
  std::optional<Clock::TimePoint> next_expiry() const {
    if (entries_.empty()) return std::nullopt;
    Clock::TimePoint t = entries_.front().expires;
    for (const Entry& e : entries_) t = std::min(t, e.expires);
    return t;
  }

  /// Removes and returns every connection (agent shutdown).
  std::vector<Connection> take_all() {
    std::vector<Connection> out;
    for (Entry& e : entries_) out.push_back(std::move(e.connection));
    entries_.clear();
    return out;
  }

  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    ConnectionLabels labels;
    Connection connection;
    ConnectionUse use;
    Clock::TimePoint expires;
  };

  template <typename Match>
  std::optional<Taken> take(Match match) {
    const Clock::TimePoint now = clock_.now();
    for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
      if (it->expires <= now || !match(*it)) continue;
      Taken out{std::move(it->connection), it->use};
      entries_.erase(std::next(it).base());
      return out;
    }
    return std::nullopt;
  }

  ConnectionCacheLimits limits_;
  const Clock& clock_;
  std::vector<Entry> entries_;  // in the order stored
};

}  // namespace estafeta::outbound
