// Received: header construction (see received.h).
#include "smtp/received.h"

#include <fmt/format.h>

#include <array>
#include <chrono>
#include <string_view>

#include "smtp/reply.h"

namespace estafeta::smtp {
namespace {

// Header text must not carry CR, LF or other controls from the client (header injection).
std::string clean(std::string_view s) { return printable(s); }

}  // namespace

std::string rfc5322_date(int64_t time_us) {
  using namespace std::chrono;
  constexpr std::array<std::string_view, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                     "Thu", "Fri", "Sat"};
  constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr",
                                                        "May", "Jun", "Jul", "Aug",
                                                        "Sep", "Oct", "Nov", "Dec"};
  const sys_seconds t = floor<seconds>(sys_time<microseconds>(microseconds(time_us)));
  const sys_days day = floor<days>(t);
  const year_month_day ymd(day);
  const hh_mm_ss<seconds> hms(t - day);
  const weekday wd(day);
  return fmt::format("{}, {} {} {:04} {:02}:{:02}:{:02} +0000", kDays[wd.c_encoding()],
                     unsigned(ymd.day()), kMonths[unsigned(ymd.month()) - 1], int(ymd.year()),
                     hms.hours().count(), hms.minutes().count(), hms.seconds().count());
}

std::string received_header(const ReceivedInfo& info) {
  std::string out = "Received:";
  if (!info.client_address.empty()) {
    const std::string host = clean(info.client_hostname.empty() ? "unknown" : info.client_hostname);
    const std::string helo = info.helo.empty() ? host : clean(info.helo);
    // RFC 5321 §4.1.3: IPv6 literals carry the "IPv6:" tag (as Postfix writes them).
    const bool v6 = info.client_address.find(':') != std::string::npos;
    out += fmt::format(" from {} ({} [{}{}])\r\n\t", helo, host, v6 ? "IPv6:" : "",
                       clean(info.client_address));
  } else {
    out += ' ';
  }
  if (!info.tls_description.empty()) out += clean(info.tls_description) + "\r\n\t";
  if (!info.authenticated_sender.empty()) {
    out += fmt::format("(Authenticated sender: {})\r\n\t", clean(info.authenticated_sender));
  }
  out += fmt::format("by {} (Estafeta)", clean(info.by_hostname));
  if (!info.protocol.empty()) out += " with " + clean(info.protocol);
  if (!info.queue_id.empty()) out += " id " + clean(info.queue_id);
  if (!info.for_recipient.empty()) {
    out += fmt::format("\r\n\tfor <{}>; {}\r\n", clean(info.for_recipient),
                       rfc5322_date(info.time_us));
  } else {
    out += fmt::format(";\r\n\t{}\r\n", rfc5322_date(info.time_us));
  }
  return out;
}

}  // namespace estafeta::smtp
