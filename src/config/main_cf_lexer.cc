// main.cf lexer; see main_cf_lexer.h for the rules (they follow Postfix readlline(3)).
#include "config/main_cf_lexer.h"

#include "base/ascii.h"

namespace estafeta::config {
namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

std::string_view trim_blank(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && is_blank(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

LexedText split_logical_lines(std::string_view text) {
  LexedText out;
  bool open = false;  // the last element of out.lines may still be continued
  int lineno = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view physical = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++lineno;
    std::string_view body = trim_blank(physical);
    if (body.empty() || body.front() == '#') {
      continue;  // ignored; does not terminate multi-line text
    }
    if (is_blank(physical.front())) {
      if (open) {
        out.lines.back().text += ' ';
        out.lines.back().text += body;
        continue;
      }
      out.warnings.push_back({lineno, "logical line must not start with white space"});
    }
    out.lines.push_back({lineno, std::string(body)});
    open = true;
  }
  return out;
}

}  // namespace estafeta::config
