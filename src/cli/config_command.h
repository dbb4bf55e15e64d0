// `estafeta config`: Postfix's postconf for Estafeta's main.cf. Reads the configuration
// directory given with -c, prints parameters on stdout and diagnostics on stderr. Exit
// status 0, 1 when main.cf has an error, 2 for a usage error.
#pragma once

#include <string>
#include <vector>

namespace estafeta::cli {

/// `estafeta [-c dir] config [-n] [-d] [-x] [name ...]`: no options -> like postconf -n;
/// -d defaults; names print "name = value" (-x expands). Unknown name: "estafeta: warning:
/// NAME: unknown parameter" on stderr. Diagnostics of main.cf go to stderr. Exit 0, or 1 when
/// main.cf has an error.
/// -M [service[/type] ...]: the effective master.cf service table in postconf -M's layout
/// (every row, plus the qmgr and local rows the supervisor adds when they are missing; -d:
/// the embedded default); notices about rows on stderr. Exit 1 when master.cf has an error.
int run_config_command(const std::string& config_dir, const std::vector<std::string>& args);

}  // namespace estafeta::cli
