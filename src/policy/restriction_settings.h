// What the restriction evaluator (restriction_evaluator.h) needs from main.cf: every
// smtpd_*_restrictions list, smtpd_restriction_classes, smtpd_delay_reject, mynetworks and
// the reply codes and texts, with Postfix's defaults. make_restriction_settings() reads a
// config::Config (with a service's master.cf -o overrides applied) and refuses, as a
// start-up error, a list with an unknown or unsupported restriction or a missing argument,
// an undefined or empty restriction class, and relay and recipient lists that could relay
// to anywhere (Postfix: "specify at least one working instance of reject_unauth_destination,
// defer_unauth_destination, reject, defer or defer_if_permit"). Tables are named by their
// spec; table_specs() lists them so that the caller can open them. Pure.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/result.h"
#include "config/config.h"
#include "policy/address_list.h"
#include "policy/restriction_list.h"

namespace estafeta::policy {

/// Postfix's *_tempfail_action: what a reject-type restriction does when DNS cannot answer.
enum class TempfailAction { DeferIfPermit, Defer };

struct RestrictionCodes {
  int reject_code = 554;                         // reject
  int defer_code = 450;                          // defer
  int relay_domains_reject_code = 554;           // reject_unauth_destination (defer_: - 100)
  int access_map_reject_code = 554;              // access(5) REJECT
  int access_map_defer_code = 450;               // access(5) DEFER, DEFER_IF_*
  int maps_rbl_reject_code = 554;                // $rbl_code in default_rbl_reply
  int unknown_client_reject_code = 450;          // reject_unknown_(reverse_)client_hostname
  int invalid_hostname_reject_code = 501;        // reject_invalid_helo_hostname
  int non_fqdn_reject_code = 504;                // reject_non_fqdn_*
  int unknown_hostname_reject_code = 450;        // reject_unknown_helo_hostname
  int unknown_address_reject_code = 450;         // reject_unknown_{sender,recipient}_domain
  int multi_recipient_bounce_reject_code = 550;  // reject_multi_recipient_bounce
};

struct RestrictionSettings {
  RestrictionList client;                                       // smtpd_client_restrictions
  RestrictionList helo;                                         // smtpd_helo_restrictions
  RestrictionList sender;                                       // smtpd_sender_restrictions
  RestrictionList relay;                                        // smtpd_relay_restrictions
  RestrictionList recipient;                                    // smtpd_recipient_restrictions
  RestrictionList data;                                         // smtpd_data_restrictions
  RestrictionList end_of_data;                                  // smtpd_end_of_data_restrictions
  RestrictionList etrn;                                         // smtpd_etrn_restrictions
  std::map<std::string, RestrictionList, std::less<>> classes;  // smtpd_restriction_classes
  bool delay_reject = true;                                     // smtpd_delay_reject
  NetworkSet mynetworks;
  RestrictionCodes codes;
  TempfailAction unknown_address_tempfail_action = TempfailAction::DeferIfPermit;
  TempfailAction unknown_helo_hostname_tempfail_action = TempfailAction::DeferIfPermit;
  /// parent_domain_matches_subdomains lists smtpd_access_maps: "example.com" in an access
  /// table matches its subdomains (else only ".example.com" does).
  bool access_parent_matches_subdomains = true;
  std::string recipient_delimiter;            // recipient_delimiter
  std::string null_access_lookup_key = "<>";  // smtpd_null_access_lookup_key
  std::string default_rbl_reply =             // default_rbl_reply
      "$rbl_code Service unavailable; $rbl_class [$rbl_what] blocked using "
      "$rbl_domain${rbl_reason?; $rbl_reason}";
  std::vector<std::string> rbl_reply_maps;  // rbl_reply_maps, searched by DNS list zone
  /// smtpd_policy_service_default_action: the action when a policy service cannot answer.
  std::string policy_default_action = "451 4.3.5 Server configuration problem";
  bool reject_unlisted_sender = false;  // smtpd_reject_unlisted_sender
  /// permit_mx_backup (policy/dns_access.h): this machine's names and addresses, and
  /// permit_mx_backup_networks (unset: any domain that lists us as a backup MX host).
  std::string myhostname;                  // myhostname
  std::vector<std::string> own_addresses;  // inet_interfaces and proxy_interfaces (the caller's)
  bool mx_backup_networks_set = false;
  NetworkSet mx_backup_networks;  // permit_mx_backup_networks (the caller's: it may name tables)
  /// smtpd_sender_login_maps: sender address -> the SASL login names that own it, for the
  /// reject_*sender_login_mismatch restrictions; searched as one logical table.
  std::vector<std::string> sender_login_maps;

  /// Every "type:name" table the lists and classes name, rbl_reply_maps and
  /// smtpd_sender_login_maps; each once.
  std::vector<std::string> table_specs() const;
  /// Every check_policy_service endpoint the lists and classes name; each once.
  std::vector<std::string> policy_services() const;
  /// Whether a list or class names a restriction of `kind`.
  bool names(RestrictionKind kind) const;
};

/// The restriction lists and their parameters from `config`; `mynetworks` is the set the
/// caller built for mynetworks (its tables live with the caller). An Error names the
/// parameter and what is wrong with it.
Result<RestrictionSettings> make_restriction_settings(const config::Config& config,
                                                      NetworkSet mynetworks);

}  // namespace estafeta::policy
