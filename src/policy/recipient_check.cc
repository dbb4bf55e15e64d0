// The relay decision for one recipient (see recipient_check.h).
#include "policy/recipient_check.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/ascii.h"
#include "policy/mailbox_name.h"

namespace estafeta::policy {

std::pair<std::string_view, std::string_view> split_address(std::string_view address) {
  auto at = address.rfind('@');
  if (at == std::string_view::npos) return {address, {}};
  return {address.substr(0, at), address.substr(at + 1)};
}

namespace {

bool in_domain_list(const std::vector<std::string>& list, std::string_view domain) {
  return std::any_of(list.begin(), list.end(),
                     [&](const std::string& d) { return ascii::iequals(d, domain); });
}

}  // namespace

bool is_local_domain(const RecipientPolicy& policy, std::string_view domain) {
  return domain.empty() || in_domain_list(policy.local_domains, domain);
}

RecipientVerdict check_recipient(const RecipientPolicy& policy, std::string_view client_address,
                                 std::string_view recipient) {
  auto [local, domain] = split_address(recipient);
  if (is_local_domain(policy, domain)) {
    if (!mailbox_name(local)) {
      return {RecipientClass::Rejected,
              fmt::format("550 5.1.1 <{}>: Recipient address rejected: User unknown in local "
                          "recipient table",
                          recipient)};
    }
    return {RecipientClass::Local, {}};
  }
  if (policy.mynetworks.contains(client_address) ||
      in_domain_list(policy.relay_domains, domain)) {
    return {RecipientClass::Relay, {}};
  }
  return {RecipientClass::Rejected, fmt::format("554 5.7.1 <{}>: Relay access denied", recipient)};
}

}  // namespace estafeta::policy
