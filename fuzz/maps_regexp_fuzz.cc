// Fuzz target: the regexp: rule-file parser with POSIX regcomp, then lookups. The first
// line is the lookup key. Inputs are capped: pathological POSIX patterns are slow, not bugs.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "maps/regexp_map.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t nl = text.find('\n');
  std::string_view key = nl == std::string_view::npos ? text : text.substr(0, nl);
  estafeta::maps::BuiltMap b = estafeta::maps::build_regexp_map(text, "fuzz");
  (void)b.map->lookup(key);
  (void)estafeta::maps::parse_result_template(key);
  return 0;
}
