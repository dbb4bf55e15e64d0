// Received: field recognition for the hop count; see hop_count.h.
#include "checks/hop_count.h"

#include "base/ascii.h"

namespace estafeta::checks {

bool is_received_header(std::string_view logical_header) {
  constexpr std::string_view kName = "received";
  if (!ascii::istarts_with(logical_header, kName)) return false;
  std::string_view rest = logical_header.substr(kName.size());
  while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
  return !rest.empty() && rest.front() == ':';
}

}  // namespace estafeta::checks
