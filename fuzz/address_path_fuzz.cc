// libFuzzer target: RFC 5321 path parser. The first byte picks the options. Invariant: the
// canonical text of a parsed mailbox parses again to the same text (quoting round-trips).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "address/mailbox.h"

using namespace estafeta;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  address::ParseOptions options;
  options.smtputf8 = (data[0] & 1) != 0;
  options.allow_null = (data[0] & 2) != 0;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  Result<address::Path> r = address::parse_path(text, options);
  if (!r.ok()) {
    if (r.error().message.empty()) std::abort();
    return 0;
  }
  if (r->is_null) {
    if (!options.allow_null || !r->address().empty()) std::abort();
    return 0;
  }
  const std::string canonical = r->address();
  Result<address::Path> again = address::parse_path("<" + canonical + ">", options);
  if (!again.ok() || again->address() != canonical) std::abort();
  if (again->mailbox.local_part != r->mailbox.local_part) std::abort();
  return 0;
}
