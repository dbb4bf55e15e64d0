// MapSet: the tables a process uses, opened together from the "type:name" specs named by one
// immutable config snapshot. The daemon opens a MapSet at start (any error is fatal and every
// failing table is named) and opens a fresh one on reload, swapping a shared_ptr<const
// MapSet> only when the new one opened cleanly; sessions keep the set they started with.
// Immutable once opened; lookups are thread-safe. Edge (opens files through open_map.h).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "maps/map.h"

namespace estafeta::maps {

class MapSet;

struct MapSetOpenResult {
  std::shared_ptr<const MapSet> set;  ///< never null; holds the tables that did open
  std::vector<std::string> errors;    ///< one per table that could not be opened
  std::vector<std::string> warnings;  ///< malformed lines of tables that did open
  bool ok() const { return errors.empty(); }
};

class MapSet {
 public:
  MapSet();
  /// Opens each distinct spec once (duplicates share one table). A spec listed in
  /// `surrogates` that cannot be opened becomes a stand-in whose every lookup is a TempFail
  /// naming the reason (Postfix's surrogate table: the daemon runs and defers what needs the
  /// table); its failure is then a warning, not an error.
  static MapSetOpenResult open(const std::vector<std::string>& specs,
                               const OpenOptions& options = {},
                               const std::vector<std::string>& surrogates = {});

  /// The table for `spec` exactly as it was listed; nullptr when it is not in the set.
  const Map* find(std::string_view spec) const;
  /// As find(), but a spec that is not in the set gets a stand-in whose every lookup is a
  /// TempFail (a check made without opening tables, as the supervisor's, never turns a
  /// missing table into "not found").
  const Map& find_or_unavailable(std::string_view spec) const;

  /// Looks key up in `spec`; a spec that is not open is a TempFail (never NotFound).
  LookupResult lookup(std::string_view spec, std::string_view key) const;

  /// Tries each spec in order ("smtpd_access_maps = a, b"): first Found wins; a TempFail
  /// stops the search (Postfix: a table error is not a miss).
  LookupResult lookup_first(const std::vector<std::string>& specs, std::string_view key) const;

  size_t size() const { return maps_.size(); }

 private:
  std::map<std::string, std::unique_ptr<Map>, std::less<>> maps_;
  std::unique_ptr<Map> not_open_;  // the stand-in of find_or_unavailable
};

}  // namespace estafeta::maps
