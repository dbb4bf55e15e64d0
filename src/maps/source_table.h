// The postmap(1) source format shared by texthash: and the lmdb: compiler: logical lines of
// "key whitespace value", keys folded to lower case unless told not to. Lines without a key
// or a value are skipped with postmap's warning; duplicates follow a DuplicatePolicy.
// Pure: works on text the caller has read. Output preserves first-seen order of keys.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "maps/line_reader.h"
#include "maps/map.h"

namespace estafeta::maps {

struct SourceEntry {
  std::string key;
  std::string value;
  int line = 0;
};

/// Splits one logical line into key and value as postmap does (first whitespace separates;
/// both trimmed). nullopt when the key or the value is empty.
std::optional<Entry> split_source_line(std::string_view text);

struct SourceTable {
  std::vector<SourceEntry> entries;  ///< unique keys, first-seen order
  std::vector<std::string> warnings;
};

/// Adds logical lines one at a time, applying folding and the duplicate policy.
class SourceTableBuilder {
 public:
  SourceTableBuilder(std::string source_name, OpenOptions options)
      : source_name_(std::move(source_name)), options_(options) {}
  void add_line(const LogicalLine& line);
  void add_warning(std::string warning) { table_.warnings.push_back(std::move(warning)); }
  SourceTable take() { return std::move(table_); }

 private:
  std::string source_name_;
  OpenOptions options_;
  SourceTable table_;
  std::unordered_map<std::string, size_t> index_;  // key -> position in table_.entries
};

/// Checks one logical line: the entry (key folded per options) or nullopt, plus warnings
/// for a missing key/value or a "key:" alias-style record. Duplicates are the caller's job.
struct CheckedLine {
  std::optional<Entry> entry;
  std::string key_as_written;
  std::vector<std::string> warnings;
};
CheckedLine check_source_line(const LogicalLine& line, const std::string& source_name,
                              bool fold_keys);

/// Parses a complete source text. `source_name` prefixes warnings ("virtual, line 3: ...").
SourceTable parse_source_table(std::string_view text, const std::string& source_name,
                               const OpenOptions& options);

}  // namespace estafeta::maps
