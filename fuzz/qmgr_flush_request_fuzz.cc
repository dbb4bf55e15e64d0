// libFuzzer target: the queue manager's flush request datagram (qmgr/flush_request.h). A
// request that parses must encode back to an equal one.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "qmgr/flush_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto request = estafeta::qmgr::parse_flush_request(in);
  if (!request) return 0;
  auto wire = estafeta::qmgr::encode_flush_request(*request);
  if (!wire || estafeta::qmgr::parse_flush_request(*wire) != request) std::abort();
  return 0;
}
