// access(5) table values -> actions; see access_action.h.
#include "policy/access_action.h"

#include <fmt/format.h>

#include "base/ascii.h"
#include "policy/restriction_list.h"

namespace estafeta::policy {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }

// 1 to 3 digits at `pos`: the position after them, or npos.
size_t digits(std::string_view s, size_t pos) {
  size_t start = pos;
  while (pos < s.size() && pos - start < 4 && ascii::is_digit(s[pos])) ++pos;
  size_t n = pos - start;
  return (n >= 1 && n <= 3) ? pos : std::string_view::npos;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!ascii::is_digit(c)) return false;
  }
  return true;
}

// The text after a keyword with an optional status code split off.
void split_status(std::string_view text, AccessAction& out) {
  size_t length = 0;
  if (starts_with_status_code(text, &length)) {
    out.dsn = std::string(text.substr(0, length));
    text.remove_prefix(length);
    while (!text.empty() && is_blank(text.front())) text.remove_prefix(1);
  }
  out.text = std::string(text);
}

}  // namespace

bool starts_with_status_code(std::string_view text, size_t* length) {
  if (text.size() < 5 || (text[0] != '2' && text[0] != '4' && text[0] != '5') || text[1] != '.') {
    return false;
  }
  size_t pos = digits(text, 2);
  if (pos == std::string_view::npos || pos >= text.size() || text[pos] != '.') return false;
  pos = digits(text, pos + 1);
  if (pos == std::string_view::npos) return false;
  if (pos < text.size() && !is_blank(text[pos])) return false;
  if (length != nullptr) *length = pos;
  return true;
}

std::string fix_status_code(std::string_view dsn, std::string_view reply_class) {
  if (dsn.size() < 5 || !ascii::is_digit(dsn[0]) || dsn.substr(1, 3) != ".1.") {
    return std::string(dsn);
  }
  std::string_view detail = dsn.substr(4);
  char klass = dsn[0];
  // detail -> (sender, recipient) detail; anything else -> ("0", "0").
  struct Pair {
    std::string_view detail, sender, recipient;
  };
  static constexpr Pair kMap[] = {{"1", "0", "1"}, {"2", "8", "2"}, {"3", "7", "3"},
                                  {"4", "0", "4"}, {"5", "0", "5"}, {"6", "0", "6"},
                                  {"7", "7", "3"}, {"8", "8", "2"}};
  std::string_view sender = "0";
  std::string_view recipient = "0";
  for (const Pair& p : kMap) {
    if (p.detail == detail) {
      sender = p.sender;
      recipient = p.recipient;
      break;
    }
  }
  if (reply_class == "Sender address") return fmt::format("{}.1.{}", klass, sender);
  if (reply_class == "Recipient address") return fmt::format("{}.1.{}", klass, recipient);
  return fmt::format("{}.0.0", klass);
}

bool is_header_line(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c <= ' ' || c >= 0x7f || c == ':') break;
    ++i;
  }
  if (i == 0) return false;
  while (i < text.size() && is_blank(text[i])) ++i;
  return i < text.size() && text[i] == ':';
}

AccessAction parse_access_action(std::string_view value) {
  AccessAction out;
  size_t keyword_end = 0;
  while (keyword_end < value.size() && !is_blank(value[keyword_end])) ++keyword_end;
  std::string_view keyword = value.substr(0, keyword_end);
  std::string_view text = value.substr(keyword_end);
  while (!text.empty() && ascii::is_space(text.front())) text.remove_prefix(1);
  auto is = [keyword](std::string_view name) { return ascii::iequals(keyword, name); };
  auto unusable = [&out, value](std::string_view why) {
    out.kind = AccessActionKind::Dunno;
    out.warning = fmt::format("\"{}\": {}", value, why);
    return out;
  };

  if (is("DUNNO")) {
    out.kind = AccessActionKind::Dunno;
  } else if (is("REJECT")) {
    out.kind = AccessActionKind::Reject;
    split_status(text, out);
  } else if (is("DEFER")) {
    out.kind = AccessActionKind::Defer;
    split_status(text, out);
  } else if (is("INFO")) {
    out.kind = AccessActionKind::Info;
    out.text = std::string(text);
  } else if (is("WARN")) {
    out.kind = AccessActionKind::Warn;
    out.text = std::string(text);
  } else if (is("FILTER")) {
    if (text.empty()) return unusable("FILTER entry without value");
    if (text.find(':') == std::string_view::npos) {
      return unusable("FILTER requires transport:destination");
    }
    out.kind = AccessActionKind::Filter;
    out.text = std::string(text);
  } else if (is("HOLD")) {
    out.kind = AccessActionKind::Hold;
    out.text = std::string(text);
  } else if (is("DISCARD")) {
    out.kind = AccessActionKind::Discard;
    out.text = std::string(text);
  } else if (is("REDIRECT") || is("BCC")) {
    if (text.find('@') == std::string_view::npos) {
      return unusable(fmt::format("{} requires user@domain target", ascii::upper(keyword)));
    }
    out.kind = is("BCC") ? AccessActionKind::Bcc : AccessActionKind::Redirect;
    out.text = std::string(text);
  } else if (is("DEFER_IF_PERMIT")) {
    out.kind = AccessActionKind::DeferIfPermit;
    split_status(text, out);
  } else if (is("DEFER_IF_REJECT")) {
    out.kind = AccessActionKind::DeferIfReject;
    split_status(text, out);
  } else if (is("PREPEND")) {
    if (!is_header_line(text)) return unusable("PREPEND requires header: text");
    out.kind = AccessActionKind::Prepend;
    out.text = std::string(text);
  } else if (all_digits(value)) {
    out.kind = AccessActionKind::Ok;
  } else if (keyword.size() == 3 && !text.empty() && (keyword[0] == '4' || keyword[0] == '5') &&
             ascii::is_digit(keyword[1]) && ascii::is_digit(keyword[2])) {
    out.kind = AccessActionKind::Reply;
    out.code = (keyword[0] - '0') * 100 + (keyword[1] - '0') * 10 + (keyword[2] - '0');
    split_status(text, out);
  } else if (is("OK") || is("RELAY")) {
    out.kind = AccessActionKind::Ok;
  } else if (value.find(':') != std::string_view::npos) {
    out.kind = AccessActionKind::ServerError;
    out.warning = fmt::format(
        "entry with lookup table: \"{}\": do not specify lookup tables inside access maps; "
        "define a restriction class and specify its name instead",
        value);
  } else {
    out.kind = AccessActionKind::Restrictions;
    out.restrictions = restriction_words(value);
  }
  return out;
}

}  // namespace estafeta::policy
