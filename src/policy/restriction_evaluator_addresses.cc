// The restriction engine's checks of envelope addresses and host names: unknown and non-FQDN
// domains and HELO names (by DNS), HELO address literals, unlisted senders and recipients,
// and the sender login maps (reject_*_sender_login_mismatch).
#include <fmt/format.h>

#include "base/ascii.h"
#include "maps/address_search.h"
#include "maps/search_keys.h"
#include "policy/hostname_syntax.h"
#include "policy/restriction_evaluator_internal.h"

namespace estafeta::policy {
namespace {

bool is_null_mx(const DnsAnswer& mx) {
  return mx.values.size() == 1 && (mx.values[0].empty() || mx.values[0] == ".");
}

}  // namespace

// A name "exists" for mail when it has MX records (a null MX is reported apart), or else
// A or AAAA records.
detail::HostStatus RestrictionEvaluator::Run::host_lookup(const std::string& name) {
  auto mx = dns(name, DnsType::MX);
  if (!mx) return HostStatus::Pending;
  if (mx->status == DnsAnswer::Status::Ok) {
    return is_null_mx(*mx) ? HostStatus::NullMx : HostStatus::Found;
  }
  auto address = dns(name, DnsType::Address);
  if (!address) return HostStatus::Pending;
  if (address->status == DnsAnswer::Status::Ok) return HostStatus::Found;
  if (mx->status == DnsAnswer::Status::TempFail || address->status == DnsAnswer::Status::TempFail) {
    return HostStatus::TempFail;
  }
  return HostStatus::NotFound;
}

detail::Status RestrictionEvaluator::Run::unknown_address(const std::string& address,
                                                          const AddressFacts& facts,
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

detail::Status RestrictionEvaluator::Run::invalid_literal(const std::string& helo) {
  std::string_view inside = helo;
  if (inside.size() > 2 && inside.front() == '[' && inside.back() == ']') {
    inside = inside.substr(1, inside.size() - 2);
  }
  if (valid_address_literal(inside)) return Status::Dunno;
  return reject(ErrorClass::Policy, s.codes.invalid_hostname_reject_code, "5.5.2",
                rejected(helo, kHelo, "invalid ip address"));
}

detail::Status RestrictionEvaluator::Run::non_fqdn_address(const std::string& address,
                                                           std::string_view klass) {
  std::string_view domain = domain_of(address);
  if (is_literal(domain)) return Status::Dunno;
  std::string_view test = strip_trailing_dot(domain);
  if (!test.empty() && valid_hostname(test) && test.find('.') != std::string_view::npos) {
    return Status::Dunno;
  }
  return reject(ErrorClass::Policy, s.codes.non_fqdn_reject_code, "4.5.2",
                rejected(address, klass, "need fully-qualified address"));
}

detail::Status RestrictionEvaluator::Run::unlisted(const std::string& address,
                                                   const AddressFacts& facts,
                                                   std::string_view klass) {
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

// Whether the SASL user owns `address` per smtpd_sender_login_maps (Postfix's
// reject_auth_sender_login_mismatch() and reject_unauth_sender_login_mismatch()). The
// resolved address is searched in virtual(5) order without the "user" keys: the address,
// the address without its extension, then "@domain"; every table for a key before the
// next key; pattern tables for the full address only.
detail::Ownership RestrictionEvaluator::Run::sender_ownership(const std::string& address) {
  const std::string& resolved = f.sender_facts.resolved.empty() ? address : f.sender_facts.resolved;
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

detail::Status RestrictionEvaluator::Run::sender_login_mismatch(RestrictionKind kind,
                                                                const std::string& sender) {
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

}  // namespace estafeta::policy
