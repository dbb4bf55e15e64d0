// The restriction engine's access tables (check_*_access): the keys searched in a table and
// what the value found does (Postfix's check_table_result(): OK, REJECT, DUNNO, FILTER, HOLD,
// a nested restriction list, ...).
#include <fmt/format.h>

#include "maps/address_search.h"
#include "policy/access_action.h"
#include "policy/restriction_evaluator_internal.h"

namespace estafeta::policy {

// "access table T: with smtpd_delay_reject=no, ..." (Postfix's not_in_client_helo).
bool RestrictionEvaluator::Run::in_transaction(std::string_view table, std::string_view action) {
  if (f.sender.has_value()) return true;
  warning(fmt::format(
      "access table {}: with smtpd_delay_reject=no, action {} is always skipped in {} or {} "
      "restrictions",
      table, action, kClient, kHelo));
  return false;
}

ParentStyle RestrictionEvaluator::Run::parent_style() const {
  return s.access_parent_matches_subdomains ? ParentStyle::Bare : ParentStyle::Dot;
}

std::vector<AccessKey> RestrictionEvaluator::Run::address_keys(const std::string& address,
                                                               const AddressFacts& facts) {
  const std::string& resolved = facts.resolved.empty() ? address : facts.resolved;
  return email_keys(resolved, s.recipient_delimiter, parent_style());
}

// `found` (if given) says whether a key was found (or the table failed).
detail::Status RestrictionEvaluator::Run::access(const std::string& table,
                                                 const std::vector<AccessKey>& keys,
                                                 std::string_view name, std::string_view klass,
                                                 std::optional<RestrictionKind> default_access,
                                                 bool* found) {
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
detail::Status RestrictionEvaluator::Run::table_result(
    const std::string& table, std::string_view value, std::string_view name, std::string_view klass,
    std::optional<RestrictionKind> default_access) {
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
      log.push_back(
          {"discard", fmt::format("<{}>: {} {}", name, klass, text_or("triggers DISCARD action"))});
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

}  // namespace estafeta::policy
