// Postfix's words for the smtp agent's outcomes. See delivery_report.h.
#include "outbound/delivery_report.h"

#include <fmt/format.h>


namespace estafeta::outbound {

std::string relay_name(const Peer& peer) {
  if (peer.address.empty()) return "none";
  return fmt::format("{}[{}]:{}", peer.host.empty() ? peer.address : peer.host, peer.address,
                     peer.port);
}

std::string reply_status(int code, std::string_view enhanced) {
  const char klass = static_cast<char>('0' + code / 100);
  if (enhanced.size() >= 5 && enhanced[0] == klass && enhanced[1] == '.') {
    return std::string(enhanced);
  }
  if (klass == '2') return "2.0.0";
  if (klass == '5') return "5.0.0";
  return "4.0.0";
}

std::string remote_said(const Peer& peer, std::string_view reply_text,
                        std::string_view context) {
  return fmt::format("host {}[{}] said: {} ({})", peer.host.empty() ? peer.address : peer.host,
                     peer.address, reply_text, context);
}

std::string smtp_diagnostic(std::string_view reply_text) {
  return fmt::format("smtp; {}", reply_text);
}

}  // namespace estafeta::outbound
