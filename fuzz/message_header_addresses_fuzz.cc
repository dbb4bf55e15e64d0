// libFuzzer target: header_addresses on arbitrary header values (To/Cc/Bcc of a message a
// local user submits with sendmail -t) must never crash, and no address it returns is empty.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "message/header_addresses.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view value(reinterpret_cast<const char*>(data), size);
  for (const auto& address : estafeta::message::header_addresses(value)) {
    if (address.empty()) std::abort();
  }
  return 0;
}
