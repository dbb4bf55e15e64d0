// The message adapted to a server's extensions; see message_for_server.h.
#include "outbound/message_for_server.h"

#include <vector>

#include "message/smtputf8_autodetect.h"
#include "outbound/idn.h"
#include "smtp/header_encoder.h"
#include "smtp/mime_downgrade.h"

namespace estafeta::outbound {

const std::string* adapt_to_server(smtp::OutgoingMessage& message,
                                   const smtp::EhloCapabilities& caps, const std::string& content,
                                   std::optional<std::string>& seven_bit,
                                   std::optional<std::string>& seven_bit_body) {
  std::vector<std::string> recipients;
  for (const smtp::OutgoingRecipient& r : message.recipients) recipients.push_back(r.address);
  const Utf8Decision utf8 =
      decide_smtputf8(caps.smtputf8, message.smtputf8, message.sender, recipients);
  if (utf8.action == Utf8Action::kAsciiDomains) {
    message.sender = utf8.sender;
    for (size_t i = 0; i < recipients.size(); ++i) {
      message.recipients[i].address = utf8.recipients[i];
    }
  } else if (utf8.action == Utf8Action::kRefuse) {
    message.smtputf8 = true;
  }
  if (caps.eight_bit_mime) return &content;
  // RFC 6532: 8-bit header fields may go as they are only with SMTPUTF8 in use.
  const bool encode_headers = !(message.smtputf8 && caps.smtputf8);
  if (!message.eight_bit && !(encode_headers && message::has_8bit_header(content))) {
    return &content;
  }
  std::optional<std::string>& seven = encode_headers ? seven_bit : seven_bit_body;
  if (!seven) {
    std::string out = message.eight_bit ? smtp::downgrade_mime(content).content : content;
    if (encode_headers) {
      smtp::HeaderEncoding headers = smtp::encode_8bit_headers(out);
      if (headers.changed) out = std::move(headers.content);
    }
    seven = std::move(out);
  }
  message.size = seven->size();
  return &*seven;
}

}  // namespace estafeta::outbound
