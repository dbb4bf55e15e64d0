// The relay decision for one recipient (see recipient_check.h).
#include "policy/recipient_check.h"

#include <fmt/format.h>

#include "policy/mailbox_name.h"

namespace estafeta::policy {

std::pair<std::string_view, std::string_view> split_address(std::string_view address) {
  auto at = address.rfind('@');
  if (at == std::string_view::npos) return {address, {}};
  return {address.substr(0, at), address.substr(at + 1)};
}

RecipientVerdict check_recipient(const RecipientPolicy& policy, std::string_view client_address,
                                 std::string_view recipient) {
  auto deferred = [&] {
    return RecipientVerdict{
        RecipientClass::Deferred,
        fmt::format("451 4.3.0 <{}>: Temporary lookup failure", recipient)};
  };
  auto [local, domain] = split_address(recipient);
  Match is_local = domain.empty() ? Match::Yes : policy.local_domains.contains(domain);
  if (is_local == Match::TempFail) return deferred();
  if (is_local == Match::Yes) {
    if (!mailbox_name(local)) {
      return {RecipientClass::Rejected,
              fmt::format("550 5.1.1 <{}>: Recipient address rejected: User unknown in local "
                          "recipient table",
                          recipient)};
    }
    return {RecipientClass::Local, {}};
  }
  Match trusted = policy.mynetworks.contains(client_address);
  if (trusted == Match::Yes) return {RecipientClass::Relay, {}};
  Match relay = policy.relay_domains.contains(domain);
  if (relay == Match::Yes) return {RecipientClass::Relay, {}};
  if (trusted == Match::TempFail || relay == Match::TempFail) return deferred();
  return {RecipientClass::Rejected, fmt::format("554 5.7.1 <{}>: Relay access denied", recipient)};
}

}  // namespace estafeta::policy
