// Which RCPT TO addresses smtpd accepts: local domains (mydestination) get any well-formed
// local part; other domains only from mynetworks clients or to relay_domains (no open relay,
// ever). Pure: the edge passes the facts. Later issues put access maps and AUTH in front.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "policy/network.h"

namespace estafeta::policy {

struct RecipientPolicy {
  std::vector<std::string> local_domains;  // lower-case (mydestination)
  std::vector<std::string> relay_domains;  // lower-case (relay_domains)
  NetworkList mynetworks;
};

enum class RecipientClass { Local, Relay, Rejected };

struct RecipientVerdict {
  RecipientClass kind = RecipientClass::Rejected;
  std::string reply;  // set when Rejected: "554 5.7.1 <a@b>: Relay access denied"
};

/// Splits "local@domain" at the last '@' (RFC 5321 local parts may contain quoted '@').
/// A bare "postmaster" has an empty domain.
std::pair<std::string_view, std::string_view> split_address(std::string_view address);

bool is_local_domain(const RecipientPolicy& policy, std::string_view domain);

RecipientVerdict check_recipient(const RecipientPolicy& policy, std::string_view client_address,
                                 std::string_view recipient);

}  // namespace estafeta::policy
