// The client's host names from DNS, decided as Postfix's smtpd does at connect
// (smtpd_peername_lookup): reverse_client_name is the name the PTR lookup of the client's
// address gives, if it is a valid host name and not a numeric address; client_name is a PTR
// name whose forward lookup (A for an IPv4 client, AAAA for IPv6) lists the client's address
// ("forward-confirmed reverse DNS"). Either is "unknown" otherwise, with a status
// (smtp::NameStatus, which reject_unknown_client_hostname and
// reject_unknown_reverse_client_hostname read) that is TempFail when a lookup failed
// temporarily, else NotFound (Postfix's _PERM and _FORGED). Two steps, so that the edge
// (daemon/client_names.h) does the lookups in between:
//   ReverseNames r = reverse_names(ptr_answer);      // then look up each of r.names
//   ClientNames n = client_names(address, r, forward_answers);
// Pure: no I/O.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "outbound/dns_types.h"
#include "smtp/policy_facts.h"

namespace estafeta::policy {

/// At most this many PTR names of one address are verified (a reply may hold many).
inline constexpr size_t kMaxVerifiedNames = 5;

/// Why `name` cannot be a client host name, or nullopt if it can. As Postfix: a numeric
/// IPv4 or IPv6 address ("numeric hostname: 192.0.2.1"), or not a valid host name
/// (hostname_syntax.h: "valid_hostname: misplaced delimiter: a..b").
std::optional<std::string> hostname_problem(std::string_view name);

/// The first step: the PTR names worth a forward lookup.
struct ReverseNames {
  /// The valid PTR names, in the order of the reply, each once, at most kMaxVerifiedNames.
  /// The first is reverse_client_name.
  std::vector<std::string> names;
  /// Ok when `names` is not empty; TempFail when the PTR lookup failed temporarily;
  /// NotFound when there is no PTR record or none is a valid host name.
  smtp::NameStatus status = smtp::NameStatus::NotFound;
  /// For the log, as Postfix warns: "numeric hostname: 192.0.2.1", ...
  std::vector<std::string> warnings;
};

ReverseNames reverse_names(const outbound::DnsAnswer<std::string>& ptr);

/// Which address records confirm a name for this client: A for an IPv4 address, AAAA for
/// an IPv6 one.
outbound::Families forward_families(std::string_view client_address);

/// The decision.
struct ClientNames {
  std::string name = "unknown";  // client_name
  smtp::NameStatus name_status = smtp::NameStatus::NotFound;
  std::string reverse_name = "unknown";  // reverse_client_name
  smtp::NameStatus reverse_name_status = smtp::NameStatus::NotFound;
  /// For the log, as Postfix warns: "hostname NAME does not resolve to address ADDR[: why]".
  std::vector<std::string> warnings;
};

/// The second step. `forward[i]` is the answer of the forward lookup of `reverse.names[i]`
/// (forward_families); a missing one counts as a temporary failure. client_name is the
/// first name whose answer lists `client_address`; none: "unknown", TempFail if a lookup
/// of a name failed temporarily, else NotFound (Postfix's "forged").
ClientNames client_names(std::string_view client_address, const ReverseNames& reverse,
                         const std::vector<outbound::DnsAnswer<outbound::HostAddress>>& forward);

}  // namespace estafeta::policy
