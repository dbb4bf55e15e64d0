// The restriction engine's dispatch: what each restriction name does. The checks of a few
// lines (permit_mynetworks, reject_unknown_client_hostname, ...) are here; the others are
// named in the files of their kind (restriction_evaluator_internal.h lists them).
#include <fmt/format.h>

#include "base/ascii.h"
#include "policy/dns_access.h"
#include "policy/dnsbl.h"
#include "policy/hostname_syntax.h"
#include "policy/restriction_evaluator_internal.h"

namespace estafeta::policy {

detail::Status RestrictionEvaluator::Run::apply(const Restriction& r, RestrictionKind kind,
                                                const std::string& argument, std::string_view name,
                                                std::string_view klass,
                                                std::optional<RestrictionKind> default_access) {
  using K = RestrictionKind;
  const RestrictionCodes& codes = s.codes;
  switch (kind) {
    case K::Permit:
      return Status::Ok;
    case K::Reject:
      return reject(ErrorClass::Policy, codes.reject_code, "5.7.1",
                    rejected(name, klass, "Access denied"));
    case K::Defer:
      return reject(ErrorClass::Policy, codes.defer_code, "4.3.2",
                    rejected(name, klass, "Try again later"));
    case K::DeferIfPermit:
      return defer_if_permit(TempfailAction::DeferIfPermit, 450, "4.7.0",
                             rejected(name, klass, "defer_if_permit requested"));
    case K::DeferIfReject:
      defer_if_reject(450, "4.7.0", rejected(name, klass, "defer_if_reject requested"));
      return Status::Dunno;
    case K::WarnIfReject:
      return Status::Dunno;  // handled by generic()
    case K::Sleep:
      return slept(r.seconds) ? Status::Dunno : Status::Pending;
    case K::CheckPolicyService:
      return policy_service(argument, name, klass, default_access);
    case K::RejectUnauthPipelining:
      if (!f.unauth_pipelining) return Status::Dunno;
      return reject(ErrorClass::Protocol, 503, "5.5.0",
                    rejected(name, klass, "Improper use of SMTP command pipelining"));
    case K::RejectMultiRecipientBounce: {
      size_t limit = (stage == Stage::Rcpt || stage == Stage::Vrfy) ? 0 : 1;
      if (!f.sender || !f.sender->empty() || f.recipient_count <= limit) return Status::Dunno;
      return reject(ErrorClass::Policy, codes.multi_recipient_bounce_reject_code, "5.5.3",
                    rejected(name, klass, "Multi-recipient bounce"));
    }

    case K::PermitMynetworks: {
      Match m = s.mynetworks.contains(f.client_address);
      if (m == Match::TempFail) return dict_retry(name);
      return m == Match::Yes ? Status::Ok : Status::Dunno;
    }
    case K::PermitDracClient:
      return f.drac_client ? Status::Ok : Status::Dunno;
    case K::PermitSaslAuthenticated:
      return f.sasl_username.empty() ? Status::Dunno : Status::Ok;
    case K::RejectUnknownClientHostname:
      if (f.client_name_status == NameStatus::Ok) return Status::Dunno;
      return reject(
          ErrorClass::Policy,
          f.client_name_status == NameStatus::Permanent ? codes.unknown_client_reject_code : 450,
          "4.7.25",  // RFC 7372: reverse DNS validation failed (Postfix 3.1+)
          fmt::format("Client host rejected: cannot find your hostname, [{}]", f.client_address));
    case K::RejectUnknownReverseClientHostname:
      if (f.reverse_client_name_status == NameStatus::Ok) return Status::Dunno;
      return reject(ErrorClass::Policy,
                    f.reverse_client_name_status == NameStatus::Permanent
                        ? codes.unknown_client_reject_code
                        : 450,
                    "4.7.1",
                    fmt::format("Client host rejected: cannot find your reverse hostname, [{}]",
                                f.client_address));
    case K::CheckClientAccess:
      return access(argument, client_keys(f.client_name, f.client_address, parent_style()), namaddr,
                    kClient, default_access);
    case K::CheckClientHostnameAccess:
      return access(argument, host_name_keys(f.client_name, parent_style()), namaddr, kClient,
                    default_access);
    case K::CheckReverseClientHostnameAccess:
      return forbid_ok(
          r, f.reverse_client_name,
          access(argument, client_keys(f.reverse_client_name, f.client_address, parent_style()),
                 f.reverse_client_name, kReverseClient, default_access));
    case K::CheckClientAAccess:
    case K::CheckClientMxAccess:
    case K::CheckClientNsAccess:
    case K::CheckReverseClientHostnameAAccess:
    case K::CheckReverseClientHostnameMxAccess:
    case K::CheckReverseClientHostnameNsAccess:
    case K::CheckHeloAAccess:
    case K::CheckHeloMxAccess:
    case K::CheckHeloNsAccess:
    case K::CheckSenderAAccess:
    case K::CheckSenderMxAccess:
    case K::CheckSenderNsAccess:
    case K::CheckRecipientAAccess:
    case K::CheckRecipientMxAccess:
    case K::CheckRecipientNsAccess:
      return server_access(r, *server_access_kind(kind), argument, default_access);
    case K::RejectRblClient:
      return reject_rbl(r, argument, dnsbl_address_query(f.client_address, argument),
                        f.client_address, kClient);
    case K::PermitDnswlClient:
      return permit_dnswl(r, dnsbl_address_query(f.client_address, argument), f.client_address);
    case K::RejectRhsblClient:
      if (ascii::iequals(f.client_name, "unknown")) return Status::Dunno;
      return reject_rbl(r, argument, dnsbl_domain_query(f.client_name, argument), f.client_name,
                        kClient);
    case K::RejectRhsblReverseClient:
      if (ascii::iequals(f.reverse_client_name, "unknown")) return Status::Dunno;
      return reject_rbl(r, argument, dnsbl_domain_query(f.reverse_client_name, argument),
                        f.reverse_client_name, kReverseClient);
    case K::PermitRhswlClient:
      if (ascii::iequals(f.client_name, "unknown")) return Status::Dunno;
      return permit_dnswl(r, dnsbl_domain_query(f.client_name, argument), f.client_name);

    case K::CheckHeloAccess:
      if (!f.helo) return Status::Dunno;
      return access(argument, host_name_keys(*f.helo, parent_style()), *f.helo, kHelo,
                    default_access);
    case K::RejectInvalidHeloHostname:
      if (!f.helo) return Status::Dunno;
      if (f.helo->starts_with('[')) return invalid_literal(*f.helo);
      {
        std::string_view test = strip_trailing_dot(*f.helo);
        if (valid_hostname(test) || valid_host_address(test)) return Status::Dunno;
      }
      return reject(ErrorClass::Policy, codes.invalid_hostname_reject_code, "5.5.2",
                    rejected(*f.helo, kHelo, "Invalid name"));
    case K::RejectNonFqdnHeloHostname:
      if (!f.helo) return Status::Dunno;
      if (f.helo->starts_with('[')) return invalid_literal(*f.helo);
      {
        std::string_view test = strip_trailing_dot(*f.helo);
        if (valid_hostname(test) && test.find('.') != std::string_view::npos) {
          return Status::Dunno;
        }
      }
      return reject(ErrorClass::Policy, codes.non_fqdn_reject_code, "5.5.2",
                    rejected(*f.helo, kHelo, "need fully-qualified hostname"));
    case K::RejectUnknownHeloHostname: {
      if (!f.helo) return Status::Dunno;
      if (f.helo->starts_with('[')) return invalid_literal(*f.helo);
      HostStatus host = host_lookup(*f.helo);
      if (host == HostStatus::Pending) return Status::Pending;
      std::string text = rejected(*f.helo, kHelo, "Host not found");
      if (host == HostStatus::NotFound) {
        return reject(ErrorClass::Policy, codes.unknown_hostname_reject_code, "4.7.1", text);
      }
      if (host == HostStatus::TempFail) {
        return defer_if_permit(s.unknown_helo_hostname_tempfail_action, 450, "4.7.1",
                               std::move(text));
      }
      return Status::Dunno;  // found, or a null MX: the name exists
    }
    case K::RejectRhsblHelo:
      if (!f.helo) return Status::Dunno;
      return reject_rbl(r, argument, dnsbl_domain_query(*f.helo, argument), *f.helo, kHelo);

    case K::CheckSenderAccess:
      if (!f.sender) return Status::Dunno;
      if (f.sender->empty()) {
        return access(argument, null_address_keys(s.null_access_lookup_key), "", kSender,
                      default_access);
      }
      return access(argument, address_keys(*f.sender, f.sender_facts), *f.sender, kSender,
                    default_access);
    case K::RejectNonFqdnSender:
      if (!f.sender || f.sender->empty()) return Status::Dunno;
      return non_fqdn_address(*f.sender, kSender);
    case K::RejectUnknownSenderDomain:
      if (!f.sender || f.sender->empty()) return Status::Dunno;
      return unknown_address(*f.sender, f.sender_facts, kSender);
    case K::RejectUnlistedSender:
      if (!f.sender || f.sender->empty()) return Status::Dunno;
      return unlisted(*f.sender, f.sender_facts, kSender);
    case K::RejectRhsblSender:
      if (!f.sender || f.sender->empty()) return Status::Dunno;
      return reject_rbl(r, argument, dnsbl_domain_query(*f.sender, argument), *f.sender, kSender);
    case K::RejectSenderLoginMismatch:
    case K::RejectAuthenticatedSenderLoginMismatch:
    case K::RejectKnownSenderLoginMismatch:
    case K::RejectUnauthenticatedSenderLoginMismatch:
      if (!f.sender || f.sender->empty()) return Status::Dunno;
      return sender_login_mismatch(kind, *f.sender);

    case K::CheckRecipientAccess: {
      if (!recipient) return Status::Dunno;
      Status status = access(argument, address_keys(*recipient, f.recipient_facts), *recipient,
                             kRecipient, default_access);
      // Source-routed addresses are too suspicious for an OK (allow_untrusted_routing=no).
      if (status == Status::Ok && f.recipient_facts.routed) return Status::Dunno;
      return status;
    }
    case K::PermitAuthDestination:
      if (!recipient) return Status::Dunno;
      if (f.recipient_facts.authorized == Match::TempFail) return dict_retry(*recipient);
      return f.recipient_facts.authorized == Match::Yes ? Status::Ok : Status::Dunno;
    case K::PermitMxBackup:
      return permit_mx_backup();
    case K::RejectUnauthDestination:
    case K::DeferUnauthDestination: {
      if (!recipient) return Status::Dunno;
      if (f.recipient_facts.authorized == Match::TempFail) return dict_retry(*recipient);
      if (f.recipient_facts.authorized == Match::Yes) return Status::Dunno;
      bool defer = kind == K::DeferUnauthDestination;
      return reject(ErrorClass::Policy,
                    defer ? codes.relay_domains_reject_code - 100 : codes.relay_domains_reject_code,
                    defer ? "4.7.1" : "5.7.1",
                    fmt::format("<{}>: Relay access denied", *recipient));
    }
    case K::RejectNonFqdnRecipient:
      if (!recipient) return Status::Dunno;
      return non_fqdn_address(*recipient, kRecipient);
    case K::RejectUnknownRecipientDomain:
      if (!recipient) return Status::Dunno;
      return unknown_address(*recipient, f.recipient_facts, kRecipient);
    case K::RejectUnlistedRecipient:
      if (!recipient || recipient->empty()) return Status::Dunno;
      return unlisted(*recipient, f.recipient_facts, kRecipient);
    case K::RejectRhsblRecipient:
      if (!recipient) return Status::Dunno;
      return reject_rbl(r, argument, dnsbl_domain_query(*recipient, argument), *recipient,
                        kRecipient);

    case K::CheckEtrnAccess:
      if (!f.etrn_domain) return Status::Dunno;
      return access(argument, host_name_keys(*f.etrn_domain, parent_style()), *f.etrn_domain, kEtrn,
                    default_access);

    case K::ImplicitAccess:
      if (!default_access) {
        return server_error(fmt::format(
            "specify one of (check_client_access, check_reverse_client_hostname_access, "
            "check_helo_access, check_sender_access, check_recipient_access, "
            "check_etrn_access) before {} restriction \"{}\"",
            klass, argument));
      }
      return apply(r, *default_access, argument, name, klass, default_access);
    case K::Class: {
      auto it = s.classes.find(argument);
      if (it == s.classes.end()) {
        return server_error(fmt::format("unknown smtpd restriction: \"{}\"", argument));
      }
      return generic(it->second, name, klass, default_access);
    }
  }
  return Status::Dunno;
}

}  // namespace estafeta::policy
