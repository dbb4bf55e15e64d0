// Postfix's delay notation. See delay.h.
#include "log/delay.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdint>

namespace estafeta::log {

std::string format_delay(double seconds) {
  if (!(seconds > 0)) return "0";
  if (seconds >= 100) return fmt::format("{}", static_cast<int64_t>(std::llround(seconds)));
  std::string s = fmt::format("{:.2f}", seconds);
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

}  // namespace estafeta::log
