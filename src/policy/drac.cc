// DRAC grants: keys, stored text and expiry (see drac.h).
#include "policy/drac.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <charconv>
#include <cstring>

namespace estafeta::policy {

Result<std::string> drac_address_key(std::string_view address) {
  if (address.empty() || address.size() >= INET6_ADDRSTRLEN) {
    return make_error(fmt::format("not a numeric IP address: \"{}\"", address));
  }
  const std::string text(address);
  char out[INET6_ADDRSTRLEN] = {};
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    inet_ntop(AF_INET, &v4, out, sizeof out);
    return std::string(out);
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_V4MAPPED(&v6)) {
      std::memcpy(&v4, &v6.s6_addr[12], 4);
      inet_ntop(AF_INET, &v4, out, sizeof out);
    } else {
      inet_ntop(AF_INET6, &v6, out, sizeof out);
    }
    return std::string(out);
  }
  return make_error(fmt::format("not a numeric IP address: \"{}\"", address));
}

std::string format_drac_grant(DracTime granted) {
  return fmt::format(
      "{}\n",
      std::chrono::duration_cast<std::chrono::seconds>(granted.time_since_epoch()).count());
}

std::optional<DracTime> parse_drac_grant(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  if (text.empty() || text.size() > 19) return std::nullopt;
  long long seconds = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  // Beyond 9e9 s (year 2255) the time point's nanoseconds would overflow.
  if (ec != std::errc() || end != text.data() + text.size() || seconds < 0 ||
      seconds > 9'000'000'000LL) {
    return std::nullopt;
  }
  return DracTime(std::chrono::seconds(seconds));
}

bool drac_grant_active(DracTime granted, DracTime now, std::chrono::seconds timeout) {
  if (granted > now) granted = now;
  return now - granted < timeout;
}

}  // namespace estafeta::policy
