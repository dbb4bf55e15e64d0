// The labels of cached SMTP connections. See connection_cache.h.
#include "outbound/connection_cache.h"

#include <fmt/format.h>

#include <cctype>

#include "outbound/tls_policy.h"

namespace estafeta::outbound {
namespace {

// Everything of the session a later request must share to use it. '|' separates the parts;
// a part never holds '|' unescaped (match patterns and cipher lists have no '|'; the SASL
// user, last in an endpoint label, is escaped).
std::string session_properties(const TlsPolicy& tls, bool tls_in_clear) {
  std::string out(tls_level_name(tls.effective_level));
  out += tls_in_clear ? "|clear|" : "|";
  for (const std::string& m : tls.match) out += m + ":";
  out += '|';
  for (int v = 0; v < kTlsVersionCount; ++v) {
    out += tls.protocols.allowed[static_cast<size_t>(v)] ? '1' : '0';
  }
  out += '|' + tls.cipher_list + '|' + tls.servername;
  return out;
}

std::string escaped(std::string_view sasl_user) {
  std::string out;
  for (char c : sasl_user) {
    if (c == '|' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

ConnectionLabels connection_cache_labels(std::string_view nexthop, std::string_view address,
                                         uint16_t port, const TlsPolicy& tls,
                                         std::string_view sasl_user, bool tls_in_clear) {
  const std::string props = session_properties(tls, tls_in_clear);
  std::string destination(nexthop);
  for (char& c : destination) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ConnectionLabels{fmt::format("{}|{}", destination, props),
                          fmt::format("[{}]:{}|{}|{}", address, port, props, escaped(sasl_user))};
}

}  // namespace estafeta::outbound
