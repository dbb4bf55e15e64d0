// Pregreet log texts (see pregreet.h).
#include "policy/pregreet.h"

#include <fmt/format.h>

namespace estafeta::policy {
namespace {

std::string seconds_text(std::chrono::milliseconds elapsed) {
  long long ms = elapsed.count() < 0 ? 0 : elapsed.count();
  return fmt::format("{}.{:02}", ms / 1000, (ms % 1000) / 10);
}

}  // namespace

std::string escape_for_log(std::string_view bytes) {
  std::string out;
  for (char c : bytes) {
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '\r':
        out += "\\r";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        if (u >= 0x20 && u < 0x7f) {
          out += c;
        } else {
          out += fmt::format("\\{:03o}", u);
        }
    }
  }
  return out;
}

std::string pregreet_log_line(std::string_view bytes, std::chrono::milliseconds elapsed,
                              std::string_view address, unsigned port) {
  std::string shown = escape_for_log(bytes);
  if (shown.size() > 100) shown.resize(100);
  return fmt::format("PREGREET {} after {} from [{}]:{}: {}", bytes.size(), seconds_text(elapsed),
                     address, port, shown);
}

std::string pregreet_hangup_log_line(std::chrono::milliseconds elapsed, std::string_view address,
                                     unsigned port) {
  return fmt::format("HANGUP after {} from [{}]:{} in smtpd_greet_pause", seconds_text(elapsed),
                     address, port);
}

}  // namespace estafeta::policy
