// lmdb: tables (also reached as hash: and btree:): "NAME.lmdb", compiled from the postmap
// source file NAME by `estafeta map`. Keys and values are stored NUL-terminated, as Postfix's
// postmap lmdb: does, and looked up with and without the NUL, so files built by either tool
// read in the other. Writers never modify a live file: they write "NAME.lmdb.tmp.PID",
// fsync it, rename it over NAME.lmdb and fsync the directory, so a reader sees the old table
// or the new one, never half of one. Edge library (links liblmdb). Lookups are thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "maps/map.h"

namespace estafeta::maps {

/// Opens "path" (the .lmdb file itself) read-only.
Result<std::unique_ptr<Map>> open_lmdb_map(const std::string& db_path, bool fold_keys);

/// Streams entries into a new database that replaces db_path only on commit(). Entries may
/// come in any order; a key put twice is reported (postmap's MDB_NOOVERWRITE behaviour).
/// Destroying an uncommitted writer removes its temporary file. Not thread-safe.
class LmdbTableWriter {
 public:
  enum class PutOutcome { Added, Duplicate, Replaced };

  /// `map_size` bounds the database (address space only: the file stays sparse).
  static Result<std::unique_ptr<LmdbTableWriter>> create(const std::string& db_path,
                                                         size_t map_size);
  ~LmdbTableWriter();
  LmdbTableWriter(const LmdbTableWriter&) = delete;
  LmdbTableWriter& operator=(const LmdbTableWriter&) = delete;

  /// Adds key/value; with `replace` an existing key takes the new value. Error on LMDB
  /// failure; map_full() then tells whether a larger map_size would help.
  Result<PutOutcome> put(std::string_view key, std::string_view value, bool replace);
  bool map_full() const { return map_full_; }

  /// Commits (fsync), renames over db_path, fsyncs the directory.
  Status commit();

  /// LMDB's key limit, including the terminating NUL we store.
  static constexpr size_t kMaxKeySize = 511;

  struct State;
  /// Use create(); State is opaque outside lmdb_map.cc.
  explicit LmdbTableWriter(std::unique_ptr<State> state);

 private:
  std::unique_ptr<State> state_;
  bool map_full_ = false;
};

/// Atomically replaces db_path with a database holding `entries` (keys must be unique).
Status write_lmdb_file(const std::string& db_path, std::vector<Entry> entries);

/// Every entry of db_path (an empty list when the file does not exist and allow_missing).
Result<std::vector<Entry>> read_lmdb_entries(const std::string& db_path, bool allow_missing);

}  // namespace estafeta::maps
