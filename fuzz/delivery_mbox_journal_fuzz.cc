// libFuzzer target: the mbox dot-lock journal parser (delivery/mbox_journal.h) reads lock
// files any program may have written: it must never crash, and whatever parses must
// re-encode to the same bytes as the file's first line.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "delivery/mbox_journal.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace estafeta::delivery;
  const std::string input(reinterpret_cast<const char*>(data), size);
  if (auto j = parse_mbox_journal(input)) {
    if (encode_mbox_journal(*j) != input.substr(0, input.find('\n') + 1)) std::abort();
    (void)mbox_cut_back_size(*j, j->offset.value_or(0) + 1, true, false);
  }
  return 0;
}
