// Fuzz target: the postmap source format (logical lines, key/value split, folding,
// duplicates) and texthash lookups of every key it produced. Input: any bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "maps/memory_map.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  estafeta::maps::SourceTable t = estafeta::maps::parse_source_table(text, "fuzz", {});
  estafeta::maps::BuiltMap b = estafeta::maps::build_texthash_map(text, "fuzz", {});
  for (const auto& e : t.entries) {
    if (!b.map->lookup(e.key).is_found()) __builtin_trap();
  }
  return 0;
}
