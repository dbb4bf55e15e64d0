// The second half of Postfix's trivial-rewrite: which address class a canonical address
// belongs to, and so which transport delivers it and to which next hop. One function, used by
// smtpd at RCPT (is this ours, may it be relayed), by qmgr to route every recipient, and by
// `estafeta address resolve`, so the tool prints exactly what the daemons do.
//
// Classes, tested in this order (Postfix ADDRESS_CLASS_README): local (the domain is in
// mydestination, is an address literal of ours, or is absent), virtual alias
// (virtual_alias_domains: every address must be rewritten by virtual_alias_maps before
// delivery; one that is left over is unknown), virtual mailbox (virtual_mailbox_domains),
// relay (relay_domains), default (anything else). For a local domain, "user%site@local" and
// "site!user@local" are source routes through us: the local domain is stripped and the rest
// resolved again (allow_percent_hack, swap_bangpath). A non-local address that still carries
// such routing ('%', '!' or a quoted '@' in its local part) is marked `routed`: smtpd never
// relays it for a client outside mynetworks. Pure; a table that cannot answer is a TempFail.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "route/route_settings.h"

namespace estafeta::route {

enum class AddressClass { Local, VirtualAlias, VirtualMailbox, Relay, Default };

/// "local", "virtual alias", "virtual mailbox", "relay", "default".
std::string_view class_name(AddressClass c);

struct Resolution {
  AddressClass address_class = AddressClass::Default;
  std::string transport;  // "local", "virtual", "relay", "smtp", "error"
  std::string nexthop;    // the transport's destination; for "error" the DSN text
  std::string recipient;  // the address to deliver (source routes through us removed)
  bool routed = false;    // sender-specified routing in a non-local address
};

struct ResolveResult {
  bool temp_fail = false;  // a domain table could not answer; try again later
  Resolution resolution;
};

/// `address` is in canonical form (route/canonical_form.h). `sender`, when given (the queue
/// manager, `estafeta address resolve -f`), selects sender_dependent_relayhost_maps' entry,
/// which replaces relayhost where relayhost would be the next hop (relay and default class,
/// transport without a next hop; transport_maps still override it).
ResolveResult resolve(const RouteSettings& settings, std::string_view address,
                      std::optional<std::string_view> sender = std::nullopt);

struct SenderRelayhost {
  bool temp_fail = false;
  std::optional<std::string> relayhost;  // nullopt: no entry, relayhost applies
};

/// sender_dependent_relayhost_maps for `sender` ("" is the null sender, looked up as "<>"):
/// the full address, the address without its extension, then "@domain".
SenderRelayhost sender_relayhost(const RouteSettings& settings, std::string_view sender);

/// The route of a recipient of a message with a FILTER "transport:destination"
/// (header_checks(5)): that transport and destination instead of what resolve() says. An empty
/// destination is the recipient's domain (Postfix's default_filter_nexthop left empty).
/// Nullopt when `filter` names no transport (no ':', or nothing before it).
std::optional<Resolution> filter_resolution(std::string_view filter, std::string_view address);

/// Whether `domain` is local (mydestination, or an address literal of ours): Yes/No/TempFail.
policy::Match is_local_domain(const RouteSettings& settings, std::string_view domain);

}  // namespace estafeta::route
