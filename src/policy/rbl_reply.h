// The reply template of a DNS list rejection (default_rbl_reply, rbl_reply_maps):
// "$rbl_code Service unavailable; $rbl_class [$rbl_what] blocked using
// $rbl_domain${rbl_reason?; $rbl_reason}". One level of $name, ${name}, ${name?text} (text
// when name is not empty) and ${name:text} (text when it is) substitution, "$$" for '$', as
// Postfix's mac_expand; a substituted value keeps only the characters of
// smtpd_expansion_filter's default (printable ASCII, space and tab); others become '_'. Pure.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace estafeta::policy {

/// The value of an attribute, or nullopt for an unknown name (an Error of expand()).
using TemplateLookup = std::function<std::optional<std::string>(std::string_view name)>;

/// Expands `text`; an Error for an unknown attribute or a malformed ${...}.
Result<std::string> expand_reply_template(std::string_view text, const TemplateLookup& lookup);

}  // namespace estafeta::policy
