// The restriction engine's DNS-based access checks (check_*_a_access, check_*_mx_access,
// check_*_ns_access) and permit_mx_backup, through policy/dns_access.h.
#include <fmt/format.h>

#include "base/ascii.h"
#include "policy/restriction_evaluator_internal.h"

namespace estafeta::policy {

// The engine as dns_access.h sees it: DNS answers, one access table, warnings.
struct RestrictionEvaluator::Run::DnsCheck final : DnsCheckContext {
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

// Postfix's forbid_allowlist(): OK from a table searched for names the client controls.
detail::Status RestrictionEvaluator::Run::forbid_ok(const Restriction& r, std::string_view target,
                                                    Status status) {
  if (status != Status::Ok || discard) return status;
  return server_error(
      fmt::format("restriction {} returns OK for {}: this is not allowed for security reasons; "
                  "use DUNNO instead of OK if you want to make an exception",
                  r.name, target));
}

detail::Status RestrictionEvaluator::Run::server_access(
    const Restriction& r, ServerAccessKind kind, const std::string& table,
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

detail::Status RestrictionEvaluator::Run::permit_mx_backup() {
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
    case MxBackupOutcome::Pending:
      return Status::Pending;
    case MxBackupOutcome::Permit:
      return Status::Ok;
    case MxBackupOutcome::TempFail:
      return dict_retry(*recipient);
    case MxBackupOutcome::Dunno:
      break;
  }
  return Status::Dunno;
}

}  // namespace estafeta::policy
