// mbox formatting. See mbox_format.h.
#include "delivery/mbox_format.h"

#include <fmt/format.h>

namespace estafeta::delivery {

std::string mbox_from_line(std::string_view sender, const std::tm& when) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const int wday = when.tm_wday >= 0 && when.tm_wday < 7 ? when.tm_wday : 0;
  const int mon = when.tm_mon >= 0 && when.tm_mon < 12 ? when.tm_mon : 0;
  // asctime(3): "%.3s %.3s%3d %.2d:%.2d:%.2d %d\n".
  return fmt::format("From {} {} {}{:3} {:02}:{:02}:{:02} {}\n",
                     sender.empty() ? std::string_view("MAILER-DAEMON") : sender, kDays[wday],
                     kMonths[mon], when.tm_mday, when.tm_hour, when.tm_min, when.tm_sec,
                     when.tm_year + 1900);
}

void append_mbox_body(std::string& out, std::string_view message) {
  out.reserve(out.size() + message.size() + 64);
  size_t i = 0;
  while (i < message.size()) {
    size_t nl = message.find('\n', i);
    size_t end = nl == std::string_view::npos ? message.size() : nl + 1;
    std::string_view line = message.substr(i, end - i);
    if (line.starts_with("From ")) out += '>';
    out.append(line);
    i = end;
  }
  if (!message.empty() && message.back() != '\n') out += '\n';
  out += '\n';
}

}  // namespace estafeta::delivery
