// What the address resolver needs to know (Postfix's trivial-rewrite settings) as plain data:
// the local identity, the domain classes and the transport of each class. Filled from main.cf
// by route/route_config.h (the tables are borrowed from a MapSet that must outlive it); tests
// fill it by hand. Pure.
#pragma once

#include <string>
#include <vector>

#include "maps/address_search.h"
#include "policy/address_list.h"

namespace estafeta::route {

struct RouteSettings {
  std::string myhostname = "localhost";
  std::string mydomain = "localdomain";
  std::string myorigin = "localhost";  // appended to unqualified addresses
  bool append_dot_mydomain = false;    // user@host -> user@host.$mydomain
  bool swap_bangpath = true;           // site!user -> user@site
  bool allow_percent_hack = true;      // user%site -> user@site
  std::string recipient_delimiter;     // "+", or several characters ("+-")

  // The address classes, tested in this order (Postfix ADDRESS_CLASS_README).
  policy::DomainList mydestination;          // local
  std::vector<std::string> own_addresses;    // inet_interfaces, proxy_interfaces: [ip] is local
  policy::DomainList virtual_alias_domains;  // virtual alias
  policy::DomainList virtual_mailbox_domains;  // virtual mailbox
  policy::DomainList relay_domains;            // relay

  // "transport[:nexthop]" per class.
  std::string local_transport = "local:localhost";
  std::string virtual_transport = "virtual";
  std::string relay_transport = "relay";
  std::string default_transport = "smtp";
  /// transport_maps (transport(5)): per address or domain, "transport:nexthop" over what the
  /// class gives; an empty part keeps the class's. Searched with the full address (pattern
  /// tables only with it), the address without its extension, the domain, each parent domain
  /// as ".parent", then "*".
  maps::SearchTables transport_maps;
  /// relayhost: the next hop of the relay and default classes when their transport names
  /// none ("[smarthost.example]:587", "smarthost.example"); empty: the recipient's domain.
  std::string relayhost;
  /// sender_dependent_relayhost_maps: per sender ("user@domain", then "@domain"; "<>" for
  /// the null sender), a next hop that replaces relayhost for that message.
  maps::SearchTables sender_dependent_relayhost_maps;

  bool has_remote_tables() const {
    return mydestination.has_remote_tables() || virtual_alias_domains.has_remote_tables() ||
           virtual_mailbox_domains.has_remote_tables() || relay_domains.has_remote_tables();
  }
};

}  // namespace estafeta::route
