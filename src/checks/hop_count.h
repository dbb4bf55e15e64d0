// Mail loop detection by hop count (Postfix hopcount_limit): the cleanup stage counts the
// Received: fields of the primary header section, the one our own smtpd or pickup put in
// front included, and refuses a message whose count reaches the limit. Postfix 3.7 behaves
// so (measured: with the default 50, a message arriving with 49 Received fields is refused
// at the end of DATA, one with 48 is accepted). Delivered-To: is not counted here: it is the
// local delivery agent's loop check. Pure.
#pragma once

#include <cstddef>
#include <string_view>

namespace estafeta::checks {

/// The reply Postfix's smtpd gives a message with too many hops.
inline constexpr std::string_view kTooManyHopsReply = "554 5.4.0 Error: too many hops";

/// True when `logical_header` (any form: folded or not, with or without whitespace before
/// the colon) is a Received: field. Case-insensitive.
bool is_received_header(std::string_view logical_header);

/// Counts Received: fields against hopcount_limit.
class HopCounter {
 public:
  static constexpr size_t kDefaultLimit = 50;  // Postfix hopcount_limit

  explicit HopCounter(size_t limit = kDefaultLimit) : limit_(limit) {}

  /// Feeds one header of the primary header section.
  void add_header(std::string_view logical_header) {
    if (is_received_header(logical_header)) ++count_;
  }
  size_t count() const { return count_; }
  /// True when the message is a mail loop: as many Received: fields as the limit, or more.
  bool exceeded() const { return count_ >= limit_; }

 private:
  size_t limit_;
  size_t count_ = 0;
};

}  // namespace estafeta::checks
