// ContentEncoder: see content_encoder.h.
#include "smtp/content_encoder.h"

namespace estafeta::smtp {

std::string ContentEncoder::encode(std::string_view chunk) {
  octets_ += chunk.size();
  std::string out;
  out.reserve(chunk.size() + chunk.size() / 64 + 4);
  size_t i = 0;
  while (i < chunk.size()) {
    if (held_cr_) {
      held_cr_ = false;
      out += "\r\n";  // CRLF, or a bare CR taken as a line end
      line_start_ = true;
      if (chunk[i] == '\n') {
        ++i;
        continue;
      }
    }
    if (line_start_ && chunk[i] == '.') out += '.';  // RFC 5321 §4.5.2 transparency
    // Copy the run up to the next CR or LF in one piece.
    size_t end = chunk.find_first_of("\r\n", i);
    if (end == std::string_view::npos) end = chunk.size();
    if (end > i) {
      out.append(chunk.substr(i, end - i));
      line_start_ = false;
      i = end;
      continue;
    }
    if (chunk[i] == '\r') {
      held_cr_ = true;
    } else {
      out += "\r\n";
      line_start_ = true;
    }
    ++i;
  }
  return out;
}

std::string ContentEncoder::finish() {
  std::string out;
  if (held_cr_ || !line_start_) out += "\r\n";
  out += ".\r\n";
  *this = ContentEncoder();
  return out;
}

}  // namespace estafeta::smtp
