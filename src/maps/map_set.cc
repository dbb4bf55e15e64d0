// MapSet; see map_set.h.
#include "maps/map_set.h"

#include <algorithm>

#include "maps/open_map.h"

namespace estafeta::maps {
namespace {

// Stands in for a table that could not be opened: every lookup is a temporary failure.
class UnavailableMap : public Map {
 public:
  explicit UnavailableMap(std::string reason) : reason_(std::move(reason)) {}
  LookupResult lookup(std::string_view) const override { return LookupResult::temp_fail(reason_); }

 private:
  std::string reason_;
};

}  // namespace

MapSetOpenResult MapSet::open(const std::vector<std::string>& specs, const OpenOptions& options,
                              const std::vector<std::string>& surrogates) {
  auto set = std::make_shared<MapSet>();
  MapSetOpenResult result;
  for (const std::string& spec : specs) {
    if (set->maps_.count(spec) != 0) continue;
    Result<OpenedMap> opened = open_map(spec, options);
    if (!opened.ok()) {
      std::string reason = "table " + spec + ": " + opened.error().message;
      if (std::find(surrogates.begin(), surrogates.end(), spec) == surrogates.end()) {
        result.errors.push_back(std::move(reason));
        continue;
      }
      result.warnings.push_back(reason + " (lookups fail until it can be opened)");
      set->maps_.emplace(spec, std::make_unique<UnavailableMap>(std::move(reason)));
      continue;
    }
    for (std::string& w : opened->warnings) result.warnings.push_back(std::move(w));
    set->maps_.emplace(spec, std::move(opened->map));
  }
  result.set = std::move(set);
  return result;
}

const Map& MapSet::find_or_unavailable(std::string_view spec) const {
  if (const Map* map = find(spec)) return *map;
  return *not_open_;
}

MapSet::MapSet() : not_open_(std::make_unique<UnavailableMap>("table is not open")) {}

const Map* MapSet::find(std::string_view spec) const {
  auto it = maps_.find(spec);
  return it == maps_.end() ? nullptr : it->second.get();
}

LookupResult MapSet::lookup(std::string_view spec, std::string_view key) const {
  const Map* map = find(spec);
  if (map == nullptr) {
    return LookupResult::temp_fail("table " + std::string(spec) + " is not open");
  }
  return map->lookup(key);
}

LookupResult MapSet::lookup_first(const std::vector<std::string>& specs,
                                  std::string_view key) const {
  for (const std::string& spec : specs) {
    LookupResult r = lookup(spec, key);
    if (r.status != LookupStatus::NotFound) return r;
  }
  return LookupResult::not_found();
}

}  // namespace estafeta::maps
