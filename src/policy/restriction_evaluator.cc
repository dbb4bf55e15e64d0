// The restriction-list engine; see restriction_evaluator.h. One Run evaluates the stage from
// the start with the answers known so far; it stops at the first question it cannot answer
// (Status::Pending), which next() hands to the caller.
#include "policy/restriction_evaluator.h"

#include <fmt/format.h>

#include "base/ascii.h"
#include "maps/address_search.h"
#include "maps/search_keys.h"
#include "policy/access_action.h"
#include "policy/access_keys.h"
#include "policy/dns_access.h"
#include "policy/dnsbl.h"
#include "policy/hostname_syntax.h"
#include "policy/rbl_reply.h"

namespace estafeta::policy {
namespace {

enum class Status { Dunno, Ok, Reject, Pending };

// Postfix's error classes, as far as they matter here: warn_if_reject does not soften a
// configuration error (Software) or a lookup failure (Resource).
enum class ErrorClass { Policy, Protocol, Bounce, Resource, Software };

constexpr std::string_view kClient = "Client host";
constexpr std::string_view kReverseClient = "Unverified Client host";
constexpr std::string_view kHelo = "Helo command";
constexpr std::string_view kSender = "Sender address";
constexpr std::string_view kRecipient = "Recipient address";
constexpr std::string_view kEtrn = "Etrn command";
constexpr std::string_view kData = "Data command";
constexpr std::string_view kEndOfData = "End-of-data";

constexpr int kMaxRecursion = 100;
constexpr size_t kMaxReply = 510;
constexpr size_t kMaxRblReason = 500;

struct Deferral {
  bool active = false;
  int code = 0;
  std::string dsn;
  std::string text;
};

enum class HostStatus { Pending, Found, NotFound, TempFail, NullMx };

std::string rejected(std::string_view name, std::string_view klass, std::string_view text) {
  return fmt::format("<{}>: {} rejected: {}", name, klass, text);
}

std::string_view domain_of(std::string_view address) {
  size_t at = address.rfind('@');
  return at == std::string_view::npos ? std::string_view() : address.substr(at + 1);
}

bool is_literal(std::string_view domain) {
  return domain.size() >= 2 && domain.front() == '[' && domain.back() == ']';
}

bool is_null_mx(const DnsAnswer& mx) {
  return mx.values.size() == 1 && (mx.values[0].empty() || mx.values[0] == ".");
}

}  // namespace

struct RestrictionEvaluator::Run {
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

  explicit Run(RestrictionEvaluator& evaluator)
      : ev(evaluator),
        s(evaluator.settings_),
        f(evaluator.facts_),
        stage(evaluator.stage_),
        memory(evaluator.memory_) {
    recipient = f.recipient;
    if ((stage == Stage::Data || stage == Stage::EndOfData) && f.recipient_count != 1) {
      recipient.reset();  // one recipient would misrepresent a multi-recipient message
    }
    namaddr = fmt::format("{}[{}]", f.client_name, f.client_address);
    dip.code = memory.defer_code;
    dip.dsn = memory.defer_dsn;
    dip.text = memory.defer_text;
  }

  // ---- Questions for the caller. ----

  std::optional<maps::LookupResult> lookup(const std::string& table, const std::string& key) {
    auto it = ev.lookups_.find({table, key});
    if (it != ev.lookups_.end()) return it->second;
    need = LookupNeed{table, key};
    return std::nullopt;
  }

  std::optional<DnsAnswer> dns(const std::string& name, DnsType type) {
    auto it = ev.dns_.find({name, static_cast<int>(type)});
    if (it != ev.dns_.end()) return it->second;
    need = DnsNeed{name, type};
    return std::nullopt;
  }

  std::optional<PolicyAnswer> policy(PolicyNeed request) {
    if (policy_index < ev.policy_answers_.size()) return ev.policy_answers_[policy_index++];
    need = std::move(request);
    return std::nullopt;
  }

  bool slept(int seconds) {
    if (sleep_index < ev.sleeps_answered_) {
      ++sleep_index;
      return true;
    }
    need = SleepNeed{seconds};
    return false;
  }

  // ---- Outcomes. ----

  void warning(std::string text) { log.push_back({"warning", std::move(text)}); }

  // Postfix's smtpd_check_reject().
  Status reject(ErrorClass klass, int code, std::string_view dsn, std::string_view text) {
    bool warn =
        warn_if_reject != 0 && klass != ErrorClass::Software && klass != ErrorClass::Resource;
    std::string reply = fmt::format("{} {} {}", code, dsn, text);
    if (code < 400 || code > 599) {
      warning(fmt::format("SMTP reply code configuration error: {}", reply));
      reply = "450 4.7.1 Service unavailable";
    } else if (!starts_with_status_code(dsn) || dsn.find(' ') != std::string_view::npos) {
      warning(fmt::format("DSN detail code configuration error: {}", reply));
      reply = "450 4.7.1 Service unavailable";
    }
    if (reply.size() > kMaxReply) reply.resize(kMaxReply);
    for (char& c : reply) {
      unsigned char u = static_cast<unsigned char>(c);
      if (u < 0x20 || u >= 0x7f) c = ' ';
    }
    // An earlier temporary problem may have kept us from accepting: report that instead.
    if (!warn && dir.active && reply[0] == '5') {
      warn_if_reject = 0;
      dir.active = false;
      Deferral earlier = dir;
      return reject(ErrorClass::Policy, earlier.code, earlier.dsn, earlier.text);
    }
    reply[4] = reply[0];  // the status code's class follows the reply code
    log.push_back({warn ? "reject_warning" : "reject", reply});
    if (warn) return Status::Dunno;
    reject_reply = std::move(reply);
    return Status::Reject;
  }

  Status server_error(std::string why) {
    warning(std::move(why));
    return reject(ErrorClass::Software, 451, "4.3.5", "Server configuration error");
  }

  Status dict_retry(std::string_view name) {
    return reject(ErrorClass::Resource, 451, "4.3.0",
                  fmt::format("<{}>: Temporary lookup failure", name));
  }

  Status defer_if_permit(TempfailAction action, int code, std::string_view dsn, std::string text) {
    if (action == TempfailAction::Defer) return reject(ErrorClass::Policy, code, dsn, text);
    if (warn_if_reject != 0) {
      std::string reply = fmt::format("{} {} {}", code, dsn, text);
      log.push_back({"reject_warning", std::move(reply)});
      return Status::Dunno;
    }
    if (!dip.active) dip = Deferral{true, code, std::string(dsn), std::move(text)};
    return Status::Dunno;
  }

  void defer_if_reject(int code, std::string_view dsn, std::string text) {
    if (!dir.active) dir = Deferral{true, code, std::string(dsn), std::move(text)};
  }

  Status apply_deferral(Status status) {
    if (status != Status::Reject && status != Status::Pending && dip.active) {
      return reject(ErrorClass::Policy, dip.code, dip.dsn, dip.text);
    }
    return status;
  }

  void reset() {
    recursion = 0;
    warn_if_reject = 0;
    dir.active = false;
  }

  void remember_deferral() {
    memory.defer_code = dip.code;
    memory.defer_dsn = dip.dsn;
    memory.defer_text = dip.text;
  }

  // "access table T: with smtpd_delay_reject=no, ..." (Postfix's not_in_client_helo).
  bool in_transaction(std::string_view table, std::string_view action) {
    if (f.sender.has_value()) return true;
    warning(fmt::format(
        "access table {}: with smtpd_delay_reject=no, action {} is always skipped in {} or {} "
        "restrictions",
        table, action, kClient, kHelo));
    return false;
  }

  // ---- Lists. ----

  Status generic(const RestrictionList& list, std::string_view name, std::string_view klass,
                 std::optional<RestrictionKind> default_access) {
    int saved = recursion++;
    if (recursion > kMaxRecursion) {
      return server_error("restriction classes or access tables nest too deeply");
    }
    Status status = Status::Dunno;
    for (const Restriction& r : list) {
      if (discard) break;
      if (r.kind == RestrictionKind::WarnIfReject) {
        if (warn_if_reject == 0) warn_if_reject = recursion;
        continue;
      }
      status = apply(r, r.kind, r.argument, name, klass, default_access);
      if (status == Status::Pending) return status;
      if (warn_if_reject >= recursion) warn_if_reject = 0;
      if (status != Status::Dunno) break;
      if (dip.active && dir.active) break;
    }
    recursion = saved;
    if (warn_if_reject >= recursion) warn_if_reject = 0;
    return status;
  }

  Status apply(const Restriction& r, RestrictionKind kind, const std::string& argument,
               std::string_view name, std::string_view klass,
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
        return access(argument, client_keys(f.client_name, f.client_address, parent_style()),
                      namaddr, kClient, default_access);
      case K::CheckClientHostnameAccess:
        return access(argument, host_name_keys(f.client_name, parent_style()), namaddr, kClient,
                      default_access);
      case K::CheckReverseClientHostnameAccess:
        return forbid_ok(r, f.reverse_client_name,
                         access(argument,
                                client_keys(f.reverse_client_name, f.client_address, parent_style()),
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
        return reject(
            ErrorClass::Policy,
            defer ? codes.relay_domains_reject_code - 100 : codes.relay_domains_reject_code,
            defer ? "4.7.1" : "5.7.1", fmt::format("<{}>: Relay access denied", *recipient));
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
        return access(argument, host_name_keys(*f.etrn_domain, parent_style()), *f.etrn_domain,
                      kEtrn, default_access);

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

  // ---- Sender login maps. ----

  enum class Ownership { Pending, Owned, NotOwned, NoOwner, TempFail };

  // Whether the SASL user owns `address` per smtpd_sender_login_maps (Postfix's
  // reject_auth_sender_login_mismatch() and reject_unauth_sender_login_mismatch()). The
  // resolved address is searched in virtual(5) order without the "user" keys: the address,
  // the address without its extension, then "@domain"; every table for a key before the
  // next key; pattern tables for the full address only.
  Ownership sender_ownership(const std::string& address) {
    const std::string& resolved =
        f.sender_facts.resolved.empty() ? address : f.sender_facts.resolved;
    for (const maps::VirtualKey& key :
         maps::virtual_search_keys(ascii::lower(resolved), s.recipient_delimiter)) {
      if (key.local_only) continue;
      for (const std::string& table : s.sender_login_maps) {
        if (key.partial && maps::is_pattern_table(table)) continue;
        auto result = lookup(table, key.key);
        if (!result) return Ownership::Pending;
        if (result->status == maps::LookupStatus::TempFail) {
          warning(fmt::format("{}: table lookup problem: {}", table, result->value));
          return Ownership::TempFail;
        }
        if (result->status != maps::LookupStatus::Found) continue;
        for (const std::string& owner : restriction_words(result->value)) {
          if (ascii::iequals(owner, f.sasl_username)) return Ownership::Owned;
        }
        return Ownership::NotOwned;
      }
    }
    return Ownership::NoOwner;
  }

  Status sender_login_mismatch(RestrictionKind kind, const std::string& sender) {
    using K = RestrictionKind;
    if (s.sender_login_maps.empty()) return Status::Dunno;
    bool authenticated = !f.sasl_username.empty();
    bool check_authenticated = kind == K::RejectSenderLoginMismatch ||
                               kind == K::RejectAuthenticatedSenderLoginMismatch ||
                               kind == K::RejectKnownSenderLoginMismatch;
    bool check_unauthenticated = kind == K::RejectSenderLoginMismatch ||
                                 kind == K::RejectUnauthenticatedSenderLoginMismatch ||
                                 kind == K::RejectKnownSenderLoginMismatch;
    if (authenticated ? !check_authenticated : !check_unauthenticated) return Status::Dunno;
    if (f.sender_facts.authorized == Match::TempFail) return dict_retry(sender);
    Ownership ownership = sender_ownership(sender);
    switch (ownership) {
      case Ownership::Pending:
        return Status::Pending;
      case Ownership::TempFail:
        return dict_retry(sender);
      case Ownership::Owned:
        return Status::Dunno;
      case Ownership::NoOwner:
        // Only reject_known_sender_login_mismatch lets a logged-in user send as an address
        // that nobody owns; an address without owner is fine for an anonymous client.
        if (!authenticated || kind == K::RejectKnownSenderLoginMismatch) return Status::Dunno;
        break;
      case Ownership::NotOwned:
        break;
    }
    return reject(ErrorClass::Policy, 553, "5.7.1",
                  authenticated ? rejected(sender, kSender,
                                           fmt::format("not owned by user {}", f.sasl_username))
                                : rejected(sender, kSender, "not logged in"));
  }

  // ---- Access tables. ----

  ParentStyle parent_style() const {
    return s.access_parent_matches_subdomains ? ParentStyle::Bare : ParentStyle::Dot;
  }

  std::vector<AccessKey> address_keys(const std::string& address, const AddressFacts& facts) {
    const std::string& resolved = facts.resolved.empty() ? address : facts.resolved;
    return email_keys(resolved, s.recipient_delimiter, parent_style());
  }

  // `found` (if given) says whether a key was found (or the table failed).
  Status access(const std::string& table, const std::vector<AccessKey>& keys, std::string_view name,
                std::string_view klass, std::optional<RestrictionKind> default_access,
                bool* found = nullptr) {
    bool pattern = maps::is_pattern_table(table);
    for (const AccessKey& key : keys) {
      if (key.partial && pattern) continue;
      auto result = lookup(table, key.key);
      if (!result) return Status::Pending;
      if (found != nullptr) *found = result->status != maps::LookupStatus::NotFound;
      if (result->status == maps::LookupStatus::Found) {
        return table_result(table, result->value, name, klass, default_access);
      }
      if (result->status == maps::LookupStatus::TempFail) {
        warning(fmt::format("{}: table lookup problem: {}", table, result->value));
        return table_result(table, "451 4.3.5 Server configuration error", name, klass,
                            default_access);
      }
    }
    return Status::Dunno;
  }

  // Postfix's check_table_result(): what one table value (or policy service action) does.
  Status table_result(const std::string& table, std::string_view value, std::string_view name,
                      std::string_view klass, std::optional<RestrictionKind> default_access) {
    const RestrictionCodes& codes = s.codes;
    AccessAction a = parse_access_action(value);
    auto status_code = [&](std::string_view fallback) {
      return fix_status_code(a.dsn.empty() ? fallback : std::string_view(a.dsn), klass);
    };
    auto text_or = [&](std::string_view fallback) {
      return a.text.empty() ? std::string(fallback) : a.text;
    };
    using A = AccessActionKind;
    switch (a.kind) {
      case A::Dunno:
        if (!a.warning.empty()) warning(fmt::format("access table {}: {}", table, a.warning));
        return Status::Dunno;
      case A::Ok:
        return Status::Ok;
      case A::Reject:
        return reject(ErrorClass::Policy, codes.access_map_reject_code, status_code("5.7.1"),
                      rejected(name, klass, text_or("Access denied")));
      case A::Defer:
        return reject(ErrorClass::Policy, codes.access_map_defer_code, status_code("4.7.1"),
                      rejected(name, klass, text_or("Access denied")));
      case A::Reply: {
        std::string fallback = fmt::format("{}.7.1", a.code / 100);
        return reject(ErrorClass::Policy, a.code, status_code(fallback),
                      rejected(name, klass, text_or("Access denied")));
      }
      case A::DeferIfPermit:
        return defer_if_permit(TempfailAction::DeferIfPermit, codes.access_map_defer_code,
                               status_code("4.7.1"),
                               rejected(name, klass, text_or("Service unavailable")));
      case A::DeferIfReject:
        defer_if_reject(codes.access_map_defer_code, status_code("4.7.1"),
                        rejected(name, klass, text_or("Service unavailable")));
        return Status::Dunno;
      case A::Info:
        log.push_back({"info", a.text});
        return Status::Dunno;
      case A::Warn:
        log.push_back({"warn", a.text});
        return Status::Dunno;
      case A::Filter:
        if (!in_transaction(table, "FILTER")) return Status::Dunno;
        log.push_back({"filter", fmt::format("<{}>: {} triggers FILTER {}", name, klass, a.text)});
        actions.filter = a.text;
        return Status::Dunno;
      case A::Hold:
        if (!in_transaction(table, "HOLD") || actions.hold) return Status::Dunno;
        log.push_back(
            {"hold", fmt::format("<{}>: {} {}", name, klass, text_or("triggers HOLD action"))});
        actions.hold = true;
        return Status::Dunno;
      case A::Discard:
        if (!in_transaction(table, "DISCARD")) return Status::Dunno;
        log.push_back({"discard", fmt::format("<{}>: {} {}", name, klass,
                                              text_or("triggers DISCARD action"))});
        actions.discard = true;
        discard = true;
        return Status::Ok;
      case A::Redirect:
        if (!in_transaction(table, "REDIRECT")) return Status::Dunno;
        log.push_back(
            {"redirect", fmt::format("<{}>: {} triggers REDIRECT {}", name, klass, a.text)});
        actions.redirect = a.text;
        return Status::Dunno;
      case A::Bcc:
        if (!in_transaction(table, "BCC")) return Status::Dunno;
        log.push_back({"bcc", fmt::format("<{}>: {} triggers BCC {}", name, klass, a.text)});
        actions.bcc.push_back(a.text);
        return Status::Dunno;
      case A::Prepend:
        if (!in_transaction(table, "PREPEND")) return Status::Dunno;
        if (stage == Stage::EndOfData) {
          warning(
              fmt::format("access table {}: action PREPEND must be used before "
                          "smtpd_end_of_data_restrictions",
                          table));
          return Status::Dunno;
        }
        actions.prepend.push_back(a.text);
        return Status::Dunno;
      case A::ServerError:
        return server_error(fmt::format("access table {}: {}", table, a.warning));
      case A::Restrictions: {
        if (recursion > kMaxRecursion) {
          return server_error(
              fmt::format("access table {} entry {} causes unreasonable recursion", table, value));
        }
        if (a.restrictions.empty()) {
          warning(fmt::format("access table {} entry has empty value", table));
          return Status::Ok;
        }
        auto list = parse_restriction_list(fmt::format("access table {}", table), a.restrictions,
                                           ev.class_names_);
        if (!list.ok()) return server_error(list.error().message);
        return generic(*list, name, klass, default_access);
      }
    }
    return Status::Dunno;
  }

  // ---- DNS-based access checks (policy/dns_access.h). ----

  // Postfix's forbid_allowlist(): OK from a table searched for names the client controls.
  Status forbid_ok(const Restriction& r, std::string_view target, Status status) {
    if (status != Status::Ok || discard) return status;
    return server_error(fmt::format(
        "restriction {} returns OK for {}: this is not allowed for security reasons; "
        "use DUNNO instead of OK if you want to make an exception",
        r.name, target));
  }

  // The engine as dns_access.h sees it: DNS answers, one access table, warnings.
  struct DnsCheck final : DnsCheckContext {
    DnsCheck(Run& r, std::string t, std::string_view n, std::string_view k,
             std::optional<RestrictionKind> d)
        : run(r), table(std::move(t)), name(n), klass(k), default_access(d) {}
    std::optional<DnsAnswer> dns(const std::string& query, DnsType type) override {
      return run.dns(query, type);
    }
    SearchOutcome search(const std::vector<AccessKey>& keys) override {
      bool found = false;
      status = run.access(table, keys, name, klass, default_access, &found);
      if (status == Status::Pending) return SearchOutcome::Pending;
      return found ? SearchOutcome::Found : SearchOutcome::NotFound;
    }
    void warning(std::string text) override { run.warning(std::move(text)); }
    void defer_if_reject(int code, std::string_view dsn, std::string text) override {
      run.defer_if_reject(code, dsn, std::move(text));
    }
    Run& run;
    std::string table;
    std::string_view name;
    std::string_view klass;
    std::optional<RestrictionKind> default_access;
    Status status = Status::Dunno;
  };

  Status server_access(const Restriction& r, ServerAccessKind kind, const std::string& table,
                       std::optional<RestrictionKind> default_access) {
    std::string target;  // the name whose servers are searched
    std::string_view name;
    std::string_view klass;
    switch (kind.subject) {
      case ServerSubject::Client:
        if (ascii::iequals(f.client_name, "unknown")) return Status::Dunno;
        target = f.client_name;
        name = namaddr;
        klass = kClient;
        break;
      case ServerSubject::ReverseClient:
        if (ascii::iequals(f.reverse_client_name, "unknown")) return Status::Dunno;
        target = f.reverse_client_name;
        name = f.reverse_client_name;
        klass = kReverseClient;
        break;
      case ServerSubject::Helo:
        if (!f.helo) return Status::Dunno;
        target = *f.helo;
        name = *f.helo;
        klass = kHelo;
        break;
      case ServerSubject::Sender:
        if (!f.sender || f.sender->empty()) return Status::Dunno;
        target = domain_of(*f.sender);
        name = *f.sender;
        klass = kSender;
        break;
      case ServerSubject::Recipient:
        if (!recipient) return Status::Dunno;
        target = domain_of(*recipient);
        name = *recipient;
        klass = kRecipient;
        break;
    }
    DnsCheck check(*this, table, name, klass, default_access);
    SearchOutcome outcome = search_servers(check, kind.type, target, parent_style(), klass, name);
    if (outcome == SearchOutcome::Pending) return Status::Pending;
    if (outcome == SearchOutcome::NotFound) return Status::Dunno;
    return forbid_ok(r, target, check.status);
  }

  Status permit_mx_backup() {
    if (!recipient) return Status::Dunno;
    const AddressFacts& facts = f.recipient_facts;
    if (facts.authorized == Match::TempFail) return dict_retry(*recipient);
    if (facts.authorized == Match::Yes) return Status::Ok;
    const std::string& resolved = facts.resolved.empty() ? *recipient : facts.resolved;
    std::string_view domain = domain_of(resolved);
    if (domain.empty() || is_literal(domain) || facts.routed) return Status::Dunno;
    MxBackupSettings settings{s.myhostname, s.own_addresses,
                              s.mx_backup_networks_set ? &s.mx_backup_networks : nullptr};
    DnsCheck check(*this, "", *recipient, kRecipient, std::nullopt);  // no table: DNS only
    switch (mx_backup(check, domain, settings, kRecipient, *recipient)) {
      case MxBackupOutcome::Pending: return Status::Pending;
      case MxBackupOutcome::Permit: return Status::Ok;
      case MxBackupOutcome::TempFail: return dict_retry(*recipient);
      case MxBackupOutcome::Dunno: break;
    }
    return Status::Dunno;
  }

  // ---- Policy service. ----

  std::vector<std::pair<std::string, std::string>> policy_attributes() const {
    bool data_stage = stage == Stage::Data || stage == Stage::EndOfData;
    const TlsFacts& tls = f.tls;
    return {
        {"request", "smtpd_access_policy"},
        {"protocol_state", std::string(protocol_state(stage, f))},
        {"protocol_name", f.protocol},
        {"client_address", f.client_address},
        {"client_name", f.client_name},
        {"client_port", f.client_port},
        {"reverse_client_name", f.reverse_client_name},
        {"server_address", f.server_address},
        {"server_port", f.server_port},
        {"helo_name", f.helo.value_or("")},
        {"sender", f.sender.value_or("")},
        {"recipient", recipient.value_or("")},
        {"recipient_count", std::to_string(data_stage ? f.recipient_count : 0)},
        {"queue_id", f.queue_id},
        {"instance", f.instance},
        {"size", std::to_string(f.size)},
        {"etrn_domain", f.etrn_domain.value_or("")},
        {"stress", f.stress},
        {"sasl_method", f.sasl_method},
        {"sasl_username", f.sasl_username},
        {"sasl_sender", f.sasl_sender},
        {"ccert_subject", tls.ccert_subject},
        {"ccert_issuer", tls.ccert_issuer},
        {"ccert_fingerprint", tls.ccert_fingerprint},
        {"ccert_pubkey_fingerprint", tls.ccert_pubkey_fingerprint},
        {"encryption_protocol", tls.active ? tls.protocol : ""},
        {"encryption_cipher", tls.active ? tls.cipher : ""},
        {"encryption_keysize", std::to_string(tls.active ? tls.keysize : 0)},
        {"policy_context", ""},
    };
  }

  Status policy_service(const std::string& service, std::string_view name, std::string_view klass,
                        std::optional<RestrictionKind> default_access) {
    auto answer = policy(PolicyNeed{service, policy_attributes()});
    if (!answer) return Status::Pending;
    if (answer->ok) return table_result(service, answer->action, name, klass, default_access);
    // The default action; a failure inside it (a policy service named in it) gets Postfix's
    // built-in default, so that it cannot recurse.
    ++policy_default_nesting;
    std::string action = policy_default_nesting == 1 ? s.policy_default_action
                                                     : "451 4.3.5 Server configuration problem";
    Status status = table_result(service, action, name, klass, default_access);
    --policy_default_nesting;
    return status;
  }

  // ---- DNS checks. ----

  // A name "exists" for mail when it has MX records (a null MX is reported apart), or else
  // A or AAAA records.
  HostStatus host_lookup(const std::string& name) {
    auto mx = dns(name, DnsType::MX);
    if (!mx) return HostStatus::Pending;
    if (mx->status == DnsAnswer::Status::Ok) {
      return is_null_mx(*mx) ? HostStatus::NullMx : HostStatus::Found;
    }
    auto address = dns(name, DnsType::Address);
    if (!address) return HostStatus::Pending;
    if (address->status == DnsAnswer::Status::Ok) return HostStatus::Found;
    if (mx->status == DnsAnswer::Status::TempFail ||
        address->status == DnsAnswer::Status::TempFail) {
      return HostStatus::TempFail;
    }
    return HostStatus::NotFound;
  }

  Status unknown_address(const std::string& address, const AddressFacts& facts,
                         std::string_view klass) {
    if (facts.authorized == Match::TempFail) return dict_retry(address);
    const std::string& resolved = facts.resolved.empty() ? address : facts.resolved;
    std::string_view domain = domain_of(resolved);
    if (domain.empty() || facts.final_destination || is_literal(domain)) return Status::Dunno;
    HostStatus host = host_lookup(std::string(domain));
    if (host == HostStatus::Pending) return Status::Pending;
    bool is_sender = klass == kSender;
    std::string_view dsn = is_sender ? "4.1.8" : "4.1.2";
    std::string text = rejected(address, klass, "Domain not found");
    switch (host) {
      case HostStatus::NotFound:
        return reject(ErrorClass::Policy, s.codes.unknown_address_reject_code, dsn, text);
      case HostStatus::TempFail:
        return defer_if_permit(s.unknown_address_tempfail_action, 450, dsn, std::move(text));
      case HostStatus::NullMx:
        // RFC 7505 section 4: 550 5.7.27 for a sender, 556 5.1.10 for a recipient.
        return reject(
            ErrorClass::Policy, is_sender ? 550 : 556, is_sender ? "5.7.27" : "5.1.10",
            rejected(address, klass, fmt::format("Domain {} does not accept mail", domain)));
      case HostStatus::Found:
      case HostStatus::Pending:
        break;
    }
    return Status::Dunno;
  }

  Status invalid_literal(const std::string& helo) {
    std::string_view inside = helo;
    if (inside.size() > 2 && inside.front() == '[' && inside.back() == ']') {
      inside = inside.substr(1, inside.size() - 2);
    }
    if (valid_address_literal(inside)) return Status::Dunno;
    return reject(ErrorClass::Policy, s.codes.invalid_hostname_reject_code, "5.5.2",
                  rejected(helo, kHelo, "invalid ip address"));
  }

  Status non_fqdn_address(const std::string& address, std::string_view klass) {
    std::string_view domain = domain_of(address);
    if (is_literal(domain)) return Status::Dunno;
    std::string_view test = strip_trailing_dot(domain);
    if (!test.empty() && valid_hostname(test) && test.find('.') != std::string_view::npos) {
      return Status::Dunno;
    }
    return reject(ErrorClass::Policy, s.codes.non_fqdn_reject_code, "4.5.2",
                  rejected(address, klass, "need fully-qualified address"));
  }

  Status unlisted(const std::string& address, const AddressFacts& facts, std::string_view klass) {
    bool is_sender = klass == kSender;
    bool& checked = is_sender ? sender_checked : recipient_checked;
    if (checked) return Status::Dunno;
    checked = true;
    if (facts.listed == Match::TempFail) return dict_retry(address);
    if (facts.listed == Match::Yes) return Status::Dunno;
    return reject(
        ErrorClass::Bounce, facts.unlisted_code, is_sender ? "5.1.0" : "5.1.1",
        rejected(address, klass, fmt::format("User unknown in {} table", facts.unlisted_table)));
  }

  enum class Listing { Pending, Listed, NotListed, TempFail };

  // Whether a DNS list query has an A record that passes the restriction's filter.
  Listing dnsxl_listing(const Restriction& r, const std::string& query) {
    auto a = dns(query, DnsType::A);
    if (!a) return Listing::Pending;
    if (a->status == DnsAnswer::Status::TempFail) return Listing::TempFail;
    if (a->status != DnsAnswer::Status::Ok) return Listing::NotListed;
    for (const std::string& reply : a->values) {
      if (r.reply_filter.matches(reply)) return Listing::Listed;
    }
    return Listing::NotListed;
  }

  Status reject_rbl(const Restriction& r, const std::string& zone,
                    const std::optional<std::string>& query, const std::string& what,
                    std::string_view klass) {
    if (!query) return Status::Dunno;
    Listing listing = dnsxl_listing(r, *query);
    if (listing == Listing::Pending) return Status::Pending;
    if (listing == Listing::TempFail) {
      warning(fmt::format("{}: RBL lookup error: temporary failure", *query));
      return Status::Dunno;
    }
    if (listing != Listing::Listed) return Status::Dunno;
    auto txt = dns(*query, DnsType::TXT);
    if (!txt) return Status::Pending;
    std::string reason;
    if (txt->status == DnsAnswer::Status::Ok) {
      for (const std::string& t : txt->values) {
        if (!reason.empty()) reason += " / ";
        reason += t;
        if (reason.size() >= kMaxRblReason) break;
      }
      if (reason.size() > kMaxRblReason) reason.resize(kMaxRblReason);
    }
    return rbl_reply(zone, what, klass, reason);
  }

  Status rbl_reply(const std::string& zone, const std::string& what, std::string_view klass,
                   const std::string& reason) {
    std::optional<std::string> from_table;
    std::string key = ascii::lower(zone);
    for (const std::string& table : s.rbl_reply_maps) {
      auto result = lookup(table, key);
      if (!result) return Status::Pending;
      if (result->status == maps::LookupStatus::Found) {
        from_table = result->value;
        break;
      }
      if (result->status == maps::LookupStatus::TempFail) {
        warning(fmt::format("{}: table lookup problem: {}", table, result->value));
      }
    }
    auto attribute = [&](std::string_view name) -> std::optional<std::string> {
      auto address_part = [](const std::optional<std::string>& a,
                             std::string_view part) -> std::string {
        if (!a) return "";
        if (part == "domain") return a->empty() ? "" : std::string(domain_of(*a));
        if (a->empty()) return "<>";
        if (part == "name") {
          size_t at = a->rfind('@');
          return at == std::string::npos ? *a : a->substr(0, at);
        }
        return *a;
      };
      if (name == "rbl_code") return std::to_string(s.codes.maps_rbl_reject_code);
      if (name == "rbl_domain") return zone;
      if (name == "rbl_reason" || name == "rbl_txt") return reason;
      if (name == "rbl_what") return what;
      if (name == "rbl_class") return std::string(klass);
      if (name == "client") return namaddr;
      if (name == "client_address") return f.client_address;
      if (name == "client_name") return f.client_name;
      if (name == "reverse_client_name") return f.reverse_client_name;
      if (name == "helo_name") return f.helo.value_or("");
      if (name == "sender") return address_part(f.sender, "");
      if (name == "sender_name") return address_part(f.sender, "name");
      if (name == "sender_domain") return address_part(f.sender, "domain");
      if (name == "recipient") return address_part(recipient, "");
      if (name == "recipient_name") return address_part(recipient, "name");
      if (name == "recipient_domain") return address_part(recipient, "domain");
      return std::nullopt;
    };
    Result<std::string> expanded = make_error("no template");
    if (from_table) {
      expanded = expand_reply_template(*from_table, attribute);
      if (!expanded.ok()) {
        warning(fmt::format("bad rbl reply template for domain {}: {}: {}", zone, *from_table,
                            expanded.error().message));
      }
    }
    if (!expanded.ok()) {
      expanded = expand_reply_template(s.default_rbl_reply, attribute);
      if (!expanded.ok()) {
        return server_error(fmt::format("bad default rbl reply template: {}: {}",
                                        s.default_rbl_reply, expanded.error().message));
      }
    }
    const std::string& why = *expanded;
    if (why.size() < 4 || (why[0] != '4' && why[0] != '5') || !ascii::is_digit(why[1]) ||
        !ascii::is_digit(why[2]) || why[3] != ' ') {
      warning(fmt::format("rbl response code configuration error: {}", why));
      return reject(ErrorClass::Policy, 450, "4.7.1", "Service unavailable");
    }
    int code = (why[0] - '0') * 100 + (why[1] - '0') * 10 + (why[2] - '0');
    std::string_view rest = std::string_view(why).substr(4);
    std::string dsn = "4.7.1";
    size_t length = 0;
    if (starts_with_status_code(rest, &length)) {
      dsn = std::string(rest.substr(0, length));
      rest.remove_prefix(length);
      while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
    }
    return reject(ErrorClass::Policy, code, fix_status_code(dsn, klass),
                  rest.empty() ? std::string_view("Service unavailable") : rest);
  }

  Status permit_dnswl(const Restriction& r, const std::optional<std::string>& query,
                      const std::string& what) {
    // Safety: an allowlist never overrides reject_unauth_destination.
    if (stage == Stage::Rcpt && recipient) {
      if (f.recipient_facts.authorized == Match::TempFail) return dict_retry(*recipient);
      if (f.recipient_facts.authorized != Match::Yes) return Status::Dunno;
    }
    if (!query) return Status::Dunno;
    Listing listing = dnsxl_listing(r, *query);
    if (listing == Listing::Pending) return Status::Pending;
    if (listing == Listing::TempFail) {
      defer_if_reject(450, "4.7.1", rejected(what, kClient, "Service unavailable"));
      return Status::Dunno;
    }
    return listing == Listing::Listed ? Status::Ok : Status::Dunno;
  }

  // ---- Stages (Postfix's smtpd_check_client, _helo, _mail, _rcpt, _data, _eod, _etrn). ----

  Status check_client() {
    if (f.client_address.empty()) return Status::Dunno;
    dip.active = false;
    reset();
    Status status = generic(s.client, namaddr, kClient, RestrictionKind::CheckClientAccess);
    if (status == Status::Pending) return status;
    memory.defer_if_permit_client = dip.active;
    remember_deferral();
    return status == Status::Reject ? Status::Reject : Status::Dunno;
  }

  Status check_helo() {
    if (!f.helo) return Status::Dunno;
    dip.active = memory.defer_if_permit_client;
    reset();
    Status status = generic(s.helo, *f.helo, kHelo, RestrictionKind::CheckHeloAccess);
    if (status == Status::Pending) return status;
    memory.defer_if_permit_helo = dip.active;
    remember_deferral();
    return status == Status::Reject ? Status::Reject : Status::Dunno;
  }

  Status check_mail() {
    if (!f.sender) return Status::Dunno;
    dip.active = memory.defer_if_permit_client || memory.defer_if_permit_helo;
    sender_checked = false;
    reset();
    Status status = generic(s.sender, *f.sender, kSender, RestrictionKind::CheckSenderAccess);
    if (status == Status::Pending) return status;
    memory.defer_if_permit_sender = dip.active;
    remember_deferral();
    if (s.reject_unlisted_sender && status != Status::Reject && !sender_checked && !discard &&
        !f.sender->empty()) {
      status = unlisted(*f.sender, f.sender_facts, kSender);
    }
    return status == Status::Reject ? Status::Reject : Status::Dunno;
  }

  Status check_rcpt() {
    if (!recipient) return Status::Dunno;
    if (ascii::iequals(*recipient, "postmaster")) return Status::Dunno;  // RFC 5321 4.5.1
    recipient_checked = false;
    if (s.delay_reject) {
      for (auto check : {&Run::check_client, &Run::check_helo, &Run::check_mail}) {
        Status status = (this->*check)();
        if (status != Status::Dunno) return status;
      }
    }
    dip.active = memory.defer_if_permit_sender;
    reset();
    Status status = Status::Dunno;
    for (const RestrictionList* list : {&s.relay, &s.recipient}) {
      status = generic(*list, *recipient, kRecipient, RestrictionKind::CheckRecipientAccess);
      if (status == Status::Pending || status == Status::Reject) break;
    }
    return apply_deferral(status);
  }

  Status check_data(const RestrictionList& list, std::string_view name, std::string_view klass) {
    dip.active = false;
    reset();
    return apply_deferral(generic(list, name, klass, std::nullopt));
  }

  Status check_etrn() {
    if (!f.etrn_domain) return Status::Dunno;
    if (s.delay_reject) {
      for (auto check : {&Run::check_client, &Run::check_helo}) {
        Status status = (this->*check)();
        if (status != Status::Dunno) return status;
      }
    }
    dip.active = memory.defer_if_permit_client || memory.defer_if_permit_helo;
    reset();
    return apply_deferral(generic(s.etrn, *f.etrn_domain, kEtrn, RestrictionKind::CheckEtrnAccess));
  }

  Status evaluate() {
    switch (stage) {
      case Stage::Connect:
        return s.delay_reject ? Status::Dunno : check_client();
      case Stage::Helo:
        return s.delay_reject ? Status::Dunno : check_helo();
      case Stage::Mail:
        return s.delay_reject ? Status::Dunno : check_mail();
      case Stage::Rcpt:
      case Stage::Vrfy:
        return check_rcpt();
      case Stage::Data:
        return check_data(s.data, "DATA", kData);
      case Stage::EndOfData:
        return check_data(s.end_of_data, "END-OF-DATA", kEndOfData);
      case Stage::Etrn:
        return check_etrn();
    }
    return Status::Dunno;
  }
};

RestrictionEvaluator::RestrictionEvaluator(const RestrictionSettings& settings, Stage stage,
                                           PolicyFacts facts, StageMemory memory)
    : settings_(settings), stage_(stage), facts_(std::move(facts)), memory_(std::move(memory)) {
  for (const auto& [name, list] : settings_.classes) class_names_.insert(name);
}

Step RestrictionEvaluator::next() {
  if (verdict_) return *verdict_;
  Run run(*this);
  Status status = run.evaluate();
  if (status == Status::Pending) {
    pending_ = run.need;
    return *pending_;
  }
  pending_.reset();
  Verdict v;
  v.accepted = status != Status::Reject;
  if (!v.accepted) {
    v.reply = run.reject_reply;
    v.disconnect = v.reply.starts_with("421") || v.reply.starts_with("521");
  }
  v.actions = std::move(run.actions);
  v.log = std::move(run.log);
  v.memory = std::move(run.memory);
  v.recipient_listed_checked = run.recipient_checked || run.discard;
  verdict_ = std::move(v);
  return *verdict_;
}

void RestrictionEvaluator::answer_lookup(maps::LookupResult result) {
  if (!pending_ || !std::holds_alternative<LookupNeed>(*pending_)) return;
  const LookupNeed& need = std::get<LookupNeed>(*pending_);
  lookups_[{need.table, need.key}] = std::move(result);
  pending_.reset();
}

void RestrictionEvaluator::answer_dns(DnsAnswer answer) {
  if (!pending_ || !std::holds_alternative<DnsNeed>(*pending_)) return;
  const DnsNeed& need = std::get<DnsNeed>(*pending_);
  dns_[{need.name, static_cast<int>(need.type)}] = std::move(answer);
  pending_.reset();
}

void RestrictionEvaluator::answer_policy(PolicyAnswer answer) {
  if (!pending_ || !std::holds_alternative<PolicyNeed>(*pending_)) return;
  policy_answers_.push_back(std::move(answer));
  pending_.reset();
}

void RestrictionEvaluator::answer_slept() {
  if (!pending_ || !std::holds_alternative<SleepNeed>(*pending_)) return;
  ++sleeps_answered_;
  pending_.reset();
}

std::string_view protocol_state(Stage stage, const PolicyFacts& facts) {
  switch (stage) {
    case Stage::Connect:
      return "CONNECT";
    case Stage::Helo:
      return facts.ehlo ? "EHLO" : "HELO";
    case Stage::Mail:
      return "MAIL";
    case Stage::Rcpt:
      return "RCPT";
    case Stage::Data:
      return "DATA";
    case Stage::EndOfData:
      return "END-OF-MESSAGE";
    case Stage::Etrn:
      return "ETRN";
    case Stage::Vrfy:
      return "VRFY";
  }
  return "";
}

std::string format_log_entry(const LogEntry& entry, Stage stage, const PolicyFacts& facts) {
  if (entry.kind == "warning") return entry.text;
  std::string line =
      fmt::format("{}: {} from {}[{}]: {};", entry.kind, protocol_state(stage, facts),
                  facts.client_name, facts.client_address, entry.text);
  if (facts.sender) line += fmt::format(" from=<{}>", *facts.sender);
  if (facts.recipient) line += fmt::format(" to=<{}>", *facts.recipient);
  line += fmt::format(" proto={}", facts.protocol);
  if (facts.helo) line += fmt::format(" helo=<{}>", *facts.helo);
  return line;
}

}  // namespace estafeta::policy
