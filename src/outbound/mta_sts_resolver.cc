// MTA-STS policy lookup, fetch and cache. See mta_sts_resolver.h.
#include "outbound/mta_sts_resolver.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/clock.h"
#include "net/transport.h"
#include "outbound/mta_sts_http.h"
#include "outbound/mta_sts_plan.h"

namespace estafeta::outbound {
namespace {

constexpr auto kNoThrow = asio::experimental::as_tuple(asio::use_awaitable);

int64_t now_seconds() { return system_now_us() / 1000000; }

Result<std::string> read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return make_error(std::strerror(errno));
  std::string text;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof buffer)) > 0 && text.size() < 1024 * 1024) {
    text.append(buffer, static_cast<size_t>(n));
  }
  const int saved = errno;
  ::close(fd);
  if (n < 0) return make_error(std::strerror(saved));
  return text;
}

Status write_file_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return make_error(fmt::format("{}: {}", tmp, std::strerror(errno)));
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) {
      const int saved = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return make_error(fmt::format("{}: {}", tmp, std::strerror(saved)));
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int saved = errno;
    ::unlink(tmp.c_str());
    return make_error(fmt::format("{}: {}", path, std::strerror(saved)));
  }
  return {};
}

}  // namespace

MtaStsResolver::MtaStsResolver(asio::io_context& io, MtaStsSettings settings,
                               const ClientTlsSettings& tls, DnsResolver& dns,
                               std::shared_ptr<asio::ssl::context> https_context, log::Logger log)
    : io_(io),
      settings_(std::move(settings)),
      tls_(tls),
      dns_(dns),
      https_context_(std::move(https_context)),
      log_(std::move(log)) {}

std::optional<CachedMtaStsPolicy> MtaStsResolver::cached(const std::string& domain) {
  if (auto it = memory_.find(domain); it != memory_.end()) return it->second;
  const auto name = mta_sts_cache_file_name(domain);
  if (settings_.cache_directory.empty() || !name) return std::nullopt;
  auto text = read_file(settings_.cache_directory + "/" + *name);
  if (!text.ok()) return std::nullopt;  // none yet
  auto parsed = parse_mta_sts_cache(*text);
  if (!parsed.ok() || parsed->domain != *name) {
    log_.warning("MTA-STS cache file {}/{} ignored: {}", settings_.cache_directory, *name,
                 parsed.ok() ? "another domain" : parsed.error().message);
    return std::nullopt;
  }
  memory_[domain] = *parsed;
  return parsed.value();
}

void MtaStsResolver::store(const CachedMtaStsPolicy& policy) {
  memory_[policy.domain] = policy;
  const auto name = mta_sts_cache_file_name(policy.domain);
  if (settings_.cache_directory.empty() || !name) return;
  Status s =
      write_file_atomically(settings_.cache_directory + "/" + *name, format_mta_sts_cache(policy));
  if (!s.ok()) log_.warning("cannot write the MTA-STS cache: {}", s.error().message);
}

asio::awaitable<std::optional<MtaStsPolicy>> MtaStsResolver::policy_for(std::string domain) {
  const auto name = mta_sts_cache_file_name(domain);
  if (!settings_.enable || !name) co_return std::nullopt;
  domain = *name;
  DnsAnswer<std::string> txt = co_await dns_.txt("_mta-sts." + domain);
  std::optional<MtaStsRecord> record;
  if (txt.status == DnsStatus::Ok) record = select_mta_sts_record(txt.records);
  std::optional<CachedMtaStsPolicy> have = cached(domain);
  const int64_t now = now_seconds();
  switch (decide_mta_sts(have, record, now)) {
    case MtaStsStep::NoPolicy:
      co_return std::nullopt;
    case MtaStsStep::UseCached:
      co_return have->policy;
    case MtaStsStep::Fetch:
      break;
  }
  Result<std::string> text = co_await fetch(domain);
  Result<MtaStsPolicy> policy =
      text.ok() ? parse_mta_sts_policy(*text) : Result<MtaStsPolicy>(text.error());
  if (!policy.ok()) {
    const bool keep = have && mta_sts_cache_fresh(*have, now);
    log_.warning("MTA-STS policy for {}: fetch failed: {}{}", domain, policy.error().message,
                 keep ? "; using the cached policy" : "");
    if (keep) co_return have->policy;
    co_return std::nullopt;
  }
  log_.info("MTA-STS policy for {} fetched: id {}, mode {}, max_age {}", domain, record->id,
            mta_sts_mode_name(policy->mode), policy->max_age);
  store(CachedMtaStsPolicy{domain, record->id, now, *policy});
  co_return *policy;
}

asio::awaitable<Result<std::string>> MtaStsResolver::fetch(const std::string& domain) {
  if (!https_context_) co_return make_error("TLS is not available");
  const std::string host = "mta-sts." + domain;
  // One deadline for the whole fetch: the lookup, the connection, TLS and the response.
  auto fired = std::make_shared<bool>(false);
  auto cancel = std::make_shared<std::function<void()>>();
  asio::steady_timer timer(io_, settings_.fetch_timeout);
  timer.async_wait([fired, cancel](const asio::error_code& ec) {
    if (ec) return;
    *fired = true;
    if (*cancel) (*cancel)();
  });
  struct Disarm {  // a handler already queued must not reach a transport that is gone
    asio::steady_timer& t;
    std::shared_ptr<std::function<void()>> cancel;
    ~Disarm() {
      *cancel = nullptr;
      t.cancel();
    }
  } disarm{timer, cancel};
  auto timed_out = [&]() { return make_error(fmt::format("timed out fetching from {}", host)); };

  DnsAnswer<asio::ip::address> addresses = co_await dns_.addresses(host, Families::Both);
  if (*fired) co_return timed_out();
  if (addresses.status != DnsStatus::Ok) {
    co_return make_error(fmt::format("cannot find {}: {}", host, addresses.reason));
  }
  std::string last_error;
  for (const asio::ip::address& address : addresses.records) {
    asio::ip::tcp::socket socket(io_);
    *cancel = [&socket] {
      asio::error_code ignored;
      socket.cancel(ignored);
    };
    const asio::ip::tcp::endpoint endpoint(address, settings_.https_port);
    auto [ec] = co_await socket.async_connect(endpoint, kNoThrow);
    if (*fired) co_return timed_out();
    if (ec) {
      last_error = fmt::format("connect to {}[{}]:{}: {}", host, address.to_string(),
                               settings_.https_port, ec.message());
      *cancel = nullptr;
      continue;
    }
    std::unique_ptr<net::Transport> transport = net::make_tcp_transport(std::move(socket));
    *cancel = [t = transport.get()] { t->cancel(); };
    const TlsConnectionPlan plan = plan_tls_connection(mta_sts_tls_policy(tls_), host, host);
    const bool tls_ok = co_await transport->start_tls_client(*https_context_, plan);
    if (*fired) co_return timed_out();
    if (!tls_ok) co_return make_error(fmt::format("TLS handshake with {} failed", host));
    const PeerTrust trust = transport->tls_peer_trust().value_or(PeerTrust::Anonymous);
    if (trust != PeerTrust::Verified) {
      co_return make_error(
          fmt::format("certificate of {} not verified ({})", host, peer_trust_name(trust)));
    }
    if (!co_await transport->write_all(mta_sts_request(host))) {
      co_return make_error(*fired ? timed_out().message
                                  : fmt::format("lost connection with {}", host));
    }
    // The parser caps the header section and the body; this caps chunk framing as well.
    const size_t cap = 2 * settings_.max_policy_bytes + 2 * kHttpMaxHeaderBytes;
    std::string received;
    std::vector<char> buffer(16 * 1024);
    while (true) {
      const size_t n = co_await transport->read_some(std::span<char>(buffer.data(), buffer.size()));
      if (*fired) co_return timed_out();
      received.append(buffer.data(), n);
      auto parsed = parse_http_response(received, n == 0, settings_.max_policy_bytes);
      if (parsed) {
        transport->close();
        if (!parsed->ok()) {
          co_return make_error(
              fmt::format("bad response from {}: {}", host, parsed->error().message));
        }
        co_return mta_sts_policy_text(**parsed);
      }
      if (n == 0 || received.size() > cap) {
        co_return make_error(fmt::format("bad response from {}: too long", host));
      }
    }
  }
  co_return make_error(last_error.empty() ? fmt::format("no address for {}", host) : last_error);
}

}  // namespace estafeta::outbound
