// Fuzz target: the access(5)/virtual(5) search-order functions. Checks invariants: the
// first key is the input itself when non-empty, and no key is ever produced twice.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "maps/search_keys.h"

namespace {

void check(const std::vector<std::string>& keys) {
  std::set<std::string> seen;
  for (const std::string& k : keys) {
    if (!seen.insert(k).second) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string_view delims = size > 0 && data[0] == '-' ? "+-" : "+";
  using namespace estafeta::maps;
  for (bool flag : {false, true}) {
    check(access_address_keys(text, delims, flag));
    check(virtual_address_keys(text, delims, flag));
    check(access_domain_keys(text, flag));
    auto keys = access_address_keys(text, delims, flag);
    if (!text.empty() && (keys.empty() || keys.front() != text)) __builtin_trap();
  }
  check(access_client_address_keys(text));
  (void)split_localpart(text, delims);
  return 0;
}
