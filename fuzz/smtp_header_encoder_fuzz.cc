// libFuzzer target: arbitrary header fields into smtp::encode_header_field (with a name
// picked by the first octet, so every field class is reached) and arbitrary messages into
// smtp::encode_8bit_headers. Invariants: the field keeps its name and ends with the line
// end; every line end is followed by whitespace and text (no empty line, no bare CR or LF:
// the header's structure cannot change); unstructured fields come out 7-bit; no field gains
// 8-bit octets; decoding the encoded-words gives back the original text (compared without
// whitespace, which folding and encoding may move); a message keeps its body.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "smtp/header_encoder.h"

using namespace estafeta;

namespace {

size_t count_8bit(std::string_view s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) > 127; }));
}

std::string without_space(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') out += c;
  }
  return out;
}

void check_field(std::string_view name, std::string_view value) {
  const std::string field = std::string(name) + ":" + std::string(value);
  const std::string out = smtp::encode_header_field(field, "\r\n");
  if (count_8bit(value) == 0 || name == "Received") {
    // Nothing to encode, or a structured field left as it is.
    if (out != field) std::abort();
    return;
  }
  if (!out.starts_with(field.substr(0, name.size() + 1))) std::abort();
  if (!out.ends_with("\r\n")) std::abort();
  for (size_t i = 0; i + 2 < out.size(); ++i) {
    const char c = out[i];
    if (c == '\n' || (c == '\r' && out[i + 1] != '\n')) std::abort();
    if (c == '\r') {
      // A fold: whitespace, then something else on the continuation line.
      if (out[i + 2] != ' ' && out[i + 2] != '\t') std::abort();
      const size_t text = out.find_first_not_of(" \t", i + 2);
      if (text == std::string::npos || out[text] == '\r') std::abort();
      ++i;
    }
  }
  if (count_8bit(out) > count_8bit(field)) std::abort();
  const bool text_field = name == "Subject" || name == "X-Anything";
  if (text_field && count_8bit(out) != 0) std::abort();
  if (text_field && value.find("=?") == std::string_view::npos &&
      without_space(smtp::decode_header_value(out)) != without_space(value)) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (!input.empty()) {
    static constexpr std::string_view kNames[] = {"Subject", "X-Anything", "From",
                                                  "To",      "Received",   "Reply-To"};
    const std::string_view name =
        kNames[static_cast<unsigned char>(input[0]) % (sizeof kNames / sizeof kNames[0])];
    check_field(name, input.substr(1));
  }
  const smtp::HeaderEncoding e = smtp::encode_8bit_headers(input);
  if (!e.changed && e.content != input) std::abort();
  if (e.changed) {
    if (count_8bit(e.content) > count_8bit(input)) std::abort();
    const size_t in_body = input.find("\n\n") != std::string_view::npos ||
                                   input.find("\n\r\n") != std::string_view::npos
                               ? std::min(input.find("\n\n"), input.find("\n\r\n"))
                               : std::string_view::npos;
    if (in_body != std::string_view::npos) {
      const size_t out_body = std::min(e.content.find("\n\n"), e.content.find("\n\r\n"));
      if (out_body == std::string::npos ||
          std::string_view(e.content).substr(out_body + 1) != input.substr(in_body + 1)) {
        std::abort();
      }
    }
  }
  return 0;
}
