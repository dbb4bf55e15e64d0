// MTA-STS policy caching (RFC 8461 5.1), the pure parts: the record kept per policy domain
// (in memory and as one file per domain in smtp_mta_sts_cache_directory, so that it survives
// restarts), and the decision made before each delivery from the cached policy and the
// `_mta-sts` TXT lookup: use the cached policy, fetch a new one, or no policy. The files are
// read and written by mta_sts_resolver.h. Fuzzed by outbound_mta_sts_fuzz.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "outbound/mta_sts_policy.h"

namespace estafeta::outbound {

struct CachedMtaStsPolicy {
  std::string domain;      // the policy domain, lowercase
  std::string id;          // the TXT record's id when the policy was fetched
  int64_t fetched_at = 0;  // Unix seconds
  MtaStsPolicy policy;
  bool operator==(const CachedMtaStsPolicy&) const = default;
};

/// The cache file: "estafeta-mta-sts 1", then "domain", "id", "fetched_at", "mode",
/// "max_age" lines and one "mx" line per pattern, ended by "end" (a file cut short does not
/// parse). One "key value" per line, LF-terminated.
std::string format_mta_sts_cache(const CachedMtaStsPolicy& cached);
Result<CachedMtaStsPolicy> parse_mta_sts_cache(std::string_view text);

/// The cache file's name for a policy domain (the domain lowercased, trailing dot dropped);
/// nullopt for a name that is not letters, digits, '-' and '.' labels (never a path).
std::optional<std::string> mta_sts_cache_file_name(std::string_view domain);

/// A cached policy is used until fetched_at + max_age.
bool mta_sts_cache_fresh(const CachedMtaStsPolicy& cached, int64_t now);

enum class MtaStsStep {
  UseCached,  // the cached policy is fresh and its id is current (or the TXT lookup failed)
  Fetch,      // fetch the policy; when that fails, use the cached one if it is fresh
  NoPolicy,   // no fresh cached policy and no TXT record
};

/// `record`: the `_mta-sts` TXT record's id, nullopt when there is none or the lookup failed.
/// A fresh cached policy is kept unless the record names another id (then Fetch); without a
/// fresh cached policy, a record means Fetch and its absence NoPolicy.
MtaStsStep decide_mta_sts(const std::optional<CachedMtaStsPolicy>& cached,
                          const std::optional<MtaStsRecord>& record, int64_t now);

}  // namespace estafeta::outbound
