// Fuzz target: inline: and static: specs, and the inline rules of pcre:{...}/regexp:{...}
// (one rule per line, none with a line break, never more rules than bytes). Every element that
// parses must be found again (the later duplicate wins, so only the last value per folded key is
// checked).
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "base/ascii.h"
#include "maps/memory_map.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto elements = estafeta::maps::parse_inline_elements(text);
  auto m = estafeta::maps::build_inline_map(text, {});
  if (elements.ok() != m.ok()) __builtin_trap();
  if (elements.ok()) {
    std::map<std::string, std::string> last;
    for (const auto& e : *elements) last[estafeta::ascii::lower(e.key)] = e.value;
    for (const auto& [k, v] : last) {
      if ((*m)->lookup(k) != estafeta::maps::LookupResult::found(v)) __builtin_trap();
    }
  }
  (void)estafeta::maps::build_static_map(text);
  auto rules = estafeta::maps::inline_rules_text(text);
  if (rules.ok()) {
    if (rules->empty() || rules->back() != '\n' || rules->size() > text.size() + 1) {
      __builtin_trap();
    }
    if (rules->find("\n\n") != std::string::npos) __builtin_trap();  // no empty rule
  }
  return 0;
}
