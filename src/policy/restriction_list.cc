// Restriction list parsing; see restriction_list.h.
#include "policy/restriction_list.h"

#include <fmt/format.h>

#include <array>

#include "base/ascii.h"
#include "config/parameters.h"

namespace estafeta::policy {
namespace {

enum class Argument { None, Table, DnsList, PolicyService, Seconds };

struct Builtin {
  std::string_view name;
  RestrictionKind kind;
  Argument argument;
};

using K = RestrictionKind;
constexpr std::array kBuiltins = {
    Builtin{"permit", K::Permit, Argument::None},
    Builtin{"reject", K::Reject, Argument::None},
    Builtin{"defer", K::Defer, Argument::None},
    Builtin{"defer_if_permit", K::DeferIfPermit, Argument::None},
    Builtin{"defer_if_reject", K::DeferIfReject, Argument::None},
    Builtin{"warn_if_reject", K::WarnIfReject, Argument::None},
    Builtin{"sleep", K::Sleep, Argument::Seconds},
    Builtin{"check_policy_service", K::CheckPolicyService, Argument::PolicyService},
    Builtin{"reject_unauth_pipelining", K::RejectUnauthPipelining, Argument::None},
    Builtin{"reject_multi_recipient_bounce", K::RejectMultiRecipientBounce, Argument::None},
    Builtin{"permit_mynetworks", K::PermitMynetworks, Argument::None},
    Builtin{"permit_sasl_authenticated", K::PermitSaslAuthenticated, Argument::None},
    Builtin{"permit_drac_client", K::PermitDracClient, Argument::None},
    Builtin{"reject_unknown_client_hostname", K::RejectUnknownClientHostname, Argument::None},
    Builtin{"reject_unknown_client", K::RejectUnknownClientHostname, Argument::None},
    Builtin{"reject_unknown_reverse_client_hostname", K::RejectUnknownReverseClientHostname,
            Argument::None},
    Builtin{"check_client_access", K::CheckClientAccess, Argument::Table},
    Builtin{"check_client_hostname_access", K::CheckClientHostnameAccess, Argument::Table},
    Builtin{"check_reverse_client_hostname_access", K::CheckReverseClientHostnameAccess,
            Argument::Table},
    Builtin{"check_client_a_access", K::CheckClientAAccess, Argument::Table},
    Builtin{"check_client_mx_access", K::CheckClientMxAccess, Argument::Table},
    Builtin{"check_client_ns_access", K::CheckClientNsAccess, Argument::Table},
    Builtin{"check_reverse_client_hostname_a_access", K::CheckReverseClientHostnameAAccess,
            Argument::Table},
    Builtin{"check_reverse_client_hostname_mx_access", K::CheckReverseClientHostnameMxAccess,
            Argument::Table},
    Builtin{"check_reverse_client_hostname_ns_access", K::CheckReverseClientHostnameNsAccess,
            Argument::Table},
    Builtin{"reject_rbl_client", K::RejectRblClient, Argument::DnsList},
    Builtin{"reject_rbl", K::RejectRblClient, Argument::DnsList},
    Builtin{"permit_dnswl_client", K::PermitDnswlClient, Argument::DnsList},
    Builtin{"reject_rhsbl_client", K::RejectRhsblClient, Argument::DnsList},
    Builtin{"reject_rhsbl_reverse_client", K::RejectRhsblReverseClient, Argument::DnsList},
    Builtin{"permit_rhswl_client", K::PermitRhswlClient, Argument::DnsList},
    Builtin{"check_helo_access", K::CheckHeloAccess, Argument::Table},
    Builtin{"check_helo_a_access", K::CheckHeloAAccess, Argument::Table},
    Builtin{"check_helo_mx_access", K::CheckHeloMxAccess, Argument::Table},
    Builtin{"check_helo_ns_access", K::CheckHeloNsAccess, Argument::Table},
    Builtin{"reject_invalid_helo_hostname", K::RejectInvalidHeloHostname, Argument::None},
    Builtin{"reject_invalid_hostname", K::RejectInvalidHeloHostname, Argument::None},
    Builtin{"reject_non_fqdn_helo_hostname", K::RejectNonFqdnHeloHostname, Argument::None},
    Builtin{"reject_non_fqdn_hostname", K::RejectNonFqdnHeloHostname, Argument::None},
    Builtin{"reject_unknown_helo_hostname", K::RejectUnknownHeloHostname, Argument::None},
    Builtin{"reject_unknown_hostname", K::RejectUnknownHeloHostname, Argument::None},
    Builtin{"reject_rhsbl_helo", K::RejectRhsblHelo, Argument::DnsList},
    Builtin{"check_sender_access", K::CheckSenderAccess, Argument::Table},
    Builtin{"check_sender_a_access", K::CheckSenderAAccess, Argument::Table},
    Builtin{"check_sender_mx_access", K::CheckSenderMxAccess, Argument::Table},
    Builtin{"check_sender_ns_access", K::CheckSenderNsAccess, Argument::Table},
    Builtin{"reject_non_fqdn_sender", K::RejectNonFqdnSender, Argument::None},
    Builtin{"reject_unknown_sender_domain", K::RejectUnknownSenderDomain, Argument::None},
    Builtin{"reject_unknown_address", K::RejectUnknownSenderDomain, Argument::None},
    Builtin{"reject_unlisted_sender", K::RejectUnlistedSender, Argument::None},
    Builtin{"reject_rhsbl_sender", K::RejectRhsblSender, Argument::DnsList},
    Builtin{"reject_sender_login_mismatch", K::RejectSenderLoginMismatch, Argument::None},
    Builtin{"reject_authenticated_sender_login_mismatch", K::RejectAuthenticatedSenderLoginMismatch,
            Argument::None},
    Builtin{"reject_known_sender_login_mismatch", K::RejectKnownSenderLoginMismatch,
            Argument::None},
    Builtin{"reject_unauthenticated_sender_login_mismatch",
            K::RejectUnauthenticatedSenderLoginMismatch, Argument::None},
    Builtin{"check_recipient_access", K::CheckRecipientAccess, Argument::Table},
    Builtin{"check_recipient_a_access", K::CheckRecipientAAccess, Argument::Table},
    Builtin{"check_recipient_mx_access", K::CheckRecipientMxAccess, Argument::Table},
    Builtin{"check_recipient_ns_access", K::CheckRecipientNsAccess, Argument::Table},
    Builtin{"permit_auth_destination", K::PermitAuthDestination, Argument::None},
    Builtin{"permit_mx_backup", K::PermitMxBackup, Argument::None},
    Builtin{"reject_unauth_destination", K::RejectUnauthDestination, Argument::None},
    Builtin{"defer_unauth_destination", K::DeferUnauthDestination, Argument::None},
    Builtin{"reject_non_fqdn_recipient", K::RejectNonFqdnRecipient, Argument::None},
    Builtin{"reject_unknown_recipient_domain", K::RejectUnknownRecipientDomain, Argument::None},
    Builtin{"reject_unlisted_recipient", K::RejectUnlistedRecipient, Argument::None},
    Builtin{"check_recipient_maps", K::RejectUnlistedRecipient, Argument::None},
    Builtin{"reject_rhsbl_recipient", K::RejectRhsblRecipient, Argument::DnsList},
    Builtin{"check_etrn_access", K::CheckEtrnAccess, Argument::Table},
};

// Postfix restrictions Estafeta knows by name but does not implement: refused at start-up
// with a message that says so, rather than "unknown".
constexpr std::array<std::string_view, 13> kUnsupported = {
    "check_ccert_access",
    "check_sasl_access",
    "permit_inet_interfaces",
    "permit_tls_all_clientcerts",
    "permit_tls_clientcerts",
    "reject_plaintext_session",
    "permit_naked_ip_address",
    "reject_unverified_sender",
    "reject_unverified_recipient",
    "check_relay_domains",
    "permit_mydomain",
    "reject_maps_rbl",
    "check_address_map",
};

bool all_digits(std::string_view s) {
  if (s.empty() || s.size() > 9) return false;
  for (char c : s) {
    if (!ascii::is_digit(c)) return false;
  }
  return true;
}

}  // namespace

std::vector<std::string> restriction_words(std::string_view value) {
  // As Postfix's lists: separators inside {...} do not split ("inline:{ a=1, b=2 }").
  return config::split_list(value);
}

bool takes_table(RestrictionKind kind) {
  for (const Builtin& b : kBuiltins) {
    if (b.kind == kind) return b.argument == Argument::Table;
  }
  return kind == RestrictionKind::ImplicitAccess;
}

Result<RestrictionList> parse_restriction_list(
    std::string_view where, const std::vector<std::string>& words,
    const std::set<std::string, std::less<>>& class_names) {
  RestrictionList list;
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& word = words[i];
    // Postfix 3's "check_policy_service { inet:host:port, timeout=10s }" and the like:
    // braces are understood only inside a table spec ("inline:{ a=1 }").
    const bool braced = !word.empty() && word.front() == '{';
    const bool braced_argument = i + 1 < words.size() && !words[i + 1].empty() &&
                                 words[i + 1].front() == '{';
    if (braced || braced_argument) {
      return make_error(fmt::format(
          "{}: \"{}\": braces around a restriction or its argument are not supported by "
          "Estafeta (only inside a table, as in inline:{{ key=value }})",
          where, braced ? word : words[i + 1]));
    }
    const Builtin* builtin = nullptr;
    for (const Builtin& b : kBuiltins) {
      if (ascii::iequals(word, b.name)) {
        builtin = &b;
        break;
      }
    }
    Restriction r;
    r.name = word;
    if (builtin == nullptr) {
      if (class_names.count(word) != 0) {
        r.kind = RestrictionKind::Class;
        r.argument = word;
      } else if (word.find(':') != std::string::npos) {
        r.kind = RestrictionKind::ImplicitAccess;
        r.argument = word;
      } else {
        for (std::string_view name : kUnsupported) {
          if (ascii::iequals(word, name)) {
            return make_error(
                fmt::format("{}: restriction \"{}\" is not supported by Estafeta", where, word));
          }
        }
        return make_error(fmt::format("{}: unknown restriction \"{}\"", where, word));
      }
      list.push_back(std::move(r));
      continue;
    }
    r.kind = builtin->kind;
    if (builtin->argument == Argument::None) {
      list.push_back(std::move(r));
      continue;
    }
    if (i + 1 >= words.size()) {
      return make_error(fmt::format("{}: restriction \"{}\" needs an argument", where, word));
    }
    const std::string& argument = words[++i];
    switch (builtin->argument) {
      case Argument::None:
        break;
      case Argument::Table:
        if (argument.find(':') == std::string::npos) {
          return make_error(
              fmt::format("{}: restriction \"{}\": bad argument \"{}\": need maptype:mapname",
                          where, word, argument));
        }
        r.argument = argument;
        break;
      case Argument::PolicyService:
        if (argument.find(':') == std::string::npos) {
          return make_error(
              fmt::format("{}: restriction \"{}\" must be followed by transport:server, not \"{}\"",
                          where, word, argument));
        }
        r.argument = argument;
        break;
      case Argument::Seconds:
        if (!all_digits(argument)) {
          return make_error(
              fmt::format("{}: restriction \"{}\" must be followed by a number, not \"{}\"", where,
                          word, argument));
        }
        r.seconds = std::stoi(argument);
        break;
      case Argument::DnsList: {
        DnsblArgument split = split_dnsbl_argument(argument);
        if (split.zone.empty() || split.zone.find(':') != std::string::npos) {
          return make_error(
              fmt::format("{}: restriction \"{}\" requires a domain name argument, not \"{}\"",
                          where, word, argument));
        }
        r.argument = split.zone;
        if (argument.find('=') != std::string::npos) {
          auto filter = DnsblFilter::parse(split.filter);
          if (!filter.ok()) {
            return make_error(fmt::format("{}: restriction \"{} {}\": {}", where, word, argument,
                                          filter.error().message));
          }
          r.reply_filter = std::move(*filter);
        }
        break;
      }
    }
    list.push_back(std::move(r));
  }
  return list;
}

}  // namespace estafeta::policy
