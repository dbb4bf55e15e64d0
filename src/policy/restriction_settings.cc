// Config -> RestrictionSettings; see restriction_settings.h.
#include "policy/restriction_settings.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "base/ascii.h"

namespace estafeta::policy {
namespace {

void add_unique(std::vector<std::string>& out, const std::string& item) {
  if (std::find(out.begin(), out.end(), item) == out.end()) out.push_back(item);
}

Result<TempfailAction> tempfail_action(const config::Config& config, std::string_view name) {
  std::string value = ascii::lower(ascii::trim(config.get(name)));
  if (value == "defer_if_permit") return TempfailAction::DeferIfPermit;
  if (value == "defer") return TempfailAction::Defer;
  return make_error(fmt::format("{}: bad value \"{}\": specify defer or defer_if_permit", name,
                                config.get(name)));
}

// The restrictions that refuse mail for unauthorized destinations (Postfix's
// has_required() list for the relay and recipient lists).
bool refuses_by_default(RestrictionKind kind) {
  using K = RestrictionKind;
  return kind == K::Reject || kind == K::Defer || kind == K::DeferIfPermit ||
         kind == K::RejectUnauthDestination || kind == K::DeferUnauthDestination;
}

bool has_required(const RestrictionList& list,
                  const std::map<std::string, RestrictionList, std::less<>>& classes,
                  std::set<std::string>& seen) {
  for (const Restriction& r : list) {
    if (refuses_by_default(r.kind)) return true;
    if (r.kind == RestrictionKind::Class && seen.insert(r.argument).second) {
      auto it = classes.find(r.argument);
      if (it != classes.end() && has_required(it->second, classes, seen)) return true;
    }
  }
  return false;
}

}  // namespace

std::vector<std::string> RestrictionSettings::table_specs() const {
  std::vector<std::string> specs;
  auto from = [&specs](const RestrictionList& list) {
    for (const Restriction& r : list) {
      if (takes_table(r.kind)) add_unique(specs, r.argument);
    }
  };
  for (const RestrictionList* list :
       {&client, &helo, &sender, &relay, &recipient, &data, &end_of_data, &etrn}) {
    from(*list);
  }
  for (const auto& [name, list] : classes) from(list);
  for (const std::string& table : rbl_reply_maps) add_unique(specs, table);
  for (const std::string& table : sender_login_maps) add_unique(specs, table);
  return specs;
}

bool RestrictionSettings::names(RestrictionKind kind) const {
  auto in = [kind](const RestrictionList& list) {
    for (const Restriction& r : list) {
      if (r.kind == kind) return true;
    }
    return false;
  };
  for (const RestrictionList* list :
       {&client, &helo, &sender, &relay, &recipient, &data, &end_of_data, &etrn}) {
    if (in(*list)) return true;
  }
  for (const auto& [name, list] : classes) {
    if (in(list)) return true;
  }
  return false;
}

std::vector<std::string> RestrictionSettings::policy_services() const {
  std::vector<std::string> services;
  auto from = [&services](const RestrictionList& list) {
    for (const Restriction& r : list) {
      if (r.kind == RestrictionKind::CheckPolicyService) add_unique(services, r.argument);
    }
  };
  for (const RestrictionList* list :
       {&client, &helo, &sender, &relay, &recipient, &data, &end_of_data, &etrn}) {
    from(*list);
  }
  for (const auto& [name, list] : classes) from(list);
  return services;
}

Result<RestrictionSettings> make_restriction_settings(const config::Config& config,
                                                      NetworkSet mynetworks) {
  RestrictionSettings s;
  s.mynetworks = std::move(mynetworks);

  // Restriction classes: each name must be a parameter with a non-empty list.
  std::set<std::string, std::less<>> class_names;
  for (const std::string& name : config.get_list("smtpd_restriction_classes")) {
    class_names.insert(name);
  }
  for (const std::string& name : class_names) {
    std::string value = config.get(name);
    if (ascii::trim(value).empty()) {
      return make_error(fmt::format(
          "smtpd_restriction_classes: restriction class \"{}\" needs a definition", name));
    }
    auto list = parse_restriction_list(fmt::format("restriction class {}", name),
                                       restriction_words(value), class_names);
    if (!list.ok()) return list.error();
    s.classes.emplace(name, std::move(*list));
  }

  struct Named {
    const char* parameter;
    RestrictionList* list;
    bool implicit_tables;  // a bare type:table has a default access check in this list
  } lists[] = {
      {"smtpd_client_restrictions", &s.client, true},
      {"smtpd_helo_restrictions", &s.helo, true},
      {"smtpd_sender_restrictions", &s.sender, true},
      {"smtpd_relay_restrictions", &s.relay, true},
      {"smtpd_recipient_restrictions", &s.recipient, true},
      {"smtpd_data_restrictions", &s.data, false},
      {"smtpd_end_of_data_restrictions", &s.end_of_data, false},
      {"smtpd_etrn_restrictions", &s.etrn, true},
  };
  for (const Named& n : lists) {
    auto list = parse_restriction_list(n.parameter, restriction_words(config.get(n.parameter)),
                                       class_names);
    if (!list.ok()) return list.error();
    if (!n.implicit_tables) {
      for (const Restriction& r : *list) {
        if (r.kind == RestrictionKind::ImplicitAccess) {
          return make_error(fmt::format(
              "{}: \"{}\": a table needs an access check in front (check_client_access, "
              "check_helo_access, check_sender_access, check_recipient_access, ...)",
              n.parameter, r.name));
        }
      }
    }
    *n.list = std::move(*list);
  }
  std::set<std::string> seen;
  if (!has_required(s.relay, s.classes, seen) && !has_required(s.recipient, s.classes, seen)) {
    return make_error(
        "smtpd_relay_restrictions and smtpd_recipient_restrictions: specify at least one "
        "working instance of reject_unauth_destination, defer_unauth_destination, reject, "
        "defer or defer_if_permit (without one, this server would relay mail for anyone)");
  }

  s.delay_reject = config.get_bool("smtpd_delay_reject");
  RestrictionCodes& c = s.codes;
  struct Code {
    const char* parameter;
    int* value;
  } codes[] = {
      {"reject_code", &c.reject_code},
      {"defer_code", &c.defer_code},
      {"relay_domains_reject_code", &c.relay_domains_reject_code},
      {"access_map_reject_code", &c.access_map_reject_code},
      {"access_map_defer_code", &c.access_map_defer_code},
      {"maps_rbl_reject_code", &c.maps_rbl_reject_code},
      {"unknown_client_reject_code", &c.unknown_client_reject_code},
      {"invalid_hostname_reject_code", &c.invalid_hostname_reject_code},
      {"non_fqdn_reject_code", &c.non_fqdn_reject_code},
      {"unknown_hostname_reject_code", &c.unknown_hostname_reject_code},
      {"unknown_address_reject_code", &c.unknown_address_reject_code},
      {"multi_recipient_bounce_reject_code", &c.multi_recipient_bounce_reject_code},
  };
  for (const Code& code : codes) *code.value = static_cast<int>(config.get_int(code.parameter));

  auto address_action = tempfail_action(config, "unknown_address_tempfail_action");
  if (!address_action.ok()) return address_action.error();
  s.unknown_address_tempfail_action = *address_action;
  auto helo_action = tempfail_action(config, "unknown_helo_hostname_tempfail_action");
  if (!helo_action.ok()) return helo_action.error();
  s.unknown_helo_hostname_tempfail_action = *helo_action;

  s.access_parent_matches_subdomains = false;
  for (const std::string& item : config.get_list("parent_domain_matches_subdomains")) {
    if (item == "smtpd_access_maps") s.access_parent_matches_subdomains = true;
  }
  s.recipient_delimiter = config.get("recipient_delimiter");
  s.null_access_lookup_key = config.get("smtpd_null_access_lookup_key");
  // Not $-expanded by main.cf: the template's $names are the reply's own attributes.
  s.default_rbl_reply = config.get_raw("default_rbl_reply");
  for (const std::string& table : config.get_list("rbl_reply_maps")) {
    if (table.find(':') == std::string::npos) {
      return make_error(fmt::format("rbl_reply_maps: \"{}\" is not a type:table", table));
    }
    s.rbl_reply_maps.push_back(table);
  }
  for (const std::string& table : config.get_list("smtpd_sender_login_maps")) {
    if (table.find(':') == std::string::npos) {
      return make_error(fmt::format("smtpd_sender_login_maps: \"{}\" is not a type:table", table));
    }
    s.sender_login_maps.push_back(table);
  }
  s.policy_default_action = config.get("smtpd_policy_service_default_action");
  s.reject_unlisted_sender = config.get_bool("smtpd_reject_unlisted_sender");
  s.myhostname = config.get("myhostname");
  return s;
}

}  // namespace estafeta::policy
