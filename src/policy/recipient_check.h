// Which RCPT TO addresses smtpd accepts, decided as Postfix's smtpd does with its default
// restrictions: the address is put in canonical form and resolved (route/resolver.h); a local
// address, or one of a virtual alias, virtual mailbox or relay domain without sender-specified
// routing, is an authorized destination; any other needs a client in mynetworks (no open
// relay, ever: "454 4.7.1 Relay access denied", Postfix's defer_unauth_destination; the
// differential test tests/integration/test_resolver_vs_postfix.py holds us to Postfix's
// answers). Then, with smtpd_reject_unlisted_recipient, an
// address the tables of its class do not list is refused before DATA ("User unknown in local
// recipient table", and the virtual alias, virtual mailbox and relay variants), unless
// virtual_alias_maps rewrites it. A table that cannot answer defers the recipient (4xx),
// never rejects or accepts it. Pure: the edge passes the facts. Later issues put access maps
// and AUTH in front.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "maps/address_search.h"
#include "maps/map.h"
#include "policy/address_list.h"
#include "route/resolver.h"
#include "route/route_settings.h"

namespace estafeta::policy {

struct RecipientTables {
  /// Unset (Postfix: the parameter is empty): every address of the class is accepted.
  bool check = false;
  /// Searched with maps::find_address (virtual(5) order; pattern tables: the full address).
  maps::SearchTables tables;
  int reject_code = 550;  // unknown_*_reject_code
};

struct RecipientPolicy {
  route::RouteSettings route;
  NetworkSet mynetworks;
  bool reject_unlisted_recipient = true;  // smtpd_reject_unlisted_recipient
  RecipientTables local;                  // local_recipient_maps
  RecipientTables
      virtual_alias;  // virtual_alias_maps (the code: unknown_virtual_alias_reject_code)
  RecipientTables virtual_mailbox;  // virtual_mailbox_maps
  RecipientTables relay;            // relay_recipient_maps
  /// True when a decision may block on the network (pgsql:, redis: tables): the edge then
  /// decides off its event loop.
  bool has_remote_tables() const;
};

enum class RecipientClass { Local, Relay, Rejected, Deferred };

struct RecipientVerdict {
  RecipientClass kind = RecipientClass::Rejected;
  std::string reply;  // set when Rejected or Deferred: "454 4.7.1 <a@b>: Relay access denied"
  route::Resolution resolution;  // set when accepted
};

/// `authenticated`: the client passed SMTP AUTH; it may relay like a client of mynetworks
/// (Postfix's permit_sasl_authenticated in the default smtpd_relay_restrictions). Until the
/// restriction engine takes over relay decisions.
RecipientVerdict check_recipient(const RecipientPolicy& policy, std::string_view client_address,
                                 std::string_view recipient, bool authenticated = false);

/// The facts behind check_recipient, for the restriction engine (policy/restriction_evaluator.h):
/// the resolution, permit_auth_destination, and whether the tables of the address's class
/// list it (reject_unlisted_recipient), found whatever smtpd_reject_unlisted_recipient says.
struct RecipientExamination {
  bool temp_fail = false;          // the resolver's tables could not answer
  route::Resolution resolution;
  bool authorized = false;         // permit_auth_destination
  bool final_destination = false;  // local, virtual alias or virtual mailbox
  Match listed = Match::Yes;       // Yes also when the class has no table to check
  bool unusable_mailbox_name = false;  // no local table and no safe directory name: unknown
  int unlisted_code = 550;         // unknown_*_reject_code of the class
  std::string unlisted_table;      // "local recipient", "virtual mailbox", ...
};

RecipientExamination examine_recipient(const RecipientPolicy& policy, std::string_view recipient);

/// "550 5.1.1 <a@b>: Recipient address rejected: User unknown in <table> table".
std::string unknown_recipient_reply(std::string_view recipient, const RecipientExamination& e);
/// "451 4.3.0 <a@b>: Temporary lookup failure".
std::string recipient_deferral_reply(std::string_view recipient);

}  // namespace estafeta::policy
