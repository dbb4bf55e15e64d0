// UTF-8 well-formedness for SMTPUTF8 (RFC 6531) addresses and parameters.
// Contract: pure, no allocation; "valid" means RFC 3629 UTF-8: no overlong forms, no
// surrogates, nothing above U+10FFFF. ASCII control bytes are valid UTF-8; callers that must
// refuse them check separately.
#pragma once

#include <string_view>

namespace estafeta::address {

/// True if `s` is well-formed UTF-8 (RFC 3629).
bool valid_utf8(std::string_view s);

/// True if `s` holds a byte >= 0x80.
bool has_non_ascii(std::string_view s);

}  // namespace estafeta::address
