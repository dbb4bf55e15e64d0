// Fuzz target: DRAC grants (policy/drac.h): the input as a client address (the ADDRESS of
// `estafeta drac add`, a grant file's name) and as a grant file's text. A key must be a
// canonical address (its own key again) with no '/' and no leading '.', so it is a safe
// file name; a parsed grant time must format back to the same number.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "policy/drac.h"

using namespace estafeta::policy;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto key = drac_address_key(input);
  if (key.ok()) {
    if (key->empty() || key->find('/') != std::string::npos || key->front() == '.') abort();
    auto again = drac_address_key(*key);
    if (!again.ok() || *again != *key) abort();
  }
  auto when = parse_drac_grant(input);
  if (when) {
    auto reparsed = parse_drac_grant(format_drac_grant(*when));
    if (!reparsed || *reparsed != *when) abort();
    (void)drac_grant_active(*when, DracTime{}, std::chrono::seconds(1800));
  }
  return 0;
}
