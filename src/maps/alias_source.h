// The aliases(5) source format, as newaliases / `estafeta alias` (postalias) read it:
//   # comment
//   name: target, target,
//       continued target        (a line starting with whitespace continues the entry)
//   "name with spaces": target
// Logical lines are those of every table source (line_reader.h: blank and '#' lines are
// skipped and do not end an entry). The name ends at the first ':' outside double quotes;
// quotes and backslashes are removed from it, runs of white space become one space, and it is
// folded to lower case unless told not to. The value is normalised as postalias stores it:
// the targets separated by ", ", white space outside quotes collapsed, quoted text kept as
// written ("|cmd  a,b" stays one target). A line without a name or a value is skipped with
// "FILE, line N: need name:value pair". Duplicates are kept in order (the caller decides:
// postalias keeps the first and warns). Pure; no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "maps/line_reader.h"
#include "maps/map.h"

namespace estafeta::maps {

struct AliasEntry {
  std::string name;   ///< folded unless fold_names is off
  std::string value;  ///< normalised ("a, b, \"|cmd x\"")
  int line = 0;       ///< first physical line of the entry
  bool operator==(const AliasEntry&) const = default;
};

struct AliasSource {
  std::vector<AliasEntry> entries;  ///< in file order, duplicates included
  std::vector<std::string> warnings;
};

/// One logical line: the entry (name folded per `fold_names`) or nullopt with the warning
/// "SOURCE, line N: need name:value pair".
struct CheckedAliasLine {
  std::optional<AliasEntry> entry;
  std::string warning;
};
CheckedAliasLine check_alias_line(const LogicalLine& line, const std::string& source_name,
                                  bool fold_names);

/// Parses a complete aliases file. `source_name` prefixes warnings ("/etc/aliases, line 3:").
AliasSource parse_alias_source(std::string_view text, const std::string& source_name,
                               bool fold_names = true);

/// One logical line "name: value" -> {name (not folded), normalised value}; nullopt when
/// there is no ':' outside quotes, or the name or the value is empty.
std::optional<Entry> parse_alias_line(std::string_view text);

/// The targets of an alias value: split at the commas outside double quotes, angle brackets
/// and parentheses, each trimmed, empty ones dropped; quotes are kept as written. This is
/// how the local delivery agent reads a value ("user, /file, \"|cmd a,b\", :include:/x").
std::vector<std::string> split_alias_targets(std::string_view value);

}  // namespace estafeta::maps
