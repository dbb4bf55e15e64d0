// Fuzz target: cidr: table parsing and lookups. The first line of the input is used as a
// lookup key, the rest as the table; every pattern that parses is also looked up.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "maps/cidr_map.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t nl = text.find('\n');
  std::string_view key = nl == std::string_view::npos ? text : text.substr(0, nl);
  estafeta::maps::BuiltMap b = estafeta::maps::build_cidr_map(text, "fuzz");
  (void)b.map->lookup(key);
  (void)b.map->lookup("10.1.2.3");
  (void)b.map->lookup("2001:db8::1");
  (void)estafeta::maps::parse_cidr_pattern(key);
  return 0;
}
