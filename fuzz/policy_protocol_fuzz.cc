// libFuzzer target: arbitrary policy server bytes into policy::ResponseParser, and the same
// bytes as attributes into encode_request. Byte 0 picks the fragment size and small limits
// (bit 7: line length 16, 3 attributes). Invariants: the parser reads a stream of
// responses the same way at the chosen fragment size as all at once; it stops consuming
// exactly when it is Done or Failed; an action is non-empty, within the line length and
// free of LF, CR and NUL; parse_policy_endpoint never crashes. Encoding: a request built
// from arbitrary names and values is refused only for a bad name and otherwise has one line
// per attribute (each with a '=') and ends with the single empty line.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "policy/policy_endpoint.h"
#include "policy/policy_protocol.h"

using namespace estafeta;
using namespace estafeta::policy;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

// Parses successive responses out of `input`, `fragment` octets at a time.
std::vector<std::string> read(std::string_view input, size_t fragment, ResponseLimits limits) {
  std::vector<std::string> out;
  ResponseParser parser(limits);
  size_t pos = 0;
  while (pos < input.size()) {
    const std::string_view piece = input.substr(pos, fragment);
    const size_t used = parser.feed(piece);
    check(used <= piece.size());
    pos += used;
    if (parser.state() == ResponseParser::State::NeedMore) {
      check(used == piece.size());
      continue;
    }
    auto result = parser.result();
    if (!result.ok()) {
      check(parser.state() == ResponseParser::State::Failed);
      check(parser.feed(input.substr(pos)) == 0);
      out.push_back("E" + result.error().message);
      return out;
    }
    const std::string& action = result->action;
    check(!action.empty() && action.size() + 7 <= limits.line_length);
    check(action.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos);
    out.push_back("A" + action);
    parser = ResponseParser(limits);
  }
  return out;
}

void fuzz_encoder(std::string_view input) {
  // Attributes from '\x01'-separated names and values.
  PolicyAttributes attributes;
  size_t start = 0;
  bool name = true;
  PolicyAttribute current;
  for (size_t i = 0; i <= input.size(); ++i) {
    if (i < input.size() && input[i] != '\x01') continue;
    std::string part(input.substr(start, i - start));
    start = i + 1;
    if (name) {
      current.name = std::move(part);
    } else {
      current.value = std::move(part);
      attributes.push_back(std::move(current));
      current = {};
    }
    name = !name;
  }
  bool bad_name = false;
  for (const auto& a : attributes) {
    bad_name = bad_name || a.name.empty() ||
               a.name.find_first_of(std::string_view("=\r\n\0", 4)) != std::string::npos;
  }
  auto encoded = encode_request(attributes);
  check(encoded.ok() != bad_name);
  if (!encoded.ok()) return;
  const std::string& text = *encoded;
  check(text.size() >= 1 && text.back() == '\n');
  check(std::count(text.begin(), text.end(), '\n') == static_cast<long>(attributes.size()) + 1);
  check(text.find('\r') == std::string::npos && text.find('\0') == std::string::npos);
  check(text.find("\n\n") == text.size() - 2 || (attributes.empty() && text == "\n"));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t fragment = 1 + (data[0] & 0x0f);
  ResponseLimits limits;
  if (data[0] & 0x80) {
    limits.line_length = 16;
    limits.max_attributes = 3;
  }
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  check(read(input, fragment, limits) == read(input, input.size() + 1, limits));
  fuzz_encoder(input);
  (void)parse_policy_endpoint(input, "/var/spool/estafeta");
  return 0;
}
