// MTA-STS TXT records, policy files and MX patterns. See mta_sts_policy.h.
#include "outbound/mta_sts_policy.h"

#include <fmt/format.h>

#include <charconv>

#include "base/ascii.h"

namespace estafeta::outbound {
namespace {

bool is_alnum(char c) { return ascii::is_alpha(c) || ascii::is_digit(c); }

// A policy mx pattern: a host name, or "*." then a host name; letters, digits, '-', '.'.
bool valid_mx_pattern(std::string_view p) {
  if (p.starts_with("*.")) p.remove_prefix(2);
  if (p.empty() || p.front() == '.' || p.back() == '.' || p.find("..") != std::string_view::npos) {
    return false;
  }
  for (char c : p) {
    if (!is_alnum(c) && c != '-' && c != '.' && c != '_') return false;
  }
  return true;
}

}  // namespace

Result<MtaStsRecord> parse_mta_sts_record(std::string_view txt) {
  MtaStsRecord record;
  bool first = true;
  bool have_id = false;
  std::vector<std::string> seen;
  while (!txt.empty()) {
    const size_t semi = txt.find(';');
    std::string_view field = ascii::trim(txt.substr(0, semi));
    txt = semi == std::string_view::npos ? std::string_view() : txt.substr(semi + 1);
    if (field.empty()) {
      if (first) return make_error("empty record");
      continue;  // a trailing ';' (and white space) is allowed
    }
    const size_t eq = field.find('=');
    if (eq == std::string_view::npos)
      return make_error(fmt::format("field without '=': {}", field));
    const std::string key(ascii::trim(field.substr(0, eq)));
    const std::string_view value = ascii::trim(field.substr(eq + 1));
    if (first) {
      if (key != "v" || value != "STSv1") return make_error("not an STSv1 record");
      first = false;
      continue;
    }
    for (const std::string& s : seen) {
      if (s == key) return make_error(fmt::format("repeated field: {}", key));
    }
    seen.push_back(key);
    if (key == "id") {
      if (value.empty() || value.size() > 32) return make_error("id: 1 to 32 characters");
      for (char c : value) {
        if (!is_alnum(c)) return make_error(fmt::format("id: not letters and digits: {}", value));
      }
      record.id = std::string(value);
      have_id = true;
    }
  }
  if (first) return make_error("empty record");
  if (!have_id) return make_error("no id");
  return record;
}

std::optional<MtaStsRecord> select_mta_sts_record(const std::vector<std::string>& txts) {
  std::optional<MtaStsRecord> found;
  int candidates = 0;
  for (const std::string& txt : txts) {
    std::string_view t = ascii::trim(txt);
    if (!t.starts_with("v=STSv1")) continue;
    const std::string_view rest = t.substr(7);
    if (!rest.empty() && rest.front() != ';' && !ascii::is_space(rest.front())) continue;
    ++candidates;
    auto record = parse_mta_sts_record(t);
    if (!record.ok()) return std::nullopt;
    found = std::move(*record);
  }
  if (candidates != 1) return std::nullopt;
  return found;
}

std::string_view mta_sts_mode_name(MtaStsMode mode) {
  switch (mode) {
    case MtaStsMode::Enforce:
      return "enforce";
    case MtaStsMode::Testing:
      return "testing";
    case MtaStsMode::None:
      return "none";
  }
  return "none";
}

Result<MtaStsPolicy> parse_mta_sts_policy(std::string_view text) {
  MtaStsPolicy policy;
  bool version = false;
  bool mode = false;
  bool max_age = false;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (ascii::trim(line).empty()) continue;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return make_error(fmt::format("line without ':': {}", line.substr(0, 80)));
    }
    const std::string_view key = ascii::trim(line.substr(0, colon));
    const std::string_view value = ascii::trim(line.substr(colon + 1));
    if (key == "version") {
      if (version) return make_error("version: repeated");
      if (value != "STSv1") return make_error(fmt::format("version: not STSv1: {}", value));
      version = true;
    } else if (key == "mode") {
      if (mode) return make_error("mode: repeated");
      if (value == "enforce") {
        policy.mode = MtaStsMode::Enforce;
      } else if (value == "testing") {
        policy.mode = MtaStsMode::Testing;
      } else if (value == "none") {
        policy.mode = MtaStsMode::None;
      } else {
        return make_error(fmt::format("mode: unknown: {}", value));
      }
      mode = true;
    } else if (key == "max_age") {
      if (max_age) return make_error("max_age: repeated");
      int64_t n = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (value.empty() || value.size() > 10 || ec != std::errc() ||
          end != value.data() + value.size() || value.front() == '-' || value.front() == '+') {
        return make_error(fmt::format("max_age: not a number: {}", value));
      }
      if (n > kMtaStsMaxAge) return make_error(fmt::format("max_age: above {}", kMtaStsMaxAge));
      policy.max_age = n;
      max_age = true;
    } else if (key == "mx") {
      std::string pattern = ascii::lower(value);
      if (pattern.ends_with('.')) pattern.pop_back();
      if (!valid_mx_pattern(pattern)) return make_error(fmt::format("mx: bad pattern: {}", value));
      policy.mx.push_back(std::move(pattern));
    }
  }
  if (!version) return make_error("no version");
  if (!mode) return make_error("no mode");
  if (!max_age) return make_error("no max_age");
  if (policy.mx.empty() && policy.mode != MtaStsMode::None) return make_error("no mx");
  return policy;
}

bool mta_sts_mx_matches(const std::vector<std::string>& patterns, std::string_view host) {
  std::string h = ascii::lower(host);
  if (h.ends_with('.')) h.pop_back();
  for (const std::string& p : patterns) {
    if (p.starts_with("*.")) {
      const size_t dot = h.find('.');
      if (dot != std::string::npos && dot > 0 &&
          std::string_view(h).substr(dot + 1) == p.substr(2)) {
        return true;
      }
    } else if (h == p) {
      return true;
    }
  }
  return false;
}

}  // namespace estafeta::outbound
