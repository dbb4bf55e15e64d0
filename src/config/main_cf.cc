// main.cf "name = value" parsing on top of the logical-line lexer; see main_cf.h.
#include "config/main_cf.h"

#include <fmt/format.h>

#include "base/ascii.h"
#include "config/main_cf_lexer.h"

namespace estafeta::config {

bool is_parameter_name(std::string_view name) {
  if (name.empty()) {
    return false;
  }
  for (char c : name) {
    if (!ascii::is_alpha(c) && !ascii::is_digit(c) && c != '_') {
      return false;
    }
  }
  return true;
}

MainCfText parse_main_cf(std::string_view text, const std::string& filename) {
  MainCfText out;
  LexedText lexed = split_logical_lines(text);
  for (const LexWarning& w : lexed.warnings) {
    out.diagnostics.push_back({filename, w.line, false, w.message});
  }
  for (const LogicalLine& l : lexed.lines) {
    size_t eq = l.text.find('=');
    if (eq == std::string::npos) {
      out.diagnostics.push_back({filename, l.line, true,
                                 fmt::format("missing '=' after parameter name: \"{}\"", l.text)});
      continue;
    }
    std::string_view name = ascii::trim(std::string_view(l.text).substr(0, eq));
    std::string_view value = ascii::trim(std::string_view(l.text).substr(eq + 1));
    if (!is_parameter_name(name)) {
      out.diagnostics.push_back(
          {filename, l.line, true, fmt::format("bad parameter name: \"{}\"", name)});
      continue;
    }
    out.assignments.push_back({std::string(name), std::string(value), l.line});
  }
  return out;
}

}  // namespace estafeta::config
