// libFuzzer target: arbitrary server bytes into smtp::ReplyReader and parse_ehlo. Byte 0
// picks the fragment size and small limits (bit 7: line length 16, 4 lines). Invariants:
// the same replies (and error) at the chosen fragment size as all at once; every reply has
// a code 200..599, 1..max_lines lines, each within the line length and free of LF; an
// enhanced code is "c.x.y" whose class c is the code's first digit; parse_ehlo never
// fails and lists AUTH mechanisms once each, upper-cased.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/client_reply.h"

using namespace estafeta;
using namespace estafeta::smtp;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

std::vector<std::string> read(std::string_view input, size_t fragment, ReplyLimits limits) {
  ReplyReader reader(limits);
  std::vector<std::string> out;
  for (size_t pos = 0; pos < input.size(); pos += fragment) {
    reader.feed(input.substr(pos, fragment));
    while (true) {
      auto r = reader.next();
      if (!r.ok()) {
        out.push_back("E" + r.error().message);
        return out;
      }
      if (!r.value()) break;
      const ServerReply& s = *r.value();
      check(s.code >= 200 && s.code <= 599);
      check(!s.lines.empty() && s.lines.size() <= limits.max_lines);
      for (const std::string& l : s.lines) {
        check(l.empty() || l.size() + 4 <= limits.line_length);
        check(l.find('\n') == std::string::npos);  // a CR inside a line is text
      }
      if (!s.enhanced.empty()) {
        check(s.enhanced[0] == static_cast<char>('0' + s.code / 100));
        check(std::count(s.enhanced.begin(), s.enhanced.end(), '.') == 2);
        check(s.lines[0].compare(0, s.enhanced.size(), s.enhanced) == 0);
      }
      EhloCapabilities caps = parse_ehlo(s);
      for (const std::string& m : caps.auth_mechanisms) {
        check(!m.empty());
        check(std::count(caps.auth_mechanisms.begin(), caps.auth_mechanisms.end(), m) == 1);
        for (char c : m) check(!(c >= 'a' && c <= 'z'));
      }
      std::string text = s.text();
      check(text.size() >= 3 && text.compare(0, 3, std::to_string(s.code)) == 0);
      out.push_back(std::to_string(s.code) + "|" + s.enhanced + "|" + text);
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  ReplyLimits limits;
  if (data[0] & 128) limits = ReplyLimits{.line_length = 16, .max_lines = 4};
  const size_t fragment = 1 + (data[0] & 127) % 32;
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  check(read(input, fragment, limits) == read(input, input.size() + 1, limits));
  return 0;
}
