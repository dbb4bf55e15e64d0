// libFuzzer target: take_request / take_reply / take_bounce_request / take_bounce_reply on
// arbitrary bytes must never crash or loop; whatever decodes must re-encode to a message that
// decodes to the same value (bounce messages: that re-encodes to the same bytes, since long
// texts are cut on encoding).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "qmgr/protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace estafeta::qmgr;
  const std::string input(reinterpret_cast<const char*>(data), size);
  for (int kind = 0; kind < 4; ++kind) {
    std::string buffer = input;
    for (int i = 0; i < 64; ++i) {
      const size_t before = buffer.size();
      if (kind == 0) {
        auto r = take_request(buffer);
        if (!r.ok() || !r->has_value()) break;
        std::string again = encode_request(**r);
        auto s = take_request(again);
        if (!s.ok() || !s->has_value() || **s != **r || !again.empty()) std::abort();
      } else if (kind == 2) {
        auto r = take_bounce_request(buffer);
        if (!r.ok() || !r->has_value()) break;
        const std::string once = encode_bounce_request(**r);
        std::string again = once;
        auto s = take_bounce_request(again);
        if (!s.ok() || !s->has_value() || !again.empty()) std::abort();
        if (encode_bounce_request(**s) != once) std::abort();
      } else if (kind == 3) {
        auto r = take_bounce_reply(buffer);
        if (!r.ok() || !r->has_value()) break;
        const std::string once = encode_bounce_reply(**r);
        std::string again = once;
        auto s = take_bounce_reply(again);
        if (!s.ok() || !s->has_value() || !again.empty()) std::abort();
        if (encode_bounce_reply(**s) != once) std::abort();
      } else {
        auto r = take_reply(buffer);
        if (!r.ok() || !r->has_value()) break;
        std::string again = encode_reply(**r);
        auto s = take_reply(again);
        if (!s.ok() || !s->has_value() || !again.empty()) std::abort();
        if ((**s).id != (**r).id || (**s).recipients.size() != (**r).recipients.size()) {
          std::abort();
        }
      }
      if (buffer.size() >= before) std::abort();  // a decoded message consumed bytes
    }
  }
  return 0;
}
