// smtputf8_autodetect_classes (Postfix >= 3.0): for mail from the listed origin classes, a
// message whose envelope sender, a recipient or a header value contains UTF-8 (any octet
// >= 128) gets the "SMTPUTF8 requested" flag, as if the client had said MAIL ... SMTPUTF8;
// the smtp agent then asks the next hop for SMTPUTF8 and bounces the message when the hop
// does not offer it (outbound/idn.h). Only when smtputf8_enable = yes. Origin classes:
// sendmail (local submission, pickup), smtpd, qmqpd, forward (local delivery's forwards),
// bounce (delivery status notices), notify (postmaster notices), verify (address
// verification probes), all. Estafeta has no QMQP server and no verify probes, so those two
// names are accepted and change nothing yet. Pure values.
#pragma once

#include <cstdint>
#include <string_view>

#include "message/envelope.h"

namespace estafeta::message {

enum class MailOrigin : uint32_t {
  kSendmail = 1u << 0,
  kSmtpd = 1u << 1,
  kQmqpd = 1u << 2,
  kForward = 1u << 3,
  kBounce = 1u << 4,
  kNotify = 1u << 5,
  kVerify = 1u << 6,
};

class Smtputf8Autodetect {
 public:
  /// Detects nothing.
  Smtputf8Autodetect() = default;
  /// smtputf8_enable and smtputf8_autodetect_classes ("sendmail, verify"; separators as in
  /// every Postfix list; an unknown name is skipped: the config layer refuses it first).
  static Smtputf8Autodetect parse(bool smtputf8_enable, std::string_view classes);

  /// Whether mail of this origin is examined.
  bool applies_to(MailOrigin origin) const { return (mask_ & static_cast<uint32_t>(origin)) != 0; }
  /// Whether a message of `origin` gets the SMTPUTF8 flag: the class is listed and the
  /// envelope's sender or a recipient, or the message's header section (`content` up to its
  /// first empty line; "" when only the envelope matters) has an octet >= 128. A message that
  /// already has the flag keeps it (the caller ORs).
  bool requests_smtputf8(MailOrigin origin, const Envelope& envelope,
                         std::string_view content = {}) const;

 private:
  uint32_t mask_ = 0;
};

/// An octet >= 128 in the envelope sender or a recipient address.
bool has_8bit_address(const Envelope& envelope);
/// An octet >= 128 in the header section of `content` (before its first empty line, LF or
/// CRLF line ends; all of it when it has none).
bool has_8bit_header(std::string_view content);

}  // namespace estafeta::message
