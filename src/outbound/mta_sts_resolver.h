// The smtp agent's MTA-STS edge (RFC 8461): for a policy domain, the `_mta-sts.<domain>` TXT
// lookup on the agent's resolver, the decision of mta_sts_cache.h, and when it says so the
// HTTPS GET of https://mta-sts.<domain>/.well-known/mta-sts.txt (the name resolved by the
// same resolver, the certificate verified for that name against smtp_mta_sts_CAfile or the
// system store, within smtp_mta_sts_fetch_timeout, at most smtp_mta_sts_max_policy_bytes).
// Policies are cached in memory and as one file per domain in smtp_mta_sts_cache_directory
// (written by the unprivileged agent; a file that cannot be written or read only costs a
// fetch). A fetch that fails keeps a fresh cached policy. Errors are logged, never thrown.
//
// Lifetime: construct and call on the io_context's thread; `dns` is borrowed.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ssl/context.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "base/result.h"
#include "log/logger.h"
#include "outbound/dns_resolver.h"
#include "outbound/mta_sts_cache.h"
#include "outbound/tls_settings.h"

namespace estafeta::outbound {

struct MtaStsSettings {
  bool enable = false;                     // smtp_mta_sts_enable
  std::string cache_directory;             // smtp_mta_sts_cache_directory, absolute; "" = none
  std::string ca_file;                     // smtp_mta_sts_CAfile; "" = the system store
  uint16_t https_port = 443;               // smtp_mta_sts_https_port
  std::chrono::seconds fetch_timeout{10};  // smtp_mta_sts_fetch_timeout
  size_t max_policy_bytes = 64 * 1024;     // smtp_mta_sts_max_policy_bytes
};

class MtaStsResolver {
 public:
  /// `https_context`: a client context trusting smtp_mta_sts_CAfile or the system store
  /// (net::make_client_tls_context); null: every fetch fails. `tls` gives the mandatory
  /// protocols and ciphers of the HTTPS connection.
  MtaStsResolver(asio::io_context& io, MtaStsSettings settings, const ClientTlsSettings& tls,
                 DnsResolver& dns, std::shared_ptr<asio::ssl::context> https_context,
                 log::Logger log);

  bool enabled() const { return settings_.enable; }

  /// The policy in force for `domain` (lowercase A-labels), nullopt for none.
  asio::awaitable<std::optional<MtaStsPolicy>> policy_for(std::string domain);

  /// The policy text from https://mta-sts.<domain>/.well-known/mta-sts.txt.
  asio::awaitable<Result<std::string>> fetch(const std::string& domain);

 private:
  std::optional<CachedMtaStsPolicy> cached(const std::string& domain);
  void store(const CachedMtaStsPolicy& policy);

  asio::io_context& io_;
  MtaStsSettings settings_;
  ClientTlsSettings tls_;
  DnsResolver& dns_;
  std::shared_ptr<asio::ssl::context> https_context_;
  log::Logger log_;
  std::map<std::string, CachedMtaStsPolicy> memory_;
};

}  // namespace estafeta::outbound
