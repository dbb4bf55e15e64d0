// `estafeta alias`: the postalias(1) equivalent, and newaliases (also `sendmail -bi` and
// `sendmail -I`). Same options, output and exit codes as `estafeta map` (table_tool.h), but
// the source is in aliases(5) format ("name: target, target", maps/alias_source.h):
//   estafeta alias [-Nfinoprsuvw] [-c config_dir] [-d key] [-q key] [type:]FILE...
// compiles FILE into FILE.lmdb atomically (default type lmdb; hash: and btree: are lmdb),
// queries (-q key, -q -), lists (-s). See docs/aliases.md.
#pragma once

#include <string>
#include <vector>

namespace estafeta::cli {

/// `args` excludes "alias" itself.
int run_alias_command(const std::vector<std::string>& args);

/// Rebuilds every table in main.cf's alias_database (read from `config_dir`), as newaliases.
/// `program` prefixes messages ("newaliases", "sendmail"). 0 when all were built; 1 after a
/// fatal error (a configuration error, an unreadable source, a failed write). Tables of a type
/// that is not compiled (texthash:, ...) are skipped with a warning.
int run_newaliases(const std::string& program, const std::string& config_dir);

}  // namespace estafeta::cli
