// The restrictions' DNS answer cache (see dns_answer_cache.h).
#include "policy/dns_answer_cache.h"

#include <algorithm>

#include "base/ascii.h"

namespace estafeta::policy {

DnsAnswerCache::DnsAnswerCache(size_t capacity) : capacity_(std::max<size_t>(capacity, 1)) {}

std::string DnsAnswerCache::key_of(DnsType type, std::string_view name) {
  std::string key(1, static_cast<char>('0' + static_cast<int>(type)));
  key += ascii::lower(name);
  return key;
}

std::optional<DnsAnswer> DnsAnswerCache::find(DnsType type, std::string_view name,
                                              Clock::time_point now) {
  auto entry = entries_.find(key_of(type, name));
  if (entry == entries_.end()) return std::nullopt;
  if (entry->second.expires <= now) {
    erase(entry);
    return std::nullopt;
  }
  return entry->second.answer;
}

void DnsAnswerCache::store(DnsType type, std::string_view name, const DnsAnswer& answer,
                           uint32_t ttl, Clock::time_point now) {
  if (answer.status == DnsAnswer::Status::TempFail || ttl == 0) return;
  std::string key = key_of(type, name);
  if (auto old = entries_.find(key); old != entries_.end()) erase(old);
  if (entries_.size() >= capacity_) make_room(now);
  Clock::time_point expires =
      now + std::min<std::chrono::seconds>(std::chrono::seconds(ttl), kMaxLifetime);
  oldest_.push_back(key);
  auto age = std::prev(oldest_.end());
  auto deadline = by_expiry_.emplace(expires, key);
  entries_.emplace(std::move(key), Entry{answer, expires, age, deadline});
}

void DnsAnswerCache::erase(std::unordered_map<std::string, Entry>::iterator entry) {
  oldest_.erase(entry->second.age);
  by_expiry_.erase(entry->second.deadline);
  entries_.erase(entry);
}

void DnsAnswerCache::make_room(Clock::time_point now) {
  const std::string& victim = (!by_expiry_.empty() && by_expiry_.begin()->first <= now)
                                  ? by_expiry_.begin()->second
                                  : oldest_.front();
  erase(entries_.find(victim));
}

}  // namespace estafeta::policy
