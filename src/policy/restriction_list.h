// A restriction list (smtpd_client_restrictions, smtpd_recipient_restrictions, a restriction
// class, the restriction words of an access table value) parsed into typed restrictions.
// Words are separated by commas and whitespace; names are case-insensitive, as in Postfix;
// restrictions that take an argument take the next word ("check_client_access hash:/x",
// "reject_rbl_client zen.example=127.0.0.[2..11]", "check_policy_service inet:127.0.0.1:10023",
// "sleep 1"); a bare "type:table" word is the list's default access check
// (check_client_access in smtpd_client_restrictions, ...). Built-in names win over class
// names. An unknown name, a restriction Estafeta does not support, a missing or malformed
// argument is an Error naming the list and the word (a start-up error). Tables and policy
// services are kept as their spec strings: the caller opens them. Pure.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "policy/dnsbl.h"

namespace estafeta::policy {

enum class RestrictionKind {
  // Generic.
  Permit,
  Reject,
  Defer,
  DeferIfPermit,
  DeferIfReject,
  WarnIfReject,
  Sleep,
  CheckPolicyService,
  RejectUnauthPipelining,
  RejectMultiRecipientBounce,
  // Client.
  PermitMynetworks,
  PermitSaslAuthenticated,
  PermitDracClient,  // Estafeta addition: DRAC (POP-before-SMTP), docs/drac.md
  RejectUnknownClientHostname,
  RejectUnknownReverseClientHostname,
  CheckClientAccess,
  CheckClientHostnameAccess,  // Estafeta addition: the client name half of check_client_access
  CheckReverseClientHostnameAccess,
  CheckClientAAccess,  // the *_{a,mx,ns}_access checks: policy/dns_access.h
  CheckClientMxAccess,
  CheckClientNsAccess,
  CheckReverseClientHostnameAAccess,
  CheckReverseClientHostnameMxAccess,
  CheckReverseClientHostnameNsAccess,
  RejectRblClient,
  PermitDnswlClient,
  RejectRhsblClient,
  RejectRhsblReverseClient,
  PermitRhswlClient,
  // HELO.
  CheckHeloAccess,
  CheckHeloAAccess,
  CheckHeloMxAccess,
  CheckHeloNsAccess,
  RejectInvalidHeloHostname,
  RejectNonFqdnHeloHostname,
  RejectUnknownHeloHostname,
  RejectRhsblHelo,
  // Sender.
  CheckSenderAccess,
  CheckSenderAAccess,
  CheckSenderMxAccess,
  CheckSenderNsAccess,
  RejectNonFqdnSender,
  RejectUnknownSenderDomain,
  RejectUnlistedSender,
  RejectRhsblSender,
  RejectSenderLoginMismatch,                 // authenticated and unauthenticated checks
  RejectAuthenticatedSenderLoginMismatch,    // logged in: the address must be owned by the user
  RejectKnownSenderLoginMismatch,            // as above, but an address without owner passes
  RejectUnauthenticatedSenderLoginMismatch,  // not logged in: the address must have no owner
  // Recipient.
  CheckRecipientAccess,
  CheckRecipientAAccess,
  CheckRecipientMxAccess,
  CheckRecipientNsAccess,
  PermitAuthDestination,
  PermitMxBackup,
  RejectUnauthDestination,
  DeferUnauthDestination,
  RejectNonFqdnRecipient,
  RejectUnknownRecipientDomain,
  RejectUnlistedRecipient,
  RejectRhsblRecipient,
  // ETRN.
  CheckEtrnAccess,
  // A bare "type:table": the default access check of the list it is evaluated in.
  ImplicitAccess,
  // A name from smtpd_restriction_classes.
  Class,
};

struct Restriction {
  RestrictionKind kind = RestrictionKind::Permit;
  std::string name;          ///< the word as written ("check_client_access", "my_class", a table)
  std::string argument;      ///< table spec, DNS list zone, policy service endpoint or class name
  DnsblFilter reply_filter;  ///< DNS list restrictions: the "=..." part (empty: any reply)
  int seconds = 0;           ///< sleep
};
using RestrictionList = std::vector<Restriction>;

/// The words of a list value, split at commas and whitespace outside braces (a table
/// spec "inline:{ a=1, b=2 }" is one word).
std::vector<std::string> restriction_words(std::string_view value);

/// Parses `words`; `where` names the list in errors ("smtpd_client_restrictions",
/// "restriction class my_class", "access table hash:/x"). `class_names` are the
/// smtpd_restriction_classes names.
Result<RestrictionList> parse_restriction_list(
    std::string_view where, const std::vector<std::string>& words,
    const std::set<std::string, std::less<>>& class_names);

/// True for the restrictions that take a table argument.
bool takes_table(RestrictionKind kind);

}  // namespace estafeta::policy
