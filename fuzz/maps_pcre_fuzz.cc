// Fuzz target: the pcre: rule-file parser with PCRE2 (JIT), then lookups. The first line
// is the lookup key. Inputs are capped to keep pathological backtracking out of reach.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "maps/pcre_map.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t nl = text.find('\n');
  std::string_view key = nl == std::string_view::npos ? text : text.substr(0, nl);
  estafeta::maps::BuiltMap b = estafeta::maps::build_pcre_map(text, "fuzz");
  (void)b.map->lookup(key);
  return 0;
}
