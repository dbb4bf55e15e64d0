// pcre:/regexp: rule files; see regex_table.h.
#include "maps/regex_table.h"

#include <utility>

#include "base/ascii.h"
#include "maps/line_reader.h"

namespace estafeta::maps {
namespace {

bool is_alnum(char c) { return ascii::is_alpha(c) || ascii::is_digit(c); }

struct Cursor {
  std::string_view rest;
  void skip_space() {
    while (!rest.empty() && is_table_space(rest.front())) rest.remove_prefix(1);
  }
};

// Parses "[!...]<d>pattern<d>flags" at the cursor. Error text is Postfix's warning.
Result<RegexPattern> parse_pattern(Cursor& c, RegexDialect dialect) {
  RegexPattern p;
  while (!c.rest.empty() && (c.rest.front() == '!' || is_table_space(c.rest.front()))) {
    if (c.rest.front() == '!') p.match = !p.match;
    c.rest.remove_prefix(1);
  }
  if (c.rest.empty()) return make_error("no regexp: skipping this rule");
  char delim = c.rest.front();
  c.rest.remove_prefix(1);
  size_t i = 0;
  bool closed = false;
  while (i < c.rest.size()) {
    if (c.rest[i] == '\\') {
      if (i + 1 >= c.rest.size()) break;
      i += 2;
      continue;
    }
    if (c.rest[i] == delim) {
      closed = true;
      break;
    }
    ++i;
  }
  if (!closed) {
    return make_error(std::string("no closing regexp delimiter \"") + delim + "\": " +
                      (dialect == RegexDialect::Pcre ? "ignoring" : "skipping") + " this rule");
  }
  p.source.assign(c.rest.substr(0, i));
  c.rest.remove_prefix(i + 1);
  if (dialect == RegexDialect::Pcre) p.extended = false;
  while (!c.rest.empty() && !is_table_space(c.rest.front())) {
    char f = c.rest.front();
    if (dialect == RegexDialect::Posix && f == '!') break;  // "/a/!/b/"
    bool ok = true;
    switch (f) {
      case 'i':
        p.icase = !p.icase;
        break;
      case 'm':
        p.multiline = !p.multiline;
        break;
      case 'x':
        p.extended = !p.extended;
        break;
      case 's':
        ok = dialect == RegexDialect::Pcre;
        p.dotall = !p.dotall;
        break;
      case 'A':
        ok = dialect == RegexDialect::Pcre;
        p.anchored = !p.anchored;
        break;
      case 'E':
        ok = dialect == RegexDialect::Pcre;
        p.dollar_endonly = !p.dollar_endonly;
        break;
      case 'U':
        ok = dialect == RegexDialect::Pcre;
        p.ungreedy = !p.ungreedy;
        break;
      case 'X':
        ok = dialect == RegexDialect::Pcre;
        break;  // PCRE1 EXTRA: no-op in PCRE2
      default:
        ok = false;
        break;
    }
    if (!ok) {
      return make_error(std::string("unknown regexp option \"") + f + "\": skipping this rule");
    }
    c.rest.remove_prefix(1);
  }
  return p;
}

}  // namespace

Result<std::vector<ResultPart>> parse_result_template(std::string_view text) {
  std::vector<ResultPart> parts;
  std::string literal;
  auto flush = [&] {
    if (!literal.empty()) parts.push_back(ResultPart{std::move(literal), -1});
    literal.clear();
  };
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c != '$') {
      literal.push_back(c);
      ++i;
      continue;
    }
    ++i;
    if (i < text.size() && text[i] == '$') {
      literal.push_back('$');
      ++i;
      continue;
    }
    std::string_view name;
    if (i < text.size() && (text[i] == '{' || text[i] == '(')) {
      char close = text[i] == '{' ? '}' : ')';
      size_t end = text.find(close, i + 1);
      if (end == std::string_view::npos) return make_error("bad replacement syntax");
      name = text.substr(i + 1, end - i - 1);
      i = end + 1;
    } else {
      size_t start = i;
      while (i < text.size() && (is_alnum(text[i]) || text[i] == '_')) ++i;
      name = text.substr(start, i - start);
    }
    if (name.empty()) return make_error("bad replacement syntax");
    for (char d : name) {
      if (!ascii::is_digit(d)) {
        return make_error("non-numeric replacement index \"" + std::string(name) + "\"");
      }
    }
    if (name.size() > 6) {
      return make_error("out of range replacement index \"" + std::string(name) + "\"");
    }
    flush();
    parts.push_back(ResultPart{std::string(name), std::stoi(std::string(name))});
  }
  flush();
  return parts;
}

ParsedRegexRules parse_regex_rules(std::string_view text, const std::string& file_name,
                                   RegexDialect dialect) {
  std::string prefix =
      std::string(dialect == RegexDialect::Pcre ? "pcre" : "regexp") + " map " + file_name;
  SplitLines split = split_logical_lines(text, file_name);
  ParsedRegexRules out;
  out.warnings = std::move(split.warnings);
  auto warn = [&](int line, const std::string& what) {
    out.warnings.push_back(prefix + ", line " + std::to_string(line) + ": " + what);
  };
  for (const LogicalLine& line : split.lines) {
    std::string_view t = line.text;
    RegexRule rule;
    rule.line = line.line;
    Cursor c{t};
    if (is_alnum(t.front())) {
      if (ascii::istarts_with(t, "endif") && (t.size() == 5 || !is_alnum(t[5]))) {
        c.rest.remove_prefix(5);
        c.skip_space();
        rule.extra_text = !c.rest.empty();
        rule.kind = RegexRule::Kind::Endif;
        out.rules.push_back(std::move(rule));
        continue;
      }
      if (ascii::istarts_with(t, "if") && (t.size() == 2 || !is_alnum(t[2]))) {
        c.rest.remove_prefix(2);
        rule.kind = RegexRule::Kind::If;
      } else {
        warn(line.line, "ignoring unrecognized request");
        continue;
      }
    }
    Result<RegexPattern> pattern = parse_pattern(c, dialect);
    if (!pattern.ok()) {
      warn(line.line, pattern.error().message);
      continue;
    }
    rule.pattern = std::move(*pattern);
    if (rule.kind == RegexRule::Kind::If) {
      c.skip_space();
      if (!c.rest.empty()) warn(line.line, "ignoring extra text after IF");
      out.rules.push_back(std::move(rule));
      continue;
    }
    if (dialect == RegexDialect::Posix && !c.rest.empty() && c.rest.front() == '!') {
      Result<RegexPattern> second = parse_pattern(c, dialect);
      if (!second.ok()) {
        warn(line.line, second.error().message);
        continue;
      }
      rule.second = std::move(*second);
    }
    std::string_view result = trim_table_space(c.rest);
    if (result.empty()) warn(line.line, "no replacement text: using empty string");
    Result<std::vector<ResultPart>> parts = parse_result_template(result);
    if (!parts.ok()) {
      const std::string& why = parts.error().message;
      if (why.starts_with("non-numeric")) {
        warn(line.line, why);
        warn(line.line, "bad replacement syntax: skipping this rule");
      } else {
        warn(line.line, why + ": skipping this rule");
      }
      continue;
    }
    rule.result = std::move(*parts);
    for (const ResultPart& p : rule.result) rule.max_group = std::max(rule.max_group, p.group);
    out.rules.push_back(std::move(rule));
  }
  return out;
}

LookupResult RegexTableMap::lookup(std::string_view key) const {
  size_t i = 0;
  while (i < rules_.size()) {
    const CompiledRule& rule = rules_[i];
    switch (rule.kind) {
      case RegexRule::Kind::Endif:
        ++i;
        break;
      case RegexRule::Kind::If: {
        bool matched = rule.regex->match(key).has_value();
        i = (matched == rule.match) ? i + 1 : rule.skip_to;
        break;
      }
      case RegexRule::Kind::Match: {
        std::optional<std::vector<std::string>> groups = rule.regex->match(key);
        bool applies = groups.has_value() == rule.match;
        if (applies && rule.second) {
          applies = rule.second->match(key).has_value() == rule.second_match;
        }
        if (!applies) {
          ++i;
          break;
        }
        std::string value;
        for (const ResultPart& part : rule.result) {
          if (part.group < 0) {
            value += part.literal;
          } else if (groups && static_cast<size_t>(part.group) < groups->size()) {
            value += (*groups)[part.group];
          }
        }
        return LookupResult::found(std::move(value));
      }
    }
  }
  return LookupResult::not_found();
}

BuiltMap build_regex_table(std::string_view text, const std::string& file_name,
                           RegexDialect dialect, const RegexCompiler& compiler) {
  std::string prefix =
      std::string(dialect == RegexDialect::Pcre ? "pcre" : "regexp") + " map " + file_name;
  ParsedRegexRules parsed = parse_regex_rules(text, file_name, dialect);
  std::vector<std::string> warnings = std::move(parsed.warnings);
  auto warn = [&](int line, const std::string& what) {
    warnings.push_back(prefix + ", line " + std::to_string(line) + ": " + what);
  };
  std::vector<RegexTableMap::CompiledRule> rules;
  std::vector<size_t> open_ifs;  // indexes into rules
  std::vector<int> open_if_lines;
  for (RegexRule& rule : parsed.rules) {
    RegexTableMap::CompiledRule compiled;
    compiled.kind = rule.kind;
    if (rule.kind == RegexRule::Kind::Endif) {
      if (open_ifs.empty()) {
        warn(rule.line, "ignoring ENDIF without matching IF");
        continue;
      }
      if (rule.extra_text) warn(rule.line, "ignoring extra text after ENDIF");
      rules.push_back(std::move(compiled));
      rules[open_ifs.back()].skip_to = rules.size();
      open_ifs.pop_back();
      open_if_lines.pop_back();
      continue;
    }
    Result<std::unique_ptr<CompiledRegex>> regex = compiler(rule.pattern);
    if (!regex.ok()) {
      warn(rule.line, regex.error().message);
      continue;
    }
    compiled.regex = std::move(*regex);
    compiled.match = rule.pattern.match;
    if (rule.second) {
      Result<std::unique_ptr<CompiledRegex>> second = compiler(*rule.second);
      if (!second.ok()) {
        warn(rule.line, second.error().message);
        continue;
      }
      compiled.second = std::move(*second);
      compiled.second_match = rule.second->match;
    }
    if (rule.kind == RegexRule::Kind::Match) {
      int groups = compiled.regex->capture_count();
      bool bad = false;
      for (const ResultPart& p : rule.result) {
        // Postfix: "$n" with n beyond the pattern's groups, or any "$n" on a negated rule.
        if (p.group >= 0 && (p.group < 1 || p.group > groups || !rule.pattern.match)) {
          warn(rule.line,
               "out of range replacement index \"" + p.literal + "\": skipping this rule");
          bad = true;
          break;
        }
      }
      if (bad) continue;
      compiled.result = std::move(rule.result);
    }
    rules.push_back(std::move(compiled));
    if (rule.kind == RegexRule::Kind::If) {
      open_ifs.push_back(rules.size() - 1);
      open_if_lines.push_back(rule.line);
    }
  }
  for (size_t k = 0; k < open_ifs.size(); ++k) {
    rules[open_ifs[k]].skip_to = rules.size();
    warn(open_if_lines[k], "IF has no matching ENDIF");
  }
  return BuiltMap{std::make_unique<RegexTableMap>(std::move(rules)), std::move(warnings)};
}

}  // namespace estafeta::maps
