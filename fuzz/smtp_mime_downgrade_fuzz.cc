// libFuzzer target: arbitrary messages into smtp::downgrade_mime. Invariants: every output
// line is either a line of the input (headers, 7-bit lines, boundaries pass unchanged) or a
// new line that is 7-bit and at most 76 octets (encoded text, the fields it adds); an
// unchanged result is the input itself; the output has nothing left to convert (so no
// encoded line became a boundary that would change the structure); the quoted-printable
// encoder alone yields only 7-bit lines of at most 76 octets.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <unordered_set>

#include "smtp/mime_downgrade.h"

using namespace estafeta;

namespace {

template <typename F>
void for_each_line(std::string_view s, F&& f) {
  size_t pos = 0;
  while (pos < s.size()) {
    size_t lf = s.find('\n', pos);
    if (lf == std::string_view::npos) lf = s.size();
    std::string_view line = s.substr(pos, lf - pos);
    if (line.ends_with('\r')) line.remove_suffix(1);
    f(line);
    pos = lf + 1;
  }
}

bool new_line_ok(std::string_view line) {
  if (line.size() > 76) return false;
  for (char c : line) {
    if (static_cast<unsigned char>(c) > 127) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const smtp::MimeDowngrade d = smtp::downgrade_mime(input);
  if (!d.changed && d.content != input) std::abort();
  if (d.changed) {
    std::unordered_set<std::string_view> old_lines;
    for_each_line(input, [&](std::string_view line) { old_lines.insert(line); });
    for_each_line(d.content, [&](std::string_view line) {
      if (!old_lines.contains(line) && !new_line_ok(line)) std::abort();
    });
    const smtp::MimeDowngrade again = smtp::downgrade_mime(d.content);
    if (again.changed || again.content != d.content) std::abort();
  }
  for_each_line(smtp::encode_quoted_printable(input, "\n"), [](std::string_view line) {
    if (!new_line_ok(line)) std::abort();
  });
  return 0;
}
