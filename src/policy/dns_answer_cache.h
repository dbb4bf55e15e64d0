// DnsAnswerCache: the answers smtpd's restrictions got from the DNS (reject_rbl_client,
// reject_unknown_*_domain, check_*_mx_access ...), kept for as long as their TTL allows
// (at most an hour), as Postfix's smtpd keeps DNS-list answers per process. Pure and
// bounded: the caller passes the time; at most `capacity` entries, an expired one evicted
// first, else the oldest. A temporary failure or an answer whose TTL is 0 is never kept.
// Not thread-safe: one per event loop (daemon/smtpd_worker.cc).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "policy/restriction_evaluator.h"

namespace estafeta::policy {

class DnsAnswerCache {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kDefaultCapacity = 10000;
  /// No answer is kept longer, whatever its TTL.
  static constexpr std::chrono::seconds kMaxLifetime{3600};

  explicit DnsAnswerCache(size_t capacity = kDefaultCapacity);

  /// The answer kept for (`type`, `name`, case-insensitive) if it has not expired at `now`
  /// (an expired one is dropped).
  std::optional<DnsAnswer> find(DnsType type, std::string_view name, Clock::time_point now);
  /// Keeps `answer` until now + min(`ttl` seconds, kMaxLifetime), replacing what was kept for
  /// the same query; not if it is TempFail or `ttl` is 0.
  void store(DnsType type, std::string_view name, const DnsAnswer& answer, uint32_t ttl,
             Clock::time_point now);
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    DnsAnswer answer;
    Clock::time_point expires;
    std::list<std::string>::iterator age;                              // in oldest_
    std::multimap<Clock::time_point, std::string>::iterator deadline;  // in by_expiry_
  };
  static std::string key_of(DnsType type, std::string_view name);
  void erase(std::unordered_map<std::string, Entry>::iterator entry);
  /// Room for one more entry: the soonest expired if any, else the oldest.
  void make_room(Clock::time_point now);

  size_t capacity_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> oldest_;  // keys, oldest stored first
  std::multimap<Clock::time_point, std::string> by_expiry_;
};

}  // namespace estafeta::policy
