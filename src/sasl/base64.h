// RFC 4648 §4 base64 for SASL: SMTP AUTH carries every SASL message base64-encoded (RFC 4954
// §4), and Dovecot's auth protocol passes them on in the same form. Strict decoding, as a
// server must refuse what it cannot decode ("501 5.5.2 Cannot decode response"): only the
// alphabet, padding only at the end and only to a multiple of four, no white space. Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace estafeta::sasl {

/// `data` encoded with padding.
std::string base64_encode(std::string_view data);

/// The decoded bytes, or nullopt when `text` is not strict base64 ("" decodes to "").
std::optional<std::string> base64_decode(std::string_view text);

/// Whether base64_decode(text) would succeed, without building the result.
bool is_base64(std::string_view text);

}  // namespace estafeta::sasl
