// The lookup-table interface every consumer uses (access, aliases, virtual, transport...).
// A table is addressed as "type:name" (see map_spec.h) and answers each lookup with one of
// three outcomes: Found (with its value), NotFound, or TempFail (the table could not answer
// now; callers must turn it into a 4xx, never into "not found"; Postfix DICT_ERR_RETRY).
// Thread contract: lookup() and entries() are const and safe to call from several threads at
// once. Remote tables (pgsql, redis) may block up to their configured timeout inside lookup();
// the event loop must run them through maps::LookupPool (lookup_pool.h), never inline.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace estafeta::maps {

enum class LookupStatus { Found, NotFound, TempFail };

/// The answer to one lookup. `value` is the table's value when Found, the reason when
/// TempFail, and empty when NotFound. An empty value is a valid Found answer.
struct LookupResult {
  LookupStatus status = LookupStatus::NotFound;
  std::string value;

  static LookupResult found(std::string value) {
    return LookupResult{LookupStatus::Found, std::move(value)};
  }
  static LookupResult not_found() { return LookupResult{}; }
  static LookupResult temp_fail(std::string reason) {
    return LookupResult{LookupStatus::TempFail, std::move(reason)};
  }
  bool is_found() const { return status == LookupStatus::Found; }
  bool is_temp_fail() const { return status == LookupStatus::TempFail; }
  bool operator==(const LookupResult&) const = default;
};

/// One key/value pair of a table that can be listed (`estafeta map -s`).
struct Entry {
  std::string key;
  std::string value;
  bool operator==(const Entry&) const = default;
};

/// What to do when a source file names the same key twice (postmap: warn and keep the
/// first; -r replaces; -w keeps the first silently).
enum class DuplicatePolicy { Warn, Replace, Ignore };

/// Options shared by every table type, fixed when the table is opened.
struct OpenOptions {
  /// Fold keys of fixed-string tables (texthash, lmdb, inline) to lower case when building
  /// and when looking up (postmap -f turns this off). Pattern tables never fold the key.
  bool fold_keys = true;
  DuplicatePolicy duplicates = DuplicatePolicy::Warn;
};

class Map {
 public:
  virtual ~Map() = default;

  /// Looks `key` up. Never throws; a backend failure is TempFail with a reason.
  virtual LookupResult lookup(std::string_view key) const = 0;

  /// Every entry, for tables that can be listed; an Error ("sequence operation is not
  /// supported") for pattern and remote tables, as postmap -s says.
  virtual Result<std::vector<Entry>> entries() const {
    return make_error("sequence operation is not supported");
  }

  /// True for tables whose lookup may block on the network (pgsql, redis).
  virtual bool is_remote() const { return false; }
};

}  // namespace estafeta::maps
