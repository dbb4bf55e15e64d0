// Parsing of header_checks/body_checks actions; see check_action.h.
#include "checks/check_action.h"

#include <fmt/format.h>

#include <array>
#include <utility>

#include "base/ascii.h"

namespace estafeta::checks {
namespace {

struct Keyword {
  std::string_view name;
  ActionKind kind;
  std::string_view log_name;  // what Postfix's cleanup logs for it ("reject: header ...")
};

constexpr std::array kKeywords = {
    Keyword{"DUNNO", ActionKind::Dunno, "dunno"},
    Keyword{"OK", ActionKind::Dunno, "dunno"},
    Keyword{"REJECT", ActionKind::Reject, "reject"},
    Keyword{"DISCARD", ActionKind::Discard, "discard"},
    Keyword{"PASS", ActionKind::Pass, "pass"},
    Keyword{"WARN", ActionKind::Warn, "warning"},
    Keyword{"INFO", ActionKind::Info, "info"},
    Keyword{"HOLD", ActionKind::Hold, "hold"},
    Keyword{"IGNORE", ActionKind::Ignore, "ignore"},
    Keyword{"STRIP", ActionKind::Strip, "strip"},
    Keyword{"PREPEND", ActionKind::Prepend, "prepend"},
    Keyword{"REPLACE", ActionKind::Replace, "replace"},
    Keyword{"REDIRECT", ActionKind::Redirect, "redirect"},
    Keyword{"FILTER", ActionKind::Filter, "filter"},
    Keyword{"BCC", ActionKind::Bcc, "bcc"},
};

constexpr std::string_view kDefaultReject = "5.7.1 message content rejected";

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// 1 to 3 digits at `pos`; returns the position after them, or npos.
size_t digits(std::string_view s, size_t pos) {
  size_t start = pos;
  while (pos < s.size() && pos - start < 4 && ascii::is_digit(s[pos])) ++pos;
  size_t n = pos - start;
  return (n >= 1 && n <= 3) ? pos : std::string_view::npos;
}

ParsedAction dunno_with(std::string warning) {
  return ParsedAction{CheckAction{}, std::move(warning)};
}

ParsedAction reject(std::string_view text) {
  ParsedAction out{CheckAction{ActionKind::Reject, std::string(kDefaultReject)}, std::nullopt};
  if (text.empty()) return out;
  // header_checks(5): without a code at the start of the text, 5.7.1 goes in front. An SMTP
  // reply code in the text is not special: "REJECT 554 x" replies "550 5.7.1 554 x".
  out.action.text =
      starts_with_enhanced_code(text) ? std::string(text) : fmt::format("5.7.1 {}", text);
  if (out.action.text[0] != '4' && out.action.text[0] != '5') {
    out.warning = fmt::format("bad DSN action in {} -- need 4.x.x or 5.x.x", text);
    out.action.text[0] = '4';
  }
  return out;
}

}  // namespace

bool starts_with_enhanced_code(std::string_view text) {
  if (text.size() < 5 || (text[0] != '2' && text[0] != '4' && text[0] != '5') || text[1] != '.') {
    return false;
  }
  size_t p = digits(text, 2);
  if (p == std::string_view::npos || p >= text.size() || text[p] != '.') return false;
  p = digits(text, p + 1);
  return p != std::string_view::npos && (p == text.size() || is_blank(text[p]));
}

ParsedAction parse_check_action(std::string_view value, std::string_view map_class) {
  size_t end = 0;
  while (end < value.size() && !is_blank(value[end])) ++end;
  std::string_view word = value.substr(0, end);
  std::string_view text = value.substr(end);
  while (!text.empty() && is_blank(text.front())) text.remove_prefix(1);

  const Keyword* keyword = nullptr;
  for (const Keyword& k : kKeywords) {
    if (ascii::iequals(word, k.name)) keyword = &k;
  }
  if (keyword == nullptr) {
    return dunno_with(fmt::format("unknown command in {} map: {}", map_class, value));
  }
  switch (keyword->kind) {
    case ActionKind::Reject:
      return reject(text);
    case ActionKind::Dunno:
    case ActionKind::Ignore:
      return ParsedAction{CheckAction{keyword->kind, ""}, std::nullopt};
    case ActionKind::Prepend:
    case ActionKind::Replace:
      if (text.empty()) {
        return dunno_with(
            fmt::format("{} action without text in {} map", keyword->name, map_class));
      }
      break;
    case ActionKind::Redirect:
    case ActionKind::Bcc:
      if (text.find('@') == std::string_view::npos) {
        return dunno_with(fmt::format("bad {} address \"{}\" in {} map -- need user@domain",
                                      keyword->name, text, map_class));
      }
      break;
    case ActionKind::Filter:
      if (text.find(':') == std::string_view::npos) {
        return dunno_with(fmt::format(
            "bad FILTER action \"{}\" in {} map -- need transport:destination", text, map_class));
      }
      break;
    default:
      break;
  }
  return ParsedAction{CheckAction{keyword->kind, std::string(text)}, std::nullopt};
}

std::string_view action_log_name(ActionKind kind) {
  for (const Keyword& k : kKeywords) {
    if (k.kind == kind) return k.log_name;
  }
  return "dunno";
}

}  // namespace estafeta::checks
