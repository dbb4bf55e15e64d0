// libFuzzer target: MTA-STS TXT records, policy files, HTTP responses and cache files. The
// first byte picks what the rest is. Invariants: an accepted policy survives a round trip
// through the cache format; an accepted cache file formats to one that parses to the same; an HTTP response
// never has a body longer than the limit, and a prefix that completes agrees with the whole
// on the outcome when both succeed.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "outbound/mta_sts_cache.h"
#include "outbound/mta_sts_http.h"
#include "outbound/mta_sts_policy.h"

using namespace estafeta::outbound;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 4) {
    case 0: {
      auto record = parse_mta_sts_record(text);
      if (record.ok() && (record->id.empty() || record->id.size() > 32)) std::abort();
      (void)select_mta_sts_record({std::string(text), "v=STSv1; id=x"});
      break;
    }
    case 1: {
      auto policy = parse_mta_sts_policy(text);
      if (!policy.ok()) break;
      if (policy->max_age < 0 || policy->max_age > kMtaStsMaxAge) std::abort();
      CachedMtaStsPolicy c{"example.com", "id1", 1, *policy};
      auto back = parse_mta_sts_cache(format_mta_sts_cache(c));
      if (!back.ok() || !(*back == c)) std::abort();
      for (const std::string& mx : policy->mx) {
        if (!mx.starts_with("*.") && !mta_sts_mx_matches(policy->mx, mx)) std::abort();
      }
      break;
    }
    case 2: {
      constexpr size_t kMax = 256;
      const bool eof = size > 1 && (data[1] & 1);
      auto whole = parse_http_response(text, eof, kMax);
      if (whole && whole->ok() && (*whole)->body.size() > kMax) std::abort();
      auto prefix = parse_http_response(text.substr(0, text.size() / 2), false, kMax);
      if (prefix && prefix->ok() && whole && whole->ok() && (*prefix)->body != (*whole)->body) {
        std::abort();
      }
      if (whole && whole->ok()) (void)mta_sts_policy_text(**whole);
      break;
    }
    case 3: {
      auto cached = parse_mta_sts_cache(text);
      if (cached.ok()) {
        auto again = parse_mta_sts_cache(format_mta_sts_cache(*cached));
        if (!again.ok() || !(*again == *cached)) std::abort();
      }
      (void)mta_sts_cache_file_name(text);
      break;
    }
  }
  return 0;
}
