// smtputf8_autodetect_classes: see smtputf8_autodetect.h.
#include "message/smtputf8_autodetect.h"

#include <algorithm>
#include <utility>

namespace estafeta::message {
namespace {

bool has_8bit(std::string_view text) {
  return std::any_of(text.begin(), text.end(),
                     [](char c) { return (static_cast<unsigned char>(c) & 0x80) != 0; });
}

}  // namespace

Smtputf8Autodetect Smtputf8Autodetect::parse(bool smtputf8_enable, std::string_view classes) {
  static constexpr std::pair<std::string_view, uint32_t> kNames[] = {
      {"sendmail", static_cast<uint32_t>(MailOrigin::kSendmail)},
      {"smtpd", static_cast<uint32_t>(MailOrigin::kSmtpd)},
      {"qmqpd", static_cast<uint32_t>(MailOrigin::kQmqpd)},
      {"forward", static_cast<uint32_t>(MailOrigin::kForward)},
      {"bounce", static_cast<uint32_t>(MailOrigin::kBounce)},
      {"notify", static_cast<uint32_t>(MailOrigin::kNotify)},
      {"verify", static_cast<uint32_t>(MailOrigin::kVerify)},
      {"all", ~0u},
  };
  Smtputf8Autodetect out;
  if (!smtputf8_enable) return out;
  size_t pos = 0;
  while (pos < classes.size()) {
    const size_t end = classes.find_first_of(", \t\r\n", pos);
    const std::string_view item =
        classes.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    for (const auto& [name, bits] : kNames) {
      if (item == name) out.mask_ |= bits;
    }
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return out;
}

bool Smtputf8Autodetect::requests_smtputf8(MailOrigin origin, const Envelope& envelope,
                                           std::string_view content) const {
  return applies_to(origin) && (has_8bit_address(envelope) || has_8bit_header(content));
}

bool has_8bit_address(const Envelope& envelope) {
  return has_8bit(envelope.sender) ||
         std::any_of(envelope.recipients.begin(), envelope.recipients.end(),
                     [](const Recipient& r) { return has_8bit(r.address); });
}

bool has_8bit_header(std::string_view content) {
  // The header section ends at the first empty line; a message may start with one.
  size_t end = content.size();
  if (content.starts_with("\n") || content.starts_with("\r\n")) return false;
  for (size_t at = content.find('\n'); at != std::string_view::npos;
       at = content.find('\n', at + 1)) {
    std::string_view rest = content.substr(at + 1);
    if (rest.starts_with("\n") || rest.starts_with("\r\n")) {
      end = at + 1;
      break;
    }
  }
  return has_8bit(content.substr(0, end));
}

}  // namespace estafeta::message
