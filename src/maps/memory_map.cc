// texthash:, inline: and static: tables; see memory_map.h.
#include "maps/memory_map.h"

#include <utility>

#include "base/ascii.h"

namespace estafeta::maps {
namespace {

bool is_inline_separator(char c) { return c == ',' || is_table_space(c); }

// Strips one level of {} around `s` (after trimming) and trims the inside, as Postfix's
// extpar(..., EXTPAR_FLAG_STRIP). Error when the braces do not balance.
Result<std::string_view> strip_braces(std::string_view s) {
  s = trim_table_space(s);
  if (s.empty() || s.front() != '{') return make_error("missing '{'");
  int depth = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '{') {
      ++depth;
    } else if (s[i] == '}') {
      if (--depth == 0) {
        if (i + 1 != s.size()) {
          return make_error("syntax error after '}' in \"" + std::string(s.substr(0, 30)) + "\"");
        }
        return trim_table_space(s.substr(1, i - 1));
      }
    }
  }
  return make_error("missing '}' in \"" + std::string(s.substr(0, 30)) + "\"");
}

}  // namespace

LookupResult MemoryMap::lookup(std::string_view key) const {
  auto it = fold_keys_ ? table_.find(ascii::lower(key)) : table_.find(std::string(key));
  if (it == table_.end()) return LookupResult::not_found();
  return LookupResult::found(it->second);
}

Result<std::vector<Entry>> MemoryMap::entries() const {
  std::vector<Entry> out;
  out.reserve(table_.size());
  for (const auto& [k, v] : table_) out.push_back(Entry{k, v});
  return out;
}

BuiltMap build_texthash_map(std::string_view text, const std::string& file_name,
                            const OpenOptions& options) {
  // Streams the text through the line reader in chunks so that only the table itself, not a
  // copy of every line, is held at once (a 1,000,000-entry table loads at server start).
  constexpr size_t kChunk = 1 << 20;
  LogicalLineReader reader(file_name);
  std::vector<std::string> warnings;
  std::unordered_map<std::string, std::string> table;
  table.reserve(text.size() / 48);
  auto drain = [&] {
    for (std::string& w : reader.take_warnings()) warnings.push_back(std::move(w));
    for (const LogicalLine& line : reader.take_lines()) {
      CheckedLine checked = check_source_line(line, file_name, options.fold_keys);
      for (std::string& w : checked.warnings) warnings.push_back(std::move(w));
      if (!checked.entry) continue;
      auto [it, inserted] = table.try_emplace(std::move(checked.entry->key));
      if (inserted || options.duplicates == DuplicatePolicy::Replace) {
        it->second = std::move(checked.entry->value);
      } else if (options.duplicates == DuplicatePolicy::Warn) {
        warnings.push_back(file_name + ", line " + std::to_string(line.line) +
                           ": duplicate entry: \"" + checked.key_as_written + "\"");
      }
    }
  };
  for (size_t off = 0; off < text.size(); off += kChunk) {
    reader.feed(text.substr(off, kChunk));
    drain();
  }
  reader.finish();
  drain();
  return BuiltMap{std::make_unique<MemoryMap>(std::move(table), options.fold_keys),
                  std::move(warnings)};
}

namespace {

// The elements of "{ a, {b c}, d }": items separated by ',' or space outside braces, one
// level of braces stripped from each (Postfix's inline syntax).
Result<std::vector<std::string_view>> inline_elements(std::string_view name) {
  Result<std::string_view> body = strip_braces(name);
  if (!body.ok()) return body.error();
  std::string_view rest = *body;
  std::vector<std::string_view> out;
  while (true) {
    while (!rest.empty() && is_inline_separator(rest.front())) rest.remove_prefix(1);
    if (rest.empty()) break;
    // One element: up to the next separator outside braces.
    size_t i = 0;
    int depth = 0;
    for (; i < rest.size(); ++i) {
      char c = rest[i];
      if (c == '{') {
        ++depth;
      } else if (c == '}') {
        if (depth > 0) --depth;
      } else if (depth == 0 && is_inline_separator(c)) {
        break;
      }
    }
    if (depth != 0) return make_error("missing '}' in \"" + std::string(rest.substr(0, 30)) + "\"");
    std::string_view element = rest.substr(0, i);
    rest.remove_prefix(i);
    if (element.front() == '{') {
      Result<std::string_view> inner = strip_braces(element);
      if (!inner.ok()) return inner.error();
      element = *inner;
    }
    out.push_back(element);
  }
  return out;
}

}  // namespace

Result<std::vector<Entry>> parse_inline_elements(std::string_view name) {
  auto elements = inline_elements(name);
  if (!elements.ok()) return elements.error();
  std::vector<Entry> out;
  for (std::string_view element : *elements) {
    size_t eq = element.find('=');
    if (eq == std::string_view::npos) {
      return make_error("missing '=' after attribute name");
    }
    std::string_view key = trim_table_space(element.substr(0, eq));
    std::string_view value = trim_table_space(element.substr(eq + 1));
    if (key.empty()) return make_error("missing attribute name");
    out.push_back(Entry{std::string(key), std::string(value)});
  }
  if (out.empty()) return make_error("empty table");
  return out;
}

Result<std::unique_ptr<Map>> build_inline_map(std::string_view name, const OpenOptions& options) {
  Result<std::vector<Entry>> elements = parse_inline_elements(name);
  if (!elements.ok()) {
    return make_error(elements.error().message + ": \"inline:" + std::string(name) +
                      "\"; need \"inline:{name=value...}\"");
  }
  std::unordered_map<std::string, std::string> table;
  for (Entry& e : *elements) {
    // Later elements replace earlier ones (Postfix dict_inline updates an in-memory table).
    std::string key = options.fold_keys ? ascii::lower(e.key) : std::move(e.key);
    table.insert_or_assign(std::move(key), std::move(e.value));
  }
  return std::unique_ptr<Map>(std::make_unique<MemoryMap>(std::move(table), options.fold_keys));
}

Result<std::string> inline_rules_text(std::string_view name) {
  auto elements = inline_elements(name);
  if (!elements.ok()) return elements.error();
  if (elements->empty()) return make_error("empty table");
  std::string text;
  for (std::string_view rule : *elements) {
    if (rule.empty()) return make_error("empty rule");
    if (rule.find_first_of("\r\n") != std::string_view::npos) {
      return make_error("a rule spans lines");
    }
    text.append(rule);
    text += '\n';
  }
  return text;
}

Result<std::unique_ptr<Map>> build_static_map(std::string_view name) {
  std::string_view value = name;
  if (!trim_table_space(name).empty() && trim_table_space(name).front() == '{') {
    Result<std::string_view> inner = strip_braces(name);
    if (!inner.ok())
      return make_error("static:" + std::string(name) + ": " + inner.error().message);
    value = *inner;
  }
  return std::unique_ptr<Map>(std::make_unique<StaticMap>(std::string(value)));
}

}  // namespace estafeta::maps
