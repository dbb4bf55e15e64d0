// postmap(1) source format; see source_table.h.
#include "maps/source_table.h"

#include <utility>

#include "base/ascii.h"

namespace estafeta::maps {

std::optional<Entry> split_source_line(std::string_view text) {
  size_t end = 0;
  while (end < text.size() && !is_table_space(text[end])) ++end;
  std::string_view key = text.substr(0, end);
  std::string_view value = trim_table_space(text.substr(end));
  if (key.empty() || value.empty()) return std::nullopt;
  return Entry{std::string(key), std::string(value)};
}

CheckedLine check_source_line(const LogicalLine& line, const std::string& source_name,
                              bool fold_keys) {
  CheckedLine out;
  out.entry = split_source_line(line.text);
  std::string where = source_name + ", line " + std::to_string(line.line);
  if (!out.entry) {
    out.warnings.push_back(where + ": expected format: key whitespace value -- ignoring this line");
    return out;
  }
  if (out.entry->key.back() == ':') {
    out.warnings.push_back(where + ": record is in \"key: value\" format; is this an alias file?");
  }
  out.key_as_written = out.entry->key;
  if (fold_keys) out.entry->key = ascii::lower(out.entry->key);
  return out;
}

void SourceTableBuilder::add_line(const LogicalLine& line) {
  CheckedLine checked = check_source_line(line, source_name_, options_.fold_keys);
  for (std::string& w : checked.warnings) table_.warnings.push_back(std::move(w));
  if (!checked.entry) return;
  std::optional<Entry>& kv = checked.entry;
  const std::string& as_written = checked.key_as_written;
  std::string where = source_name_ + ", line " + std::to_string(line.line);
  auto [it, inserted] = index_.try_emplace(kv->key, table_.entries.size());
  if (inserted) {
    table_.entries.push_back(SourceEntry{std::move(kv->key), std::move(kv->value), line.line});
    return;
  }
  switch (options_.duplicates) {
    case DuplicatePolicy::Replace:
      table_.entries[it->second].value = std::move(kv->value);
      break;
    case DuplicatePolicy::Warn:
      table_.warnings.push_back(where + ": duplicate entry: \"" + as_written + "\"");
      break;
    case DuplicatePolicy::Ignore:
      break;
  }
}

SourceTable parse_source_table(std::string_view text, const std::string& source_name,
                               const OpenOptions& options) {
  LogicalLineReader reader(source_name);
  reader.feed(text);
  reader.finish();
  SourceTableBuilder builder(source_name, options);
  // Warnings of the reader come first only in our output order; Postfix interleaves them.
  for (std::string& w : reader.take_warnings()) builder.add_warning(std::move(w));
  for (const LogicalLine& line : reader.take_lines()) builder.add_line(line);
  return builder.take();
}

}  // namespace estafeta::maps
