// MTA-STS (RFC 8461), the pure parts: the `_mta-sts.<domain>` TXT record ("v=STSv1;
// id=20160831085700Z;"), the policy file served at
// https://mta-sts.<domain>/.well-known/mta-sts.txt (version, mode, mx patterns, max_age) and
// whether an MX host name matches the policy's patterns. Fuzzed by outbound_mta_sts_fuzz.
// How the smtp agent applies a policy: mta_sts_cache.h (when to fetch), smtp_delivery.cc,
// docs/smtp-tls.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace estafeta::outbound {

/// RFC 8461 3.2: max_age may be at most 31557600 seconds (about a year).
inline constexpr int64_t kMtaStsMaxAge = 31557600;

/// One `_mta-sts` TXT record: its policy id (1 to 32 letters and digits).
struct MtaStsRecord {
  std::string id;
  bool operator==(const MtaStsRecord&) const = default;
};

/// Parses one TXT record (its character-strings already joined): "v=STSv1" first, then
/// `;`-separated key=value fields with optional white space around the separators; `id`
/// required; unknown fields ignored (RFC 8461 3.1). Errors: not STSv1, no or a bad id, a
/// field without '=', a repeated field.
Result<MtaStsRecord> parse_mta_sts_record(std::string_view txt);

/// The TXT records of `_mta-sts.<domain>` -> the policy id. Records that do not start with
/// "v=STSv1" are ignored; nullopt when none is left, when one of them does not parse, or when
/// there are several (RFC 8461 3.1: then there is no policy).
std::optional<MtaStsRecord> select_mta_sts_record(const std::vector<std::string>& txts);

enum class MtaStsMode { Enforce, Testing, None };
std::string_view mta_sts_mode_name(MtaStsMode mode);  // "enforce", "testing", "none"

struct MtaStsPolicy {
  MtaStsMode mode = MtaStsMode::None;
  std::vector<std::string> mx;  // lowercase patterns, "mx.example.com" or "*.example.com"
  int64_t max_age = 0;          // seconds, 0..kMtaStsMaxAge
  bool operator==(const MtaStsPolicy&) const = default;
};

/// Parses a policy file: "key: value" lines ended by CRLF or LF (the last may lack it),
/// white space around the value ignored. `version: STSv1`, `mode` and `max_age` required,
/// each once; `mx` at least once unless mode is none; unknown keys ignored. Errors name the
/// problem ("max_age: not a number: x").
Result<MtaStsPolicy> parse_mta_sts_policy(std::string_view text);

/// Whether MX host `host` (trailing dot and case ignored) matches one of `patterns`: equal,
/// or "*.example.com" and host is exactly one label more ("mx.example.com", not
/// "a.mx.example.com" nor "example.com").
bool mta_sts_mx_matches(const std::vector<std::string>& patterns, std::string_view host);

}  // namespace estafeta::outbound
