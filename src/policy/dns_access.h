// The restrictions that judge a name by what the DNS says about it, for the restriction
// engine (restriction_evaluator.h), with Postfix's semantics (postconf(5)):
// - check_{client,reverse_client_hostname,helo,sender,recipient}_{a,mx,ns}_access: search an
//   access table for the IP addresses (a), the MX hosts (mx) or the name servers (ns) of a
//   name. An MX or NS host is searched by its name and parent domains (as check_helo_access
//   does), then by each of its addresses and their shorter prefixes (as check_client_access
//   does); hosts in MX preference order; the first key found decides (DUNNO included). A name
//   without MX records is its own MX host; a name without NS records takes its parent
//   domain's name servers. A DNS failure skips the check with a warning (as Postfix does: no
//   deferral). An address literal ([192.0.2.1]) is its own A and MX host and has no NS.
//   OK from these tables is refused by the engine ("not allowed for security reasons").
// - permit_mx_backup: permit when this machine is a backup MX host of the recipient's domain
//   (one of its MX hosts, but not one with the best preference), when the best MX hosts'
//   addresses all lie in permit_mx_backup_networks (when that is set). "This machine" is an
//   MX host named $myhostname or one with an address of inet_interfaces or proxy_interfaces.
//   A DNS failure turns a later rejection into a deferral (defer_if_reject).
// The code here decides; the engine asks the DNS and the tables through a DnsCheckContext
// (answers it does not have yet make the check Pending: the engine replays). Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/access_keys.h"
#include "policy/address_list.h"
#include "policy/restriction_evaluator.h"
#include "policy/restriction_list.h"

namespace estafeta::policy {

enum class SearchOutcome { Pending, NotFound, Found };

/// What a DNS-based check asks of the restriction engine.
class DnsCheckContext {
 public:
  virtual ~DnsCheckContext() = default;
  /// The answer to a query, or nullopt when it is not known yet (then the check is Pending).
  virtual std::optional<DnsAnswer> dns(const std::string& name, DnsType type) = 0;
  /// Searches the restriction's access table for `keys` in order up to the first key found
  /// (or failing); the engine applies what it finds.
  virtual SearchOutcome search(const std::vector<AccessKey>& keys) = 0;
  virtual void warning(std::string text) = 0;
  /// A temporary DNS failure: a later rejection in this stage becomes this 4xx deferral.
  virtual void defer_if_reject(int code, std::string_view dsn, std::string text) = 0;
};

/// Which records a check_*_{a,mx,ns}_access restriction asks for.
enum class ServerType { A, MX, NS };

/// Whose name a check_*_{a,mx,ns}_access restriction looks at.
enum class ServerSubject { Client, ReverseClient, Helo, Sender, Recipient };

struct ServerAccessKind {
  ServerType type = ServerType::A;
  ServerSubject subject = ServerSubject::Client;
};

/// The type and subject of a check_*_{a,mx,ns}_access restriction; nullopt for other kinds.
std::optional<ServerAccessKind> server_access_kind(RestrictionKind kind);

/// "A", "MX" or "NS".
std::string_view server_type_name(ServerType type);

/// Postfix's check_server_access: searches the table (through `context`) for the servers of
/// `domain` (a host name, a mail domain, or an address literal "[192.0.2.1]"). `reply_class`
/// and `reply_name` only word the warnings ("Sender address", "a@example.com").
SearchOutcome search_servers(DnsCheckContext& context, ServerType type, std::string_view domain,
                             ParentStyle style, std::string_view reply_class,
                             std::string_view reply_name);

/// What permit_mx_backup compares MX hosts with.
struct MxBackupSettings {
  std::string myhostname;
  std::vector<std::string> own_addresses;  ///< inet_interfaces and proxy_interfaces addresses
  const NetworkSet* networks = nullptr;    ///< permit_mx_backup_networks; nullptr: not set
};

enum class MxBackupOutcome { Pending, Permit, Dunno, TempFail /* the networks' table failed */ };

/// permit_mx_backup for a recipient `domain` that is not an authorized destination (the
/// caller permits those first, and refuses literals and source-routed addresses).
/// `reply_class` and `reply_name` word the deferral texts.
MxBackupOutcome mx_backup(DnsCheckContext& context, std::string_view domain,
                          const MxBackupSettings& settings, std::string_view reply_class,
                          std::string_view reply_name);

}  // namespace estafeta::policy
