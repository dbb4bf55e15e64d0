// Address classes and transports (see resolver.h).
#include "route/resolver.h"

#include <algorithm>

#include "base/ascii.h"
#include "maps/search_keys.h"

namespace estafeta::route {
namespace {

struct TransportSpec {
  std::string transport;
  std::string nexthop;
};

// "smtp:[relay.example]:587" -> {"smtp", "[relay.example]:587"}; "virtual" -> {"virtual", ""}.
TransportSpec parse_transport(std::string_view spec) {
  auto colon = spec.find(':');
  if (colon == std::string_view::npos) return {std::string(spec), {}};
  return {std::string(spec.substr(0, colon)), std::string(spec.substr(colon + 1))};
}

// `fallback_nexthop`: the next hop when the transport names none (relayhost), or "" for the
// recipient's domain.
Resolution make(AddressClass c, std::string_view spec, std::string recipient,
                std::string_view domain, std::string_view fallback_nexthop = {}) {
  TransportSpec t = parse_transport(spec);
  Resolution r;
  r.address_class = c;
  r.transport = std::move(t.transport);
  if (!t.nexthop.empty()) {
    r.nexthop = std::move(t.nexthop);
  } else {
    r.nexthop = std::string(fallback_nexthop.empty() ? domain : fallback_nexthop);
  }
  r.recipient = std::move(recipient);
  return r;
}

// transport(5): the first transport_maps entry for the address, its domain, a parent domain
// (".parent") or "*" replaces the class's transport and next hop, each where it is not
// empty. False: a table could not answer.
bool apply_transport_maps(const RouteSettings& settings, std::string_view address,
                          std::string_view domain, Resolution& r) {
  if (settings.transport_maps.empty()) return true;
  std::vector<std::pair<std::string, bool>> keys;  // key, partial
  keys.emplace_back(ascii::lower(address), false);
  if (!settings.recipient_delimiter.empty()) {
    maps::AddressParts parts = maps::split_address(address);
    const size_t cut = parts.local.find_first_of(settings.recipient_delimiter);
    if (cut != std::string_view::npos && cut > 0) {
      keys.emplace_back(ascii::lower(std::string(parts.local.substr(0, cut)) + "@" +
                                     std::string(parts.domain)),
                        true);
    }
  }
  if (!domain.empty()) {
    keys.emplace_back(std::string(domain), true);
    for (size_t dot = domain.find('.'); dot != std::string_view::npos;
         dot = domain.find('.', dot + 1)) {
      keys.emplace_back(std::string(domain.substr(dot)), true);
    }
  }
  keys.emplace_back("*", true);
  for (const auto& [key, partial] : keys) {
    maps::LookupResult found = maps::lookup_key(settings.transport_maps, key, partial);
    if (found.is_temp_fail()) return false;
    if (!found.is_found()) continue;
    TransportSpec t = parse_transport(ascii::trim(found.value));
    // The queue manager's own transports take their text from the entry alone.
    const bool builtin = t.transport == "error" || t.transport == "retry" ||
                         t.transport == "discard";
    if (!t.transport.empty()) r.transport = std::move(t.transport);
    if (!t.nexthop.empty() || builtin) r.nexthop = std::move(t.nexthop);
    return true;
  }
  return true;
}

// What relayhost is for this message: sender_dependent_relayhost_maps first.
bool effective_relayhost(const RouteSettings& settings, std::optional<std::string_view> sender,
                         std::string& relayhost) {
  relayhost = settings.relayhost;
  if (!sender) return true;
  SenderRelayhost found = sender_relayhost(settings, *sender);
  if (found.temp_fail) return false;
  if (found.relayhost) relayhost = std::move(*found.relayhost);
  return true;
}

// A local part without its RFC 5322 quoting: "a b"@x -> a b, "a\"b" -> a"b.
std::string dequoted(std::string_view local) {
  if (local.find('"') == std::string_view::npos) return std::string(local);
  std::string out;
  bool escaped = false;
  for (char c : local) {
    if (escaped) {
      out += c;
      escaped = false;
    } else if (c == '\\') {
      escaped = true;
    } else if (c != '"') {
      out += c;
    }
  }
  return out;
}

bool has_routing(std::string_view local) {
  return local.find_first_of("%!@") != std::string_view::npos;
}

}  // namespace

std::string_view class_name(AddressClass c) {
  switch (c) {
    case AddressClass::Local:
      return "local";
    case AddressClass::VirtualAlias:
      return "virtual alias";
    case AddressClass::VirtualMailbox:
      return "virtual mailbox";
    case AddressClass::Relay:
      return "relay";
    case AddressClass::Default:
      return "default";
  }
  return "default";
}

policy::Match is_local_domain(const RouteSettings& settings, std::string_view domain) {
  if (domain.empty()) return policy::Match::Yes;
  if (domain.front() == '[' && domain.back() == ']') {
    std::string_view literal = domain.substr(1, domain.size() - 2);
    if (ascii::istarts_with(literal, "IPv6:")) literal.remove_prefix(5);
    bool ours = std::any_of(settings.own_addresses.begin(), settings.own_addresses.end(),
                            [&](const std::string& a) { return ascii::iequals(a, literal); });
    return ours ? policy::Match::Yes : policy::Match::No;
  }
  return settings.mydestination.contains(domain);
}

SenderRelayhost sender_relayhost(const RouteSettings& settings, std::string_view sender) {
  SenderRelayhost out;
  if (settings.sender_dependent_relayhost_maps.empty()) return out;
  std::vector<std::pair<std::string, bool>> keys;  // key, partial
  if (sender.empty()) {
    keys.emplace_back("<>", false);
  } else {
    keys.emplace_back(ascii::lower(sender), false);
    maps::AddressParts parts = maps::split_address(sender);
    if (!settings.recipient_delimiter.empty()) {
      const size_t cut = parts.local.find_first_of(settings.recipient_delimiter);
      if (cut != std::string_view::npos && cut > 0) {
        std::string bare = std::string(parts.local.substr(0, cut));
        if (!parts.domain.empty()) bare += "@" + std::string(parts.domain);
        keys.emplace_back(ascii::lower(bare), true);
      }
    }
    if (!parts.domain.empty()) keys.emplace_back("@" + ascii::lower(parts.domain), true);
  }
  for (const auto& [key, partial] : keys) {
    maps::LookupResult found =
        maps::lookup_key(settings.sender_dependent_relayhost_maps, key, partial);
    if (found.is_temp_fail()) {
      out.temp_fail = true;
      return out;
    }
    if (found.is_found()) {
      out.relayhost = std::string(ascii::trim(found.value));
      return out;
    }
  }
  return out;
}

ResolveResult resolve(const RouteSettings& settings, std::string_view address,
                      std::optional<std::string_view> sender) {
  std::string current(address);
  ResolveResult out;
  // Each pass removes one local hop of a source route, so this ends.
  for (;;) {
    maps::AddressParts parts = maps::split_address(current);
    std::string domain = ascii::lower(parts.domain);
    while (!domain.empty() && domain.back() == '.') domain.pop_back();
    std::string_view local = parts.local;

    policy::Match local_domain = is_local_domain(settings, domain);
    if (local_domain == policy::Match::TempFail) return ResolveResult{true, {}};
    if (local_domain == policy::Match::Yes) {
      // "user@elsewhere"@local (or user@elsewhere@local): a source route through us whatever
      // the quotes, as Postfix resolves with resolve_dequoted = yes; the rest is resolved
      // again, so it is never taken for one of our mailboxes.
      if (std::string bare = dequoted(local); bare.find('@') != std::string::npos) {
        current = std::move(bare);
        continue;
      }
      if (settings.allow_percent_hack) {
        if (auto percent = local.rfind('%'); percent != std::string_view::npos) {
          current =
              std::string(local.substr(0, percent)) + "@" + std::string(local.substr(percent + 1));
          continue;
        }
      }
      if (settings.swap_bangpath) {
        if (auto bang = local.find('!'); bang != std::string_view::npos && bang > 0) {
          current = std::string(local.substr(bang + 1)) + "@" + std::string(local.substr(0, bang));
          continue;
        }
      }
      out.resolution = make(AddressClass::Local, settings.local_transport, current, domain);
      if (!apply_transport_maps(settings, current, domain, out.resolution)) {
        return ResolveResult{true, {}};
      }
      return out;
    }

    auto classify = [&](const policy::DomainList& list) {
      policy::Match m = list.contains(domain);
      if (m == policy::Match::TempFail) out.temp_fail = true;
      return m == policy::Match::Yes;
    };
    if (classify(settings.virtual_alias_domains)) {
      out.resolution = make(AddressClass::VirtualAlias,
                            "error:5.1.1 User unknown in virtual alias table", current, domain);
    } else if (!out.temp_fail && classify(settings.virtual_mailbox_domains)) {
      out.resolution =
          make(AddressClass::VirtualMailbox, settings.virtual_transport, current, domain);
    } else if (!out.temp_fail && classify(settings.relay_domains)) {
      std::string relayhost;
      if (!effective_relayhost(settings, sender, relayhost)) return ResolveResult{true, {}};
      out.resolution =
          make(AddressClass::Relay, settings.relay_transport, current, domain, relayhost);
    } else if (!out.temp_fail) {
      std::string relayhost;
      if (!effective_relayhost(settings, sender, relayhost)) return ResolveResult{true, {}};
      out.resolution =
          make(AddressClass::Default, settings.default_transport, current, domain, relayhost);
    }
    if (out.temp_fail) return ResolveResult{true, {}};
    out.resolution.routed = has_routing(local);
    if (!apply_transport_maps(settings, current, domain, out.resolution)) {
      return ResolveResult{true, {}};
    }
    return out;
  }
}

std::optional<Resolution> filter_resolution(std::string_view filter, std::string_view address) {
  const size_t colon = filter.find(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  Resolution r;
  r.transport = std::string(filter.substr(0, colon));
  r.nexthop = std::string(filter.substr(colon + 1));
  if (r.nexthop.empty()) {
    const size_t at = address.rfind('@');
    if (at != std::string_view::npos) r.nexthop = std::string(address.substr(at + 1));
  }
  r.recipient = std::string(address);
  return r;
}

}  // namespace estafeta::route
