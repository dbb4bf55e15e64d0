// The MTA-STS cache record and the fetch decision. See mta_sts_cache.h.
#include "outbound/mta_sts_cache.h"

#include <fmt/format.h>

#include <charconv>

#include "base/ascii.h"

namespace estafeta::outbound {
namespace {

constexpr std::string_view kMagic = "estafeta-mta-sts 1";

bool parse_int(std::string_view s, int64_t& out) {
  if (s.empty() || s.size() > 19 || !ascii::is_digit(s.front())) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

std::string format_mta_sts_cache(const CachedMtaStsPolicy& c) {
  std::string out =
      fmt::format("{}\ndomain {}\nid {}\nfetched_at {}\nmode {}\nmax_age {}\n", kMagic, c.domain,
                  c.id, c.fetched_at, mta_sts_mode_name(c.policy.mode), c.policy.max_age);
  for (const std::string& mx : c.policy.mx) out += fmt::format("mx {}\n", mx);
  out += "end\n";
  return out;
}

Result<CachedMtaStsPolicy> parse_mta_sts_cache(std::string_view text) {
  if (!text.starts_with(kMagic) || text.substr(kMagic.size()).substr(0, 1) != "\n") {
    return make_error("not an MTA-STS cache file");
  }
  text.remove_prefix(kMagic.size() + 1);
  CachedMtaStsPolicy c;
  // Rebuilt as a policy file so that the same checks apply.
  std::string policy = "version: STSv1\n";
  bool domain = false, id = false, fetched = false, ended = false;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    if (nl == std::string_view::npos) return make_error("cache file cut short");
    const std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    if (line == "end") {
      ended = true;
      break;
    }
    const size_t sp = line.find(' ');
    if (sp == std::string_view::npos) return make_error("bad cache line");
    const std::string_view key = line.substr(0, sp);
    const std::string_view value = line.substr(sp + 1);
    if (key == "domain" && !domain) {
      auto name = mta_sts_cache_file_name(value);
      if (!name || *name != value) return make_error("bad domain");
      c.domain = std::string(value);
      domain = true;
    } else if (key == "id" && !id) {
      auto record = parse_mta_sts_record(fmt::format("v=STSv1; id={}", value));
      if (!record.ok()) return make_error("bad id");
      c.id = std::move(record->id);
      id = true;
    } else if (key == "fetched_at" && !fetched) {
      if (!parse_int(value, c.fetched_at)) return make_error("bad fetched_at");
      fetched = true;
    } else if (key == "mode" || key == "max_age" || key == "mx") {
      policy += fmt::format("{}: {}\n", key, value);
    } else {
      return make_error("bad cache line");
    }
  }
  if (!ended || !text.empty()) return make_error("cache file without its end");
  if (!domain || !id || !fetched) return make_error("cache file incomplete");
  auto parsed = parse_mta_sts_policy(policy);
  if (!parsed.ok()) return make_error("bad policy: " + parsed.error().message);
  c.policy = std::move(*parsed);
  return c;
}

std::optional<std::string> mta_sts_cache_file_name(std::string_view domain) {
  std::string name = ascii::lower(domain);
  if (name.ends_with('.')) name.pop_back();
  if (name.empty() || name.size() > 253 || name.front() == '.' || name.front() == '-' ||
      name.find("..") != std::string::npos) {
    return std::nullopt;
  }
  for (char c : name) {
    if (!ascii::is_alpha(c) && !ascii::is_digit(c) && c != '-' && c != '.') return std::nullopt;
  }
  return name;
}

bool mta_sts_cache_fresh(const CachedMtaStsPolicy& cached, int64_t now) {
  return now >= cached.fetched_at && now - cached.fetched_at < cached.policy.max_age;
}

MtaStsStep decide_mta_sts(const std::optional<CachedMtaStsPolicy>& cached,
                          const std::optional<MtaStsRecord>& record, int64_t now) {
  if (cached && mta_sts_cache_fresh(*cached, now)) {
    return record && record->id != cached->id ? MtaStsStep::Fetch : MtaStsStep::UseCached;
  }
  return record ? MtaStsStep::Fetch : MtaStsStep::NoPolicy;
}

}  // namespace estafeta::outbound
