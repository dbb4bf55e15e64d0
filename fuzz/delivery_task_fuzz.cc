// libFuzzer target: the privileged spawner's decoders (delivery/delivery_task.h) on
// arbitrary bytes must never crash or loop; whatever decodes must re-encode to bytes that
// decode to the same value, validate_task() must accept or refuse it without crashing, and
// request_id_of() must name the id of every request that decodes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>

#include "delivery/delivery_task.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace estafeta::delivery;
  const std::string input(reinterpret_cast<const char*>(data), size);
  const std::optional<uint64_t> id = request_id_of(input);
  if (auto r = decode_request(input); r.ok()) {
    if (id != r->id) std::abort();
    (void)validate_task(r->task);
    (void)validate_task(r->task, TaskPolicy{{r->task.as.uid}, 100, "/var/mail"});
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
