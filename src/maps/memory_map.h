// In-memory fixed-string tables: texthash: (a postmap source file read at open), inline:
// ("inline:{ key=value, { key = text with spaces } }") and static: (one value for every key).
// Pure: the caller reads files. Lookups fold the key when the table was built folded.
// Immutable after construction, so lookups are thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "maps/map.h"
#include "maps/source_table.h"

namespace estafeta::maps {

class MemoryMap final : public Map {
 public:
  MemoryMap(std::unordered_map<std::string, std::string> table, bool fold_keys)
      : table_(std::move(table)), fold_keys_(fold_keys) {}

  LookupResult lookup(std::string_view key) const override;
  Result<std::vector<Entry>> entries() const override;
  size_t size() const { return table_.size(); }

 private:
  std::unordered_map<std::string, std::string> table_;
  bool fold_keys_;
};

struct BuiltMap {
  std::unique_ptr<Map> map;
  std::vector<std::string> warnings;
};

/// texthash: builds the table from the source text of `file_name`.
BuiltMap build_texthash_map(std::string_view text, const std::string& file_name,
                            const OpenOptions& options);

/// inline: `name` is everything after "inline:", e.g. "{ a=b, { c = d e } }". Error (the
/// table cannot be opened) for a malformed element or an empty table, as Postfix.
Result<std::unique_ptr<Map>> build_inline_map(std::string_view name, const OpenOptions& options);

/// Parses the elements of an inline table into ordered key/value pairs (exposed for fuzzing).
Result<std::vector<Entry>> parse_inline_elements(std::string_view name);

/// The rules of an inline pattern table (Postfix 3.7's "pcre:{ {/a/ x}, {/b/ y} }" and
/// "regexp:{...}"): `name` is everything after "pcre:"; the result is the rules as the text
/// of a rule file, one per line, in order. Error for unbalanced braces, an empty table, an
/// empty rule or a rule with a line break.
Result<std::string> inline_rules_text(std::string_view name);

class StaticMap final : public Map {
 public:
  explicit StaticMap(std::string value) : value_(std::move(value)) {}
  LookupResult lookup(std::string_view) const override { return LookupResult::found(value_); }

 private:
  std::string value_;
};

/// static: `name` is the value; "{ text }" strips the braces and surrounding whitespace.
Result<std::unique_ptr<Map>> build_static_map(std::string_view name);

}  // namespace estafeta::maps
