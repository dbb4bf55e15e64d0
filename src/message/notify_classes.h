// notify_classes: which problems the mail system reports to the postmaster (Postfix's mail
// error classes, global/mail_error.c): bounce, 2bounce, data, delay, policy, protocol,
// resource, software. Parsed from the parameter's (validated) list into a set of flags; an
// unknown name is skipped (the config layer refuses it first). Pure, constexpr-cheap values.
#pragma once

#include <cstdint>
#include <string_view>

namespace estafeta::message {

enum class NotifyClass : uint32_t {
  kBounce = 1u << 0,    // a copy of each non-delivery notice (bounce_notice_recipient)
  k2Bounce = 1u << 1,   // a non-delivery notice that cannot be delivered (2bounce_...)
  kData = 1u << 2,      // smtpd transcripts: not implemented yet
  kDelay = 1u << 3,     // a copy of each delay warning (delay_notice_recipient)
  kPolicy = 1u << 4,    // smtpd transcripts: not implemented yet
  kProtocol = 1u << 5,  // smtpd transcripts: not implemented yet
  kResource = 1u << 6,  // mail deferred by a resource problem (error_notice_recipient)
  kSoftware = 1u << 7,  // mail deferred by a software error (error_notice_recipient)
};

class NotifyClasses {
 public:
  NotifyClasses() = default;
  /// "resource, software" -> those two; separators as in every Postfix list.
  static NotifyClasses parse(std::string_view list);

  bool has(NotifyClass c) const { return (mask_ & static_cast<uint32_t>(c)) != 0; }
  /// Postfix: "bounce" implies "2bounce" (bounce_notify_service.c, ANY_BOUNCE).
  bool reports_double_bounces() const {
    return has(NotifyClass::kBounce) || has(NotifyClass::k2Bounce);
  }

 private:
  uint32_t mask_ = 0;
};

}  // namespace estafeta::message
