// Fuzz target: the aliases(5) source parser (logical lines, quoted names, value
// normalisation) and the target splitter. Checks that a normalised value is a fixed point,
// that every entry has a name and a value, and that no target is empty. Input: any bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "maps/alias_source.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  estafeta::maps::AliasSource s = estafeta::maps::parse_alias_source(text, "fuzz");
  for (const auto& e : s.entries) {
    if (e.name.empty() || e.value.empty() || e.line <= 0) __builtin_trap();
    auto again = estafeta::maps::parse_alias_line("x: " + e.value);
    if (!again || again->value != e.value) __builtin_trap();
    for (const std::string& t : estafeta::maps::split_alias_targets(e.value)) {
      if (t.empty()) __builtin_trap();
    }
  }
  return 0;
}
