// The restriction engine's inside, shared by its files (not for other modules): one Run
// evaluates the stage from the start with the answers known so far and stops at the first
// question it cannot answer (Status::Pending), which RestrictionEvaluator::next() hands to
// the caller. Its members are defined by purpose:
//   restriction_evaluator.cc                  questions to the caller, rejections, deferrals
//   restriction_evaluator_stages.cc           list walk and the stages (smtpd_check_*)
//   restriction_evaluator_apply.cc            what each restriction name does
//   restriction_evaluator_access.cc           access tables and their actions
//   restriction_evaluator_policy_service.cc   check_policy_service
//   restriction_evaluator_addresses.cc        address and host name checks, sender login maps
//   restriction_evaluator_dns_access.cc       check_*_{a,mx,ns}_access and permit_mx_backup
//   restriction_evaluator_dns_lists.cc        DNS block and allow lists (reject_rbl_client ...)
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "maps/map.h"
#include "policy/access_keys.h"
#include "policy/dns_access.h"
#include "policy/restriction_evaluator.h"
#include "policy/restriction_list.h"
#include "policy/restriction_settings.h"

namespace estafeta::policy {
namespace detail {

/// What a restriction (or a list of them) decided; Pending: a question for the caller.
enum class Status { Dunno, Ok, Reject, Pending };

/// Whether a name exists for mail: MX records (a null MX apart), or else addresses.
enum class HostStatus { Pending, Found, NotFound, TempFail, NullMx };

/// Whether the SASL user owns an address per smtpd_sender_login_maps.
enum class Ownership { Pending, Owned, NotOwned, NoOwner, TempFail };

/// Whether a DNS list query has a reply that passes the restriction's filter.
enum class Listing { Pending, Listed, NotListed, TempFail };

}  // namespace detail

struct RestrictionEvaluator::Run {
  using Status = detail::Status;
  using HostStatus = detail::HostStatus;
  using Ownership = detail::Ownership;
  using Listing = detail::Listing;

  // Postfix's error classes, as far as they matter here: warn_if_reject does not soften a
  // configuration error (Software) or a lookup failure (Resource).
  enum class ErrorClass { Policy, Protocol, Bounce, Resource, Software };

  struct Deferral {
    bool active = false;
    int code = 0;
    std::string dsn;
    std::string text;
  };

  // The engine as dns_access.h sees it (restriction_evaluator_dns_access.cc).
  struct DnsCheck;

  static constexpr std::string_view kClient = "Client host";
  static constexpr std::string_view kReverseClient = "Unverified Client host";
  static constexpr std::string_view kHelo = "Helo command";
  static constexpr std::string_view kSender = "Sender address";
  static constexpr std::string_view kRecipient = "Recipient address";
  static constexpr std::string_view kEtrn = "Etrn command";
  static constexpr std::string_view kData = "Data command";
  static constexpr std::string_view kEndOfData = "End-of-data";

  static constexpr int kMaxRecursion = 100;

  RestrictionEvaluator& ev;
  const RestrictionSettings& s;
  const PolicyFacts& f;
  Stage stage;
  std::optional<std::string> recipient;  // the recipient this stage may see
  std::string namaddr;                   // "name[address]"

  int recursion = 0;
  int warn_if_reject = 0;
  Deferral dip;  // defer_if_permit
  Deferral dir;  // defer_if_reject
  std::string reject_reply;
  bool discard = false;
  bool sender_checked = false;
  bool recipient_checked = false;
  int policy_default_nesting = 0;
  size_t policy_index = 0;
  int sleep_index = 0;
  StageMemory memory;
  TransactionActions actions;
  std::vector<LogEntry> log;
  std::optional<Need> need;

  explicit Run(RestrictionEvaluator& evaluator);

  // "<name>: klass rejected: text"
  static std::string rejected(std::string_view name, std::string_view klass, std::string_view text);
  // The domain of an address ("" without an @); whether a domain is an address literal.
  static std::string_view domain_of(std::string_view address);
  static bool is_literal(std::string_view domain);

  // ---- Questions for the caller (restriction_evaluator.cc). ----
  std::optional<maps::LookupResult> lookup(const std::string& table, const std::string& key);
  std::optional<DnsAnswer> dns(const std::string& name, DnsType type);
  std::optional<PolicyAnswer> policy(PolicyNeed request);
  bool slept(int seconds);

  // ---- Outcomes (restriction_evaluator.cc). ----
  void warning(std::string text);
  Status reject(ErrorClass klass, int code, std::string_view dsn, std::string_view text);
  Status server_error(std::string why);
  Status dict_retry(std::string_view name);
  Status defer_if_permit(TempfailAction action, int code, std::string_view dsn, std::string text);
  void defer_if_reject(int code, std::string_view dsn, std::string text);
  Status apply_deferral(Status status);
  void reset();
  void remember_deferral();

  // ---- Lists and stages (restriction_evaluator_stages.cc). ----
  Status generic(const RestrictionList& list, std::string_view name, std::string_view klass,
                 std::optional<RestrictionKind> default_access);
  Status check_client();
  Status check_helo();
  Status check_mail();
  Status check_rcpt();
  Status check_data(const RestrictionList& list, std::string_view name, std::string_view klass);
  Status check_etrn();
  Status evaluate();

  // ---- One restriction (restriction_evaluator_apply.cc). ----
  Status apply(const Restriction& r, RestrictionKind kind, const std::string& argument,
               std::string_view name, std::string_view klass,
               std::optional<RestrictionKind> default_access);

  // ---- Access tables (restriction_evaluator_access.cc). ----
  bool in_transaction(std::string_view table, std::string_view action);
  ParentStyle parent_style() const;
  std::vector<AccessKey> address_keys(const std::string& address, const AddressFacts& facts);
  Status access(const std::string& table, const std::vector<AccessKey>& keys, std::string_view name,
                std::string_view klass, std::optional<RestrictionKind> default_access,
                bool* found = nullptr);
  Status table_result(const std::string& table, std::string_view value, std::string_view name,
                      std::string_view klass, std::optional<RestrictionKind> default_access);

  // ---- Policy service (restriction_evaluator_policy_service.cc). ----
  std::vector<std::pair<std::string, std::string>> policy_attributes() const;
  Status policy_service(const std::string& service, std::string_view name, std::string_view klass,
                        std::optional<RestrictionKind> default_access);

  // ---- Addresses and host names (restriction_evaluator_addresses.cc). ----
  HostStatus host_lookup(const std::string& name);
  Status unknown_address(const std::string& address, const AddressFacts& facts,
                         std::string_view klass);
  Status invalid_literal(const std::string& helo);
  Status non_fqdn_address(const std::string& address, std::string_view klass);
  Status unlisted(const std::string& address, const AddressFacts& facts, std::string_view klass);
  Ownership sender_ownership(const std::string& address);
  Status sender_login_mismatch(RestrictionKind kind, const std::string& sender);

  // ---- DNS-based access checks (restriction_evaluator_dns_access.cc). ----
  Status forbid_ok(const Restriction& r, std::string_view target, Status status);
  Status server_access(const Restriction& r, ServerAccessKind kind, const std::string& table,
                       std::optional<RestrictionKind> default_access);
  Status permit_mx_backup();

  // ---- DNS lists (restriction_evaluator_dns_lists.cc). ----
  Listing dnsxl_listing(const Restriction& r, const std::string& query);
  Status reject_rbl(const Restriction& r, const std::string& zone,
                    const std::optional<std::string>& query, const std::string& what,
                    std::string_view klass);
  Status rbl_reply(const std::string& zone, const std::string& what, std::string_view klass,
                   const std::string& reason);
  Status permit_dnswl(const Restriction& r, const std::optional<std::string>& query,
                      const std::string& what);
};

}  // namespace estafeta::policy
