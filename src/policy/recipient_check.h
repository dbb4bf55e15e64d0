// Which RCPT TO addresses smtpd accepts: local domains (mydestination) get any well-formed
// local part; other domains only from mynetworks clients or to relay_domains (no open relay,
// ever). A table that cannot answer defers the recipient (4xx), never rejects or accepts it.
// Pure: the edge passes the facts. Later issues put access maps and AUTH in front.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "policy/address_list.h"

namespace estafeta::policy {

struct RecipientPolicy {
  DomainList local_domains;  // mydestination
  DomainList relay_domains;  // relay_domains (subdomains match, as Postfix's default)
  NetworkSet mynetworks;
  /// True when a decision may block on the network (pgsql:, redis: tables): the edge then
  /// decides off its event loop.
  bool has_remote_tables() const {
    return local_domains.has_remote_tables() || relay_domains.has_remote_tables() ||
           mynetworks.has_remote_tables();
  }
};

enum class RecipientClass { Local, Relay, Rejected, Deferred };

struct RecipientVerdict {
  RecipientClass kind = RecipientClass::Rejected;
  std::string reply;  // set when Rejected or Deferred: "554 5.7.1 <a@b>: Relay access denied"
};

/// Splits "local@domain" at the last '@' (RFC 5321 local parts may contain quoted '@').
/// A bare "postmaster" has an empty domain.
std::pair<std::string_view, std::string_view> split_address(std::string_view address);

RecipientVerdict check_recipient(const RecipientPolicy& policy, std::string_view client_address,
                                 std::string_view recipient);

}  // namespace estafeta::policy
