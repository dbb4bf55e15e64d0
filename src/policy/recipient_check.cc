// The RCPT decision for one recipient (see recipient_check.h).
#include "policy/recipient_check.h"

#include <fmt/format.h>

#include "maps/address_search.h"
#include "maps/search_keys.h"
#include "policy/mailbox_name.h"
#include "route/canonical_form.h"

namespace estafeta::policy {
namespace {

bool any_remote(const RecipientTables& t) {
  for (const maps::SearchTable& table : t.tables) {
    if (table.map != nullptr && table.map->is_remote()) return true;
  }
  return false;
}

RecipientVerdict deferred(std::string_view recipient) {
  return RecipientVerdict{RecipientClass::Deferred,
                          fmt::format("451 4.3.0 <{}>: Temporary lookup failure", recipient),
                          {}};
}

RecipientVerdict unknown(std::string_view recipient, int code, std::string_view table) {
  // 5.1.1 for a 5xx code, 4.1.1 when the administrator made it soft (450).
  char klass = code >= 500 ? '5' : '4';
  return RecipientVerdict{
      RecipientClass::Rejected,
      fmt::format("{} {}.1.1 <{}>: Recipient address rejected: User unknown in {} table", code,
                  klass, recipient, table),
      {}};
}

}  // namespace

bool RecipientPolicy::has_remote_tables() const {
  return route.has_remote_tables() || mynetworks.has_remote_tables() || any_remote(local) ||
         any_remote(virtual_alias) || any_remote(virtual_mailbox) || any_remote(relay);
}

RecipientExamination examine_recipient(const RecipientPolicy& policy,
                                       std::string_view recipient) {
  RecipientExamination out;
  std::string canonical = route::canonical_form(policy.route, recipient);
  route::ResolveResult resolved = route::resolve(policy.route, canonical);
  if (resolved.temp_fail) {
    out.temp_fail = true;
    return out;
  }
  out.resolution = resolved.resolution;
  const route::Resolution& r = out.resolution;

  // Postfix's permit_auth_destination: a local address, or one of a virtual or relay domain
  // without sender-specified routing ('%', '!', a quoted '@': never an open relay).
  const bool local = r.address_class == route::AddressClass::Local;
  out.authorized = local || (r.address_class != route::AddressClass::Default && !r.routed);
  out.final_destination = local || r.address_class == route::AddressClass::VirtualAlias ||
                          r.address_class == route::AddressClass::VirtualMailbox;

  // Without a local recipient table any local part is a mailbox directory name (the
  // first-run demo): the ones that could not be one are unknown, whatever
  // smtpd_reject_unlisted_recipient says.
  if (local && !policy.local.check) {
    maps::AddressParts parts = maps::split_address(r.recipient);
    if (!mailbox_name(parts.local)) {
      out.listed = Match::No;
      out.unusable_mailbox_name = true;
      out.unlisted_code = policy.local.reject_code;
      out.unlisted_table = "local recipient";
      return out;
    }
  }

  const std::string& delimiter = policy.route.recipient_delimiter;
  // The route resolver has decided whether the domain is local: the "user" keys are
  // searched only then (virtual(5)).
  const maps::DomainIsLocal domain_is_local = [local](std::string_view) {
    return local ? maps::LookupStatus::Found : maps::LookupStatus::NotFound;
  };
  // XXX Each table with every key, then the next table: what smtpd has always done (and
  // tests/integration/test_recipient_validation.py expects: "root" found in passwd before
  // an alias table that cannot answer is asked). Postfix's mail_addr_find asks every
  // table for a key before the next key, which would defer that recipient.
  auto find = [&](const RecipientTables& t) {
    return maps::find_address(t.tables, r.recipient, delimiter, domain_is_local,
                              maps::TableOrder::TablesFirst);
  };
  if (policy.virtual_alias.check) {
    auto aliased = find(policy.virtual_alias);
    if (aliased.status == maps::LookupStatus::TempFail) {
      out.listed = Match::TempFail;
      return out;
    }
    if (aliased.status == maps::LookupStatus::Found) return out;
  }
  // The tables that must list an address of its class (a virtual alias domain has none
  // but virtual_alias_maps, searched above), and the table named in the refusal.
  const RecipientTables* required = nullptr;
  switch (r.address_class) {
    case route::AddressClass::Local:
      required = &policy.local;
      out.unlisted_table = "local recipient";
      break;
    case route::AddressClass::VirtualAlias:
      required = &policy.virtual_alias;
      out.unlisted_table = "virtual alias";
      break;
    case route::AddressClass::VirtualMailbox:
      required = &policy.virtual_mailbox;
      out.unlisted_table = "virtual mailbox";
      break;
    case route::AddressClass::Relay:
      required = &policy.relay;
      out.unlisted_table = "relay recipient";
      break;
    case route::AddressClass::Default:
      break;
  }
  if (required != nullptr) out.unlisted_code = required->reject_code;
  if (r.address_class == route::AddressClass::VirtualAlias) {
    out.listed = Match::No;
  } else if (required != nullptr && required->check) {
    auto found = find(*required);
    if (found.status == maps::LookupStatus::TempFail) {
      out.listed = Match::TempFail;
    } else if (found.status != maps::LookupStatus::Found) {
      out.listed = Match::No;
    }
  }
  return out;
}

std::string unknown_recipient_reply(std::string_view recipient, const RecipientExamination& e) {
  return unknown(recipient, e.unlisted_code, e.unlisted_table).reply;
}

std::string recipient_deferral_reply(std::string_view recipient) {
  return deferred(recipient).reply;
}

RecipientVerdict check_recipient(const RecipientPolicy& policy, std::string_view client_address,
                                 std::string_view recipient, bool authenticated) {
  RecipientExamination e = examine_recipient(policy, recipient);
  if (e.temp_fail) return deferred(recipient);
  // permit_sasl_authenticated, as in Postfix's default smtpd_relay_restrictions.
  if (!e.authorized && !authenticated) {
    // Postfix's default smtpd_relay_restrictions end with defer_unauth_destination: 454, so
    // that a configuration mistake defers mail instead of bouncing it.
    Match trusted = policy.mynetworks.contains(client_address);
    if (trusted == Match::TempFail) return deferred(recipient);
    if (trusted != Match::Yes) {
      return {RecipientClass::Rejected,
              fmt::format("454 4.7.1 <{}>: Relay access denied", recipient),
              {}};
    }
  }
  if (policy.reject_unlisted_recipient || e.unusable_mailbox_name) {
    if (e.listed == Match::TempFail) return deferred(recipient);
    if (e.listed == Match::No) return unknown(recipient, e.unlisted_code, e.unlisted_table);
  }
  return {e.final_destination ? RecipientClass::Local : RecipientClass::Relay, {},
          e.resolution};
}

}  // namespace estafeta::policy
