// Opening a table from its "type:name" spec: reads the source file (texthash, cidr, pcre,
// regexp), opens NAME.lmdb (lmdb, hash, btree), parses inline/static text, or reads the
// small config file of a remote table (pgsql, redis; they connect lazily at first lookup, so
// a database that is down is a TempFail at lookup time, not an open error, as in Postfix),
// or names a system database (unix:passwd.byname, unix:group.byname).
// Edge: touches files. An Error means the table cannot be opened; warnings name each
// malformed line ("FILE, line N: reason") of a table that opened anyway.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "maps/map.h"
#include "maps/map_spec.h"

namespace estafeta::maps {

struct OpenedMap {
  std::unique_ptr<Map> map;
  std::vector<std::string> warnings;
};

Result<OpenedMap> open_map(const MapSpec& spec, const OpenOptions& options);
Result<OpenedMap> open_map(std::string_view spec, const OpenOptions& options);

/// Reads a whole file; Error "open FILE: reason".
Result<std::string> read_text_file(const std::string& path);

/// The database file of an indexed table: "NAME.lmdb".
inline std::string lmdb_path_for(const std::string& name) { return name + ".lmdb"; }

}  // namespace estafeta::maps
