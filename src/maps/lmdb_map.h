// lmdb: tables (also reached as hash: and btree:): "NAME.lmdb", compiled from the postmap
// source file NAME by `estafeta map`. Keys and values are stored NUL-terminated, as Postfix's
// postmap lmdb: does, and looked up with and without the NUL, so files built by either tool
// read in the other. Writers never modify a live file: they write "NAME.lmdb.tmp.PID",
// fsync it, rename it over NAME.lmdb and fsync the directory, so a reader sees the old table
// or the new one, never half of one. Edge library (links liblmdb). Lookups are thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "maps/map.h"

namespace estafeta::maps {

/// Opens "path" (the .lmdb file itself) read-only.
Result<std::unique_ptr<Map>> open_lmdb_map(const std::string& db_path, bool fold_keys);

/// Atomically replaces db_path with a database holding `entries` (keys must be unique).
Status write_lmdb_file(const std::string& db_path, std::vector<Entry> entries);

/// Every entry of db_path (an empty list when the file does not exist and allow_missing).
Result<std::vector<Entry>> read_lmdb_entries(const std::string& db_path, bool allow_missing);

}  // namespace estafeta::maps
