// aliases(5) source parsing; see alias_source.h.
#include "maps/alias_source.h"

#include <utility>

#include "base/ascii.h"

namespace estafeta::maps {
namespace {

// Where the name ends: the first ':' outside double quotes (a backslash escapes the next
// byte everywhere); npos when there is none.
size_t name_end(std::string_view text) {
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\') {
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ':' && !quoted) {
      return i;
    }
  }
  return std::string_view::npos;
}

// The name as postalias keys it: quoted strings and unquoted words are tokens joined by one
// space; quotes and escaping backslashes removed.
std::string unquote_name(std::string_view text) {
  std::string out;
  bool in_token = false;  // the last byte appended belongs to an unfinished token
  auto start_token = [&]() {
    if (!in_token && !out.empty()) out.push_back(' ');
    in_token = true;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '"') {
      if (in_token) in_token = false;  // "e"x and x"e" are two tokens
      start_token();
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\' && i + 1 < text.size()) ++i;
        out.push_back(text[i]);
      }
      in_token = false;
      continue;
    }
    if (is_table_space(c)) {
      in_token = false;
      continue;
    }
    start_token();
    if (c == '\\' && i + 1 < text.size()) c = text[++i];
    out.push_back(c);
  }
  return out;
}

// Collapses white space outside double quotes to one space and trims.
std::string collapse_space(std::string_view text) {
  std::string out;
  bool quoted = false;
  bool pending_space = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (!quoted && is_table_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
    if (c == '\\' && i + 1 < text.size()) {
      out.push_back(text[++i]);
    } else if (c == '"') {
      quoted = !quoted;
    }
  }
  return out;
}

// Splits at the commas outside quotes, <> and (); elements untrimmed, empty ones kept.
std::vector<std::string_view> split_top_level(std::string_view value) {
  std::vector<std::string_view> parts;
  bool quoted = false;
  int angle = 0;
  int paren = 0;
  size_t start = 0;
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (c == '\\') {
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (quoted) {
      continue;
    } else if (c == '(') {
      ++paren;
    } else if (c == ')' && paren > 0) {
      --paren;
    } else if (c == '<' && paren == 0) {
      ++angle;
    } else if (c == '>' && angle > 0 && paren == 0) {
      --angle;
    } else if (c == ',' && angle == 0 && paren == 0) {
      parts.push_back(value.substr(start, i - start));
      start = i + 1;
    }
  }
  parts.push_back(value.substr(std::min(start, value.size())));
  return parts;
}

std::string normalize_value(std::string_view value) {
  std::vector<std::string_view> parts = split_top_level(value);
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i != 0) out.append(", ");
    out.append(collapse_space(parts[i]));
  }
  return out;
}

}  // namespace

std::optional<Entry> parse_alias_line(std::string_view text) {
  size_t colon = name_end(text);
  if (colon == std::string_view::npos) return std::nullopt;
  std::string name = unquote_name(text.substr(0, colon));
  std::string value = normalize_value(trim_table_space(text.substr(colon + 1)));
  if (name.empty() || value.empty()) return std::nullopt;
  return Entry{std::move(name), std::move(value)};
}

std::vector<std::string> split_alias_targets(std::string_view value) {
  std::vector<std::string> targets;
  for (std::string_view part : split_top_level(value)) {
    std::string_view t = trim_table_space(part);
    if (!t.empty()) targets.emplace_back(t);
  }
  return targets;
}

CheckedAliasLine check_alias_line(const LogicalLine& line, const std::string& source_name,
                                  bool fold_names) {
  CheckedAliasLine out;
  std::optional<Entry> entry = parse_alias_line(line.text);
  if (!entry) {
    out.warning = source_name + ", line " + std::to_string(line.line) + ": need name:value pair";
    return out;
  }
  if (fold_names) entry->key = ascii::lower(entry->key);
  out.entry = AliasEntry{std::move(entry->key), std::move(entry->value), line.line};
  return out;
}

AliasSource parse_alias_source(std::string_view text, const std::string& source_name,
                               bool fold_names) {
  SplitLines split = split_logical_lines(text, source_name);
  AliasSource out;
  out.warnings = std::move(split.warnings);
  for (const LogicalLine& line : split.lines) {
    CheckedAliasLine checked = check_alias_line(line, source_name, fold_names);
    if (checked.entry) {
      out.entries.push_back(std::move(*checked.entry));
    } else {
      out.warnings.push_back(std::move(checked.warning));
    }
  }
  return out;
}

}  // namespace estafeta::maps
