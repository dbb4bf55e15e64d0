// `estafeta map`: the postmap(1) equivalent, option for option. Compiles lmdb: (also hash:,
// btree:) tables atomically, queries (-q key, -q - from stdin), lists (-s), deletes (-d) and
// adds from stdin (-i) with postmap's duplicate handling (-r, -w) and key folding (-f off).
// Output and exit codes are postmap's: 0 found/done, 1 not found or any fatal error; warnings
// go to stderr as "estafeta map: warning: ...". See docs/maps.md.
#pragma once

#include <string>
#include <vector>

namespace estafeta::cli {

/// `args` excludes "map" itself. Reads stdin for "-q -", "-d -" and -i; writes stdout/stderr.
int run_map_command(const std::vector<std::string>& args);

}  // namespace estafeta::cli
