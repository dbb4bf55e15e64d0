// The next-hop parser: see next_hop.h.
#include "outbound/next_hop.h"

#include <fmt/format.h>

#include <charconv>

#include "base/ascii.h"

namespace estafeta::outbound {
namespace {

Result<uint16_t> parse_port(std::string_view text, std::string_view whole) {
  if (text == "smtp") return uint16_t{25};
  if (text == "submission") return uint16_t{587};
  if (text == "submissions" || text == "smtps") return uint16_t{465};
  unsigned value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc{} || end != text.data() + text.size() || value == 0 ||
      value > 65535) {
    return make_error(fmt::format("bad port in next hop \"{}\"", whole));
  }
  return static_cast<uint16_t>(value);
}

}  // namespace

Result<NextHop> parse_next_hop(std::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      return make_error(fmt::format("bad character in next hop \"{}\"", text));
    }
  }
  NextHop hop;
  std::string_view host;
  std::string_view rest;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return make_error(fmt::format("missing ']' in next hop \"{}\"", text));
    }
    host = text.substr(1, close - 1);
    rest = text.substr(close + 1);
    if (ascii::istarts_with(host, "ipv6:")) host.remove_prefix(5);
    hop.mx_lookup = false;
    if (!rest.empty() && rest.front() != ':') {
      return make_error(fmt::format("text after ']' in next hop \"{}\"", text));
    }
  } else {
    size_t colon = text.find(':');
    host = text.substr(0, colon);
    if (colon != std::string_view::npos) rest = text.substr(colon);
  }
  if (host.empty()) return make_error(fmt::format("empty host in next hop \"{}\"", text));
  if (host.find_first_of("[]") != std::string_view::npos ||
      (hop.mx_lookup && host.find(':') != std::string_view::npos)) {
    return make_error(fmt::format("bad host in next hop \"{}\"", text));
  }
  if (!rest.empty()) {
    auto port = parse_port(rest.substr(1), text);
    if (!port) return port.error();
    hop.port = *port;
  }
  hop.host = std::string(host);
  return hop;
}

}  // namespace estafeta::outbound
