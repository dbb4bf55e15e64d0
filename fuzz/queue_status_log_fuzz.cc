// libFuzzer target: decode_status_log on arbitrary bytes must never crash; its valid prefix
// must decode to the same entries on its own; re-encoding the entries must give back that
// prefix byte for byte (one spelling per entry); and folding must accept anything.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "queue/status_log.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace estafeta;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  queue::StatusLog log = queue::decode_status_log(bytes);
  if (log.valid_length > bytes.size()) std::abort();
  queue::StatusLog prefix = queue::decode_status_log(bytes.substr(0, log.valid_length));
  if (prefix.entries != log.entries || !prefix.torn_reason.empty()) std::abort();
  std::string encoded;
  for (const auto& e : log.entries) encoded += queue::encode_status_entry(e);
  if (encoded != bytes.substr(0, log.valid_length)) std::abort();
  (void)queue::fold_status(log, size % 8);
  (void)queue::delay_warning_sent(log);
  return 0;
}
