// The message as one server can take it, decided after its EHLO (adapt_to_server): the
// envelope in A-labels or refused for want of SMTPUTF8 (outbound/idn.h), the content in
// 7 bit for want of 8BITMIME (smtp/mime_downgrade.h, smtp/header_encoder.h). Pure.
#pragma once

#include <optional>
#include <string>

#include "smtp/client_session.h"

namespace estafeta::outbound {

/// The message as this server can take it, after its EHLO: with SMTPUTF8 not offered, the
/// envelope domains in A-labels when only they are non-ASCII, or the SMTPUTF8 flag set so
/// the session refuses the message (5.6.7; outbound/idn.h); with 8BITMIME not offered, an
/// 8-bit message's content downgraded to 7 bit (smtp/mime_downgrade.h; BODY= is then not
/// sent) and, unless SMTPUTF8 is in use, 8-bit header text as RFC 2047 encoded-words
/// (smtp/header_encoder.h; whatever the message's BODY=). Returns the content to send.
/// `seven_bit` and `seven_bit_body` keep the converted forms for the request's other
/// servers.
const std::string* adapt_to_server(smtp::OutgoingMessage& message,
                                   const smtp::EhloCapabilities& caps, const std::string& content,
                                   std::optional<std::string>& seven_bit,
                                   std::optional<std::string>& seven_bit_body);

}  // namespace estafeta::outbound
