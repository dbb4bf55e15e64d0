// Address extensions (Postfix recipient_delimiter): "user+ext" is "user" with the extension
// "ext". Postfix 3.x rules: `delimiters` may hold several characters, the first of them found
// in the local part splits it; reserved names are never split (postmaster, mailer-daemon,
// double-bounce); with '-' among the delimiters "owner-NAME" and "NAME-request" are not split
// (owner_request_special = yes, Postfix's default); a local part that starts with a delimiter
// is not split (the user would be empty). A delimiter that ends the local part splits it with
// an empty extension ("user+" is "user" plus ""). Pure.
#pragma once

#include <string_view>

namespace estafeta::address {

struct SplitLocalPart {
  std::string_view user;       ///< the whole local part when there is no extension
  std::string_view extension;  ///< without the delimiter; may be empty even when split
  char delimiter = 0;          ///< the delimiter found; 0: no extension
};

/// Splits `local_part` (no '@domain') at the first of `delimiters`; see the file comment.
/// The views point into `local_part`. Empty `delimiters`: never split.
SplitLocalPart split_extension(std::string_view local_part, std::string_view delimiters);

}  // namespace estafeta::address
