// Anvil counters and verdicts (see anvil.h). Reply and log texts are Postfix smtpd's.
#include "policy/anvil.h"

#include <fmt/format.h>

namespace estafeta::policy {
namespace {

size_t index_of(AnvilEvent event) { return static_cast<size_t>(event); }

AnvilVerdict refuse(long long value, std::string reply, std::string warning) {
  bool close = reply.starts_with("421");
  return AnvilVerdict{false, value, std::move(reply), std::move(warning), close};
}

std::string exceeded(std::string_view what, long long value, const AnvilClient& client) {
  return fmt::format("{} exceeded: {} from {} for service {}", what, value, client.namaddr,
                     client.service);
}

}  // namespace

std::string_view anvil_event_name(AnvilEvent event) {
  switch (event) {
    case AnvilEvent::Connection:
      return "conn";
    case AnvilEvent::Message:
      return "mail";
    case AnvilEvent::Recipient:
      return "rcpt";
    case AnvilEvent::NewTls:
      return "newtls";
    case AnvilEvent::Auth:
      return "auth";
  }
  return "?";
}

long long AnvilLimits::rate_limit(AnvilEvent event) const {
  switch (event) {
    case AnvilEvent::Connection:
      return connection_rate;
    case AnvilEvent::Message:
      return message_rate;
    case AnvilEvent::Recipient:
      return recipient_rate;
    case AnvilEvent::NewTls:
      return new_tls_rate;
    case AnvilEvent::Auth:
      return auth_rate;
  }
  return 0;
}

AnvilVerdict judge_connection_count(long long count, const AnvilLimits& limits,
                                    const AnvilClient& client) {
  if (client.exempt || limits.connection_count <= 0 || count <= limits.connection_count) {
    return AnvilVerdict::allow(count);
  }
  return refuse(count,
                fmt::format("421 4.7.0 {} Error: too many connections from {}",
                            client.server_hostname, client.address),
                exceeded("Connection concurrency limit", count, client));
}

AnvilVerdict judge_rate(AnvilEvent event, long long rate, const AnvilLimits& limits,
                        const AnvilClient& client) {
  long long limit = limits.rate_limit(event);
  if (client.exempt || limit <= 0 || rate <= limit) return AnvilVerdict::allow(rate);
  switch (event) {
    case AnvilEvent::Connection:
      return refuse(rate,
                    fmt::format("421 4.7.0 {} Error: too many connections from {}",
                                client.server_hostname, client.address),
                    exceeded("Connection rate limit", rate, client));
    case AnvilEvent::Message:
      return refuse(rate, fmt::format("450 4.7.1 Error: too much mail from {}", client.address),
                    exceeded("Message delivery request rate limit", rate, client));
    case AnvilEvent::Recipient:
      return refuse(rate,
                    fmt::format("450 4.7.1 Error: too many recipients from {}", client.address),
                    exceeded("Recipient address rate limit", rate, client));
    case AnvilEvent::NewTls:
      return refuse(rate,
                    fmt::format("421 4.7.0 {} Error: too many new TLS sessions from {}",
                                client.server_hostname, client.namaddr),
                    exceeded("New TLS session rate limit", rate, client));
    case AnvilEvent::Auth:
      return refuse(rate,
                    fmt::format("450 4.7.1 Error: too many AUTH commands from {}", client.address),
                    exceeded("AUTH command rate limit", rate, client));
  }
  return AnvilVerdict::allow(rate);
}

AnvilVerdict judge_starttls(long long rate, const AnvilLimits& limits, const AnvilClient& client) {
  if (client.exempt || limits.new_tls_rate <= 0 || rate <= limits.new_tls_rate) {
    return AnvilVerdict::allow(rate);
  }
  return refuse(rate,
                fmt::format("454 4.7.0 Error: too many new TLS sessions from {}", client.namaddr),
                fmt::format("Refusing STARTTLS request from {} for service {}", client.namaddr,
                            client.service));
}

AnvilCounters::AnvilCounters(std::chrono::seconds time_unit, size_t max_clients, const Clock& clock)
    : time_unit_(time_unit), max_clients_(max_clients), clock_(clock) {}

AnvilCounters::ConnectCounts AnvilCounters::connect(std::string_view address) {
  Entry& e = entry(address);
  ++e.live;
  ConnectCounts counts;
  counts.count = e.live;
  counts.rate = add(AnvilEvent::Connection, address);
  return counts;
}

void AnvilCounters::disconnect(std::string_view address) {
  auto it = entries_.find(std::string(address));
  if (it == entries_.end() || it->second.live == 0) return;
  --it->second.live;
  if (it->second.live == 0 && !it->second.windowed) entries_.erase(it);
  expire();
}

long long AnvilCounters::add(AnvilEvent event, std::string_view address, long long n) {
  expire();
  Entry& e = entry(address);
  const TimePoint now = clock_.now();
  // A clock that went back counts as a new window too.
  if (e.windowed && (now - e.window_start >= time_unit_ || now < e.window_start)) unwindow(e);
  if (!e.windowed) {
    auto key = entries_.find(std::string(address));
    start_window(key->first, e);
  }
  e.counts[index_of(event)] += n;
  return e.counts[index_of(event)];
}

AnvilCounters::Entry& AnvilCounters::entry(std::string_view address) {
  auto [it, inserted] = entries_.try_emplace(std::string(address));
  return it->second;
}

void AnvilCounters::start_window(const std::string& key, Entry& e) {
  e.counts = {};
  e.window_start = clock_.now();
  e.windowed = true;
  e.slot = order_.insert(order_.end(), &key);
  // Over the cap: forget the oldest windows (their counts; live connections stay counted).
  while (order_.size() > max_clients_ && order_.front() != &key) {
    auto oldest = entries_.find(*order_.front());
    unwindow(oldest->second);
    if (oldest->second.live == 0) entries_.erase(oldest);
  }
}

void AnvilCounters::unwindow(Entry& e) {
  if (!e.windowed) return;
  order_.erase(e.slot);
  e.windowed = false;
  e.counts = {};
}

void AnvilCounters::expire() {
  const TimePoint now = clock_.now();
  while (!order_.empty()) {
    auto it = entries_.find(*order_.front());
    Entry& e = it->second;
    if (now - e.window_start < time_unit_ && now >= e.window_start) break;
    unwindow(e);
    if (e.live == 0) entries_.erase(it);
  }
}

std::optional<std::string> SharedCounterHealth::failed(TimePoint now, std::string_view why) {
  last_failure_ = now;
  if (!up_) return std::nullopt;
  up_ = false;
  return fmt::format(
      "anvil: shared counters at {} unavailable ({}); counting per instance until it answers",
      name_, why);
}

std::optional<std::string> SharedCounterHealth::succeeded() {
  if (up_) return std::nullopt;
  up_ = true;
  return fmt::format("anvil: shared counters at {} answer again; counting shared", name_);
}

}  // namespace estafeta::policy
