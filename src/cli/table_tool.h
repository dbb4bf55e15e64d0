// What `estafeta map` (postmap) and `estafeta alias` (postalias) share: the getopt-style
// command line, atomic compilation of a source file into NAME.lmdb, queries (-q key, -q -
// from stdin), listing (-s), deletes (-d) and incremental adds (-i), with postmap's
// duplicate handling (-r, -w), key folding (-f turns it off), messages and exit codes (0
// found/done, 1 not found or fatal). The tools differ only in the source format they read,
// given as a LineParser. Edge code: reads files and stdin, writes stdout/stderr.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "maps/line_reader.h"
#include "maps/map.h"

namespace estafeta::cli {

/// One logical line of a source file as the tool's format reads it: the entry (key already
/// folded when asked) or none, and the warnings that line draws, in order.
struct SourceLine {
  std::optional<maps::Entry> entry;
  std::vector<std::string> warnings;
};
using LineParser = SourceLine (*)(const maps::LogicalLine& line, const std::string& source_name,
                                  bool fold_keys);

struct TableTool {
  const char* program;  ///< message prefix: "estafeta map"
  const char* usage;    ///< printed with "fatal: " on a usage error
  LineParser parse_line;
  bool has_header_body_options;  ///< -b -h (message header/body queries) and -m exist (postmap)
};

/// Runs the tool; `args` excludes the command name.
int run_table_tool(const TableTool& tool, const std::vector<std::string>& args);

/// Compiles one "[type:]FILE" (default type lmdb) into FILE.lmdb, warnings to stderr with
/// the tool's prefix; 0 on success, 1 after a fatal message.
int compile_table_file(const TableTool& tool, const std::string& spec, bool fold_keys,
                       maps::DuplicatePolicy duplicates);

}  // namespace estafeta::cli
