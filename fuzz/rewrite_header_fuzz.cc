// libFuzzer target: address header rewriting on arbitrary header values. Property: a rewrite
// that changes nothing returns the value byte for byte (only addr-spec bytes are ever
// replaced), and so does a whole Rewriter with no tables; a rewrite that renames every
// address keeps every byte outside the reported addr-spec ranges.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "message/header_addresses.h"
#include "rewrite/rewriter.h"

namespace {

const estafeta::rewrite::Rewriter& empty_rewriter() {
  static const estafeta::rewrite::Rewriter rewriter(estafeta::rewrite::RewriteSettings{},
                                                    estafeta::rewrite::RewriteTables{},
                                                    estafeta::rewrite::Context{});
  return rewriter;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using estafeta::message::header_address_spans;
  using estafeta::message::rewrite_header_addresses;
  std::string_view value(reinterpret_cast<const char*>(data), size);

  auto identity = [](std::string_view a) { return std::optional<std::string>(std::string(a)); };
  if (rewrite_header_addresses(value, identity) != value) std::abort();
  if (empty_rewriter().rewrite_header("To", value).value != value) std::abort();

  // Renaming every address to "x": the result is the value with each range replaced.
  auto spans = header_address_spans(value);
  std::string expected;
  size_t copied = 0;
  for (const auto& s : spans) {
    if (s.begin < copied || s.end <= s.begin || s.end > value.size()) std::abort();
    expected.append(value.substr(copied, s.begin - copied));
    expected.append(s.address == "x" ? value.substr(s.begin, s.end - s.begin) : "x");
    copied = s.end;
  }
  expected.append(value.substr(copied));
  auto rename = [](std::string_view) { return std::optional<std::string>("x"); };
  if (rewrite_header_addresses(value, rename) != expected) std::abort();
  return 0;
}
