// recipient_delimiter splitting (see extension.h).
#include "address/extension.h"

#include "base/ascii.h"

namespace estafeta::address {
namespace {

constexpr std::string_view kOwnerPrefix = "owner-";
constexpr std::string_view kRequestSuffix = "-request";

// Names Postfix never splits, whatever the delimiter (double_bounce_sender's default).
bool is_reserved(std::string_view local_part) {
  return ascii::iequals(local_part, "postmaster") || ascii::iequals(local_part, "mailer-daemon") ||
         ascii::iequals(local_part, "double-bounce");
}

// owner-NAME and NAME-request are list administration addresses when '-' is a delimiter.
bool is_list_administration(std::string_view local_part) {
  if (ascii::istarts_with(local_part, kOwnerPrefix)) return true;
  return local_part.size() > kRequestSuffix.size() &&
         ascii::iequals(local_part.substr(local_part.size() - kRequestSuffix.size()),
                        kRequestSuffix);
}

}  // namespace

SplitLocalPart split_extension(std::string_view local_part, std::string_view delimiters) {
  const SplitLocalPart whole{local_part, {}, 0};
  if (delimiters.empty() || is_reserved(local_part)) return whole;
  if (delimiters.find('-') != std::string_view::npos && is_list_administration(local_part)) {
    return whole;
  }
  const size_t pos = local_part.find_first_of(delimiters);
  if (pos == std::string_view::npos || pos == 0) return whole;
  return SplitLocalPart{local_part.substr(0, pos), local_part.substr(pos + 1), local_part[pos]};
}

}  // namespace estafeta::address
