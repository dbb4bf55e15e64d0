// libFuzzer target: the privileged spawner's decoders (delivery/delivery_task.h) on
// arbitrary bytes must never crash or loop; whatever decodes must re-encode to bytes that
// decode to the same value, and validate_task() must accept or refuse it without crashing.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "delivery/delivery_task.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace estafeta::delivery;
  const std::string input(reinterpret_cast<const char*>(data), size);
  if (auto r = decode_request(input); r.ok()) {
    (void)validate_task(r->task);
    auto again = decode_request(encode_request(*r));
    if (!again.ok() || !(*again == *r)) std::abort();
  }
  if (auto r = decode_reply(input); r.ok()) {
    auto again = decode_reply(encode_reply(*r));
    if (!again.ok() || !(*again == *r)) std::abort();
  }
  if (auto r = decode_result(input); r.ok()) {
    auto again = decode_result(encode_result(*r));
    if (!again.ok() || !(*again == *r)) std::abort();
  }
  return 0;
}
