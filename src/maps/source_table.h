// The postmap(1) source format shared by texthash: and the lmdb: compiler: logical lines of
// "key whitespace value", keys folded to lower case unless told not to. Lines without a key
// or a value are skipped with postmap's warning; duplicates follow a DuplicatePolicy.
// Pure: works on text the caller has read. Output preserves first-seen order of keys.
#pragma once

#include <optional>
#include <string>
#include <string_view>
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

/// Parses a complete source text. `source_name` prefixes warnings ("virtual, line 3: ...").
SourceTable parse_source_table(std::string_view text, const std::string& source_name,
                               const OpenOptions& options);

/// Applies the duplicate policy while adding `entry`; used by parse_source_table and by
/// `estafeta map -i`. Returns false when the entry was dropped as a duplicate.
class SourceTableBuilder {
 public:
  SourceTableBuilder(std::string source_name, OpenOptions options)
      : source_name_(std::move(source_name)), options_(options) {}
  void add_line(const LogicalLine& line);
  SourceTable take();

 private:
  std::string source_name_;
  OpenOptions options_;
  SourceTable table_;
  std::vector<std::pair<std::string, size_t>> unused_;
  struct Index;
  std::vector<size_t> dummy_;
  std::optional<std::vector<std::string>> none_;
  // key -> position in table_.entries
  std::vector<std::pair<std::string_view, size_t>> unused2_;
  friend struct Index;
  std::unordered_map<std::string, size_t>* index_ = nullptr;
};

}  // namespace estafeta::maps
