// Config -> RouteSettings and RecipientPolicy (see route_config.h).
#include "route/route_config.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include "maps/address_search.h"
#include "maps/cidr_map.h"
#include "policy/address_list.h"

namespace estafeta::route {
namespace {

constexpr const char* kDomainListParameters[] = {"mydestination", "virtual_alias_domains",
                                                 "virtual_mailbox_domains", "relay_domains"};
constexpr const char* kRecipientTableParameters[] = {
    "local_recipient_maps", "virtual_alias_maps", "virtual_mailbox_maps", "relay_recipient_maps"};

// A table missing from the set (a check made without opening tables) answers TempFail.
std::vector<const maps::Map*> find_tables(const maps::MapSet& set,
                                          const std::vector<std::string>& specs) {
  std::vector<const maps::Map*> tables;
  for (const auto& spec : specs) tables.push_back(&set.find_or_unavailable(spec));
  return tables;
}

// Postfix's parent_domain_matches_subdomains: listed features match "example.com"'s
// subdomains too; the others only with a leading dot (".example.com").
bool parent_matches_subdomains(const config::Config& config, std::string_view feature) {
  for (const auto& item : config.get_list("parent_domain_matches_subdomains")) {
    if (item == feature) return true;
  }
  return false;
}

Result<policy::DomainList> domain_list(const config::Config& config, const char* name,
                                       const maps::MapSet& set) {
  auto split = policy::split_list_items(config.get_list(name));
  return policy::DomainList(split.literals, find_tables(set, split.tables),
                            parent_matches_subdomains(config, name));
}

// The numeric addresses behind inet_interfaces and proxy_interfaces, so that user@[192.0.2.1]
// is local when 192.0.2.1 is ours.
std::vector<std::string> own_addresses(const config::Config& config) {
  std::vector<std::string> out = config.get_list("proxy_interfaces");
  bool all = false;
  for (const auto& item : config.get_list("inet_interfaces")) {
    if (item == "all") {
      all = true;
    } else if (item == "loopback-only" || item == "localhost") {
      out.push_back("127.0.0.1");
      out.push_back("::1");
    } else {
      out.push_back(item);
    }
  }
  if (!all) return out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    char text[INET6_ADDRSTRLEN] = {};
    if (i->ifa_addr->sa_family == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr, text,
                sizeof(text));
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(i->ifa_addr)->sin6_addr, text,
                sizeof(text));
    } else {
      continue;
    }
    out.emplace_back(text);
  }
  freeifaddrs(list);
  return out;
}

Result<policy::RecipientTables> recipient_tables(const config::Config& config,
                                                 const char* maps_name, const char* code_name,
                                                 const maps::MapSet& set) {
  policy::RecipientTables t;
  auto items = config.get_list(maps_name);
  t.check = !items.empty();
  auto split = policy::split_list_items(items);
  if (!split.literals.empty()) {
    return make_error(
        fmt::format("{}: not a table: \"{}\" (use type:name)", maps_name, split.literals.front()));
  }
  t.tables = maps::make_search_tables(
      split.tables, [&set](std::string_view spec) { return &set.find_or_unavailable(spec); });
  t.reject_code = static_cast<int>(config.get_int(code_name));
  return t;
}

}  // namespace

std::vector<std::string> route_table_specs(const config::Config& config) {
  std::vector<std::string> specs;
  for (const char* name : kDomainListParameters) {
    auto split = policy::split_list_items(config.get_list(name));
    specs.insert(specs.end(), split.tables.begin(), split.tables.end());
  }
  for (const std::string& spec : config.get_list("transport_maps")) specs.push_back(spec);
  for (const std::string& spec : config.get_list("sender_dependent_relayhost_maps")) {
    specs.push_back(spec);
  }
  return specs;
}

std::vector<std::string> recipient_map_specs(const config::Config& config) {
  std::vector<std::string> specs;
  for (const char* name : kRecipientTableParameters) {
    auto split = policy::split_list_items(config.get_list(name));
    specs.insert(specs.end(), split.tables.begin(), split.tables.end());
  }
  return specs;
}

std::vector<std::string> recipient_table_specs(const config::Config& config) {
  std::vector<std::string> specs = route_table_specs(config);
  for (std::string& spec : recipient_map_specs(config)) specs.push_back(std::move(spec));
  auto networks = policy::split_list_items(config.get_list("mynetworks"));
  specs.insert(specs.end(), networks.tables.begin(), networks.tables.end());
  return specs;
}

Result<RouteSettings> make_route_settings(const config::Config& config,
                                          const maps::MapSet& tables) {
  RouteSettings s;
  s.myhostname = config.get("myhostname");
  s.mydomain = config.get("mydomain");
  s.myorigin = config.get("myorigin");
  s.append_dot_mydomain = config.get_bool("append_dot_mydomain");
  s.swap_bangpath = config.get_bool("swap_bangpath");
  s.allow_percent_hack = config.get_bool("allow_percent_hack");
  s.recipient_delimiter = config.get("recipient_delimiter");
  struct {
    const char* name;
    policy::DomainList* list;
  } lists[] = {{"mydestination", &s.mydestination},
               {"virtual_alias_domains", &s.virtual_alias_domains},
               {"virtual_mailbox_domains", &s.virtual_mailbox_domains},
               {"relay_domains", &s.relay_domains}};
  for (auto& [name, list] : lists) {
    auto made = domain_list(config, name, tables);
    if (!made.ok()) return made.error();
    *list = std::move(*made);
  }
  for (const std::string& proxy : config.get_list("proxy_interfaces")) {
    if (!maps::parse_ip_address(proxy).ok()) {
      return make_error(fmt::format(
          "proxy_interfaces: \"{}\" is not a numeric IP address (host names are not supported)",
          proxy));
    }
  }
  s.own_addresses = own_addresses(config);
  s.local_transport = config.get("local_transport");
  s.virtual_transport = config.get("virtual_transport");
  s.relay_transport = config.get("relay_transport");
  s.default_transport = config.get("default_transport");
  s.relayhost = config.get("relayhost");
  auto transport = policy::split_list_items(config.get_list("transport_maps"));
  if (!transport.literals.empty()) {
    return make_error(fmt::format("transport_maps: not a table: \"{}\" (use type:name)",
                                  transport.literals.front()));
  }
  s.transport_maps = maps::make_search_tables(
      transport.tables, [&tables](std::string_view spec) { return &tables.find_or_unavailable(spec); });
  auto sender_relay = policy::split_list_items(config.get_list("sender_dependent_relayhost_maps"));
  if (!sender_relay.literals.empty()) {
    return make_error(
        fmt::format("sender_dependent_relayhost_maps: not a table: \"{}\" (use type:name)",
                    sender_relay.literals.front()));
  }
  s.sender_dependent_relayhost_maps = maps::make_search_tables(
      sender_relay.tables,
      [&tables](std::string_view spec) { return &tables.find_or_unavailable(spec); });
  return s;
}

Result<policy::RecipientPolicy> make_recipient_policy(const config::Config& config,
                                                      const maps::MapSet& tables) {
  policy::RecipientPolicy p;
  auto route = make_route_settings(config, tables);
  if (!route.ok()) return route.error();
  p.route = std::move(*route);
  std::vector<std::string> bad;
  auto networks = policy::split_list_items(config.get_list("mynetworks"));
  p.mynetworks = policy::NetworkSet(policy::NetworkList::parse(networks.literals, &bad),
                                    find_tables(tables, networks.tables));
  if (!bad.empty()) return make_error(fmt::format("mynetworks: bad network: {}", bad.front()));
  p.reject_unlisted_recipient = config.get_bool("smtpd_reject_unlisted_recipient");
  struct {
    const char* maps;
    const char* code;
    policy::RecipientTables* out;
  } kinds[] = {{"local_recipient_maps", "unknown_local_recipient_reject_code", &p.local},
               {"virtual_alias_maps", "unknown_virtual_alias_reject_code", &p.virtual_alias},
               {"virtual_mailbox_maps", "unknown_virtual_mailbox_reject_code", &p.virtual_mailbox},
               {"relay_recipient_maps", "unknown_relay_recipient_reject_code", &p.relay}};
  for (auto& k : kinds) {
    auto made = recipient_tables(config, k.maps, k.code, tables);
    if (!made.ok()) return made.error();
    *k.out = std::move(*made);
  }
  return p;
}

}  // namespace estafeta::route
