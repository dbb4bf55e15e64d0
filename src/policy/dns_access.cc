// DNS-based access checks and permit_mx_backup; see dns_access.h.
#include "policy/dns_access.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>

#include "base/ascii.h"
#include "maps/cidr_map.h"

namespace estafeta::policy {
namespace {

struct Server {
  std::string host;
  int preference = 0;
};

bool not_found(const DnsAnswer& answer) {
  return answer.status == DnsAnswer::Status::NotFound || answer.status == DnsAnswer::Status::NoData;
}

std::string reason_of(const DnsAnswer& answer) {
  if (!answer.reason.empty()) return answer.reason;
  switch (answer.status) {
    case DnsAnswer::Status::Ok: return "Success";
    case DnsAnswer::Status::NotFound: return "Host not found";
    case DnsAnswer::Status::NoData: return "No address associated with name";
    case DnsAnswer::Status::TempFail: return "Host not found, try again";
  }
  return "";
}

std::string_view strip_trailing_dot(std::string_view name) {
  if (name.size() > 1 && name.back() == '.') name.remove_suffix(1);
  return name;
}

// "[192.0.2.1]" or "[IPv6:2001:db8::1]" -> the address; a bare numeric name as it is.
std::optional<std::string> literal_address(std::string_view domain) {
  if (domain.size() >= 2 && domain.front() == '[' && domain.back() == ']') {
    domain = domain.substr(1, domain.size() - 2);
    if (domain.size() > 5 && ascii::iequals(domain.substr(0, 5), "IPv6:")) domain.remove_prefix(5);
    return std::string(domain);
  }
  if (maps::parse_ip_address(domain).ok()) return std::string(domain);
  return std::nullopt;
}

bool same_address(std::string_view a, std::string_view b) {
  auto x = maps::parse_ip_address(a);
  auto y = maps::parse_ip_address(b);
  if (!x.ok() || !y.ok()) return ascii::iequals(a, b);
  return x->v6 == y->v6 && x->bytes == y->bytes;
}

// Searches every address of `addresses` and its shorter prefixes.
SearchOutcome search_addresses(DnsCheckContext& context, const std::vector<std::string>& addresses) {
  for (const std::string& address : addresses) {
    SearchOutcome outcome = context.search(client_address_keys(address));
    if (outcome != SearchOutcome::NotFound) return outcome;
  }
  return SearchOutcome::NotFound;
}

enum class Servers { Pending, Found, None };

// The MX hosts of `domain` in preference order (the domain itself without MX records), or
// its name servers (those of the nearest parent with NS records).
Servers find_servers(DnsCheckContext& context, ServerType type, std::string_view domain,
                     std::vector<Server>& out) {
  std::string name(domain);
  DnsType query = type == ServerType::MX ? DnsType::MX : DnsType::NS;
  auto answer = context.dns(name, query);
  if (!answer) return Servers::Pending;
  if (type == ServerType::MX && not_found(*answer)) {
    out.push_back({name, 0});  // no MX: the name is its own mail exchanger
    return Servers::Found;
  }
  if (type == ServerType::NS) {
    // No NS records here: ask the parent domains, up to (not including) the root.
    std::string_view rest = domain;
    while (not_found(*answer)) {
      size_t dot = rest.find('.');
      if (dot == std::string_view::npos || dot + 1 >= rest.size()) break;
      rest.remove_prefix(dot + 1);
      name = std::string(rest);
      answer = context.dns(name, query);
      if (!answer) return Servers::Pending;
    }
  }
  if (answer->status != DnsAnswer::Status::Ok) {
    context.warning(fmt::format("Unable to look up {} host for {}: {}", server_type_name(type),
                                name, reason_of(*answer)));
    return Servers::None;
  }
  for (size_t i = 0; i < answer->values.size(); ++i) {
    int preference = i < answer->preferences.size() ? answer->preferences[i] : 0;
    std::string host(strip_trailing_dot(answer->values[i]));
    if (host.empty() || host == ".") continue;  // a null MX (RFC 7505): no host to check
    out.push_back({std::move(host), preference});
  }
  std::stable_sort(out.begin(), out.end(), [](const Server& a, const Server& b) {
    return a.preference < b.preference;
  });
  return Servers::Found;
}

}  // namespace

std::optional<ServerAccessKind> server_access_kind(RestrictionKind kind) {
  using K = RestrictionKind;
  using T = ServerType;
  using S = ServerSubject;
  switch (kind) {
    case K::CheckClientAAccess: return ServerAccessKind{T::A, S::Client};
    case K::CheckClientMxAccess: return ServerAccessKind{T::MX, S::Client};
    case K::CheckClientNsAccess: return ServerAccessKind{T::NS, S::Client};
    case K::CheckReverseClientHostnameAAccess: return ServerAccessKind{T::A, S::ReverseClient};
    case K::CheckReverseClientHostnameMxAccess: return ServerAccessKind{T::MX, S::ReverseClient};
    case K::CheckReverseClientHostnameNsAccess: return ServerAccessKind{T::NS, S::ReverseClient};
    case K::CheckHeloAAccess: return ServerAccessKind{T::A, S::Helo};
    case K::CheckHeloMxAccess: return ServerAccessKind{T::MX, S::Helo};
    case K::CheckHeloNsAccess: return ServerAccessKind{T::NS, S::Helo};
    case K::CheckSenderAAccess: return ServerAccessKind{T::A, S::Sender};
    case K::CheckSenderMxAccess: return ServerAccessKind{T::MX, S::Sender};
    case K::CheckSenderNsAccess: return ServerAccessKind{T::NS, S::Sender};
    case K::CheckRecipientAAccess: return ServerAccessKind{T::A, S::Recipient};
    case K::CheckRecipientMxAccess: return ServerAccessKind{T::MX, S::Recipient};
    case K::CheckRecipientNsAccess: return ServerAccessKind{T::NS, S::Recipient};
    default: return std::nullopt;
  }
}

std::string_view server_type_name(ServerType type) {
  switch (type) {
    case ServerType::A: return "A";
    case ServerType::MX: return "MX";
    case ServerType::NS: return "NS";
  }
  return "";
}

SearchOutcome search_servers(DnsCheckContext& context, ServerType type, std::string_view domain,
                             ParentStyle style, std::string_view reply_class,
                             std::string_view reply_name) {
  domain = strip_trailing_dot(domain);
  if (domain.empty()) return SearchOutcome::NotFound;
  if (auto literal = literal_address(domain)) {
    // An address is its own A record and mail exchanger; it has no name server.
    if (type == ServerType::NS || !maps::parse_ip_address(*literal).ok()) {
      return SearchOutcome::NotFound;
    }
    return search_addresses(context, {*literal});
  }
  if (type == ServerType::A) {
    std::string name(domain);
    auto answer = context.dns(name, DnsType::Address);
    if (!answer) return SearchOutcome::Pending;
    if (answer->status != DnsAnswer::Status::Ok) {
      context.warning(
          fmt::format("Unable to look up A host for {}: {}", name, reason_of(*answer)));
      return SearchOutcome::NotFound;
    }
    return search_addresses(context, answer->values);
  }
  std::vector<Server> servers;
  Servers found = find_servers(context, type, domain, servers);
  if (found == Servers::Pending) return SearchOutcome::Pending;
  for (const Server& server : servers) {
    SearchOutcome outcome = context.search(host_name_keys(server.host, style));
    if (outcome != SearchOutcome::NotFound) return outcome;
    auto addresses = context.dns(server.host, DnsType::Address);
    if (!addresses) return SearchOutcome::Pending;
    if (addresses->status != DnsAnswer::Status::Ok) {
      context.warning(fmt::format("Unable to look up {} host {} for {} {}: {}",
                                  server_type_name(type), server.host, reply_class, reply_name,
                                  reason_of(*addresses)));
      continue;
    }
    outcome = search_addresses(context, addresses->values);
    if (outcome != SearchOutcome::NotFound) return outcome;
  }
  return SearchOutcome::NotFound;
}

namespace {

enum class Answer { Pending, Yes, No };

// Postfix's i_am_mx(): one of `hosts` is this machine, by name, else by address. A host
// whose addresses cannot be looked up for now makes a later rejection a deferral.
Answer is_local(DnsCheckContext& context, const std::vector<Server>& hosts,
                const MxBackupSettings& settings, std::string_view reply_class,
                std::string_view reply_name) {
  for (const Server& host : hosts) {
    if (!settings.myhostname.empty() &&
        ascii::iequals(host.host, strip_trailing_dot(settings.myhostname))) {
      return Answer::Yes;
    }
  }
  for (const Server& host : hosts) {
    auto addresses = context.dns(host.host, DnsType::Address);
    if (!addresses) return Answer::Pending;
    if (addresses->status == DnsAnswer::Status::TempFail) {
      context.defer_if_reject(
          450, "4.4.4",
          fmt::format("<{}>: {} rejected: Unable to look up host {} as mail exchanger: {}",
                      reply_name, reply_class, host.host, reason_of(*addresses)));
      continue;
    }
    if (addresses->status != DnsAnswer::Status::Ok) continue;
    for (const std::string& address : addresses->values) {
      for (const std::string& own : settings.own_addresses) {
        if (same_address(address, own)) return Answer::Yes;
      }
    }
  }
  return Answer::No;
}

}  // namespace

MxBackupOutcome mx_backup(DnsCheckContext& context, std::string_view domain,
                          const MxBackupSettings& settings, std::string_view reply_class,
                          std::string_view reply_name) {
  std::string name(strip_trailing_dot(domain));
  if (name.empty()) return MxBackupOutcome::Dunno;
  auto answer = context.dns(name, DnsType::MX);
  if (!answer) return MxBackupOutcome::Pending;
  if (answer->status != DnsAnswer::Status::Ok) {
    if (answer->status == DnsAnswer::Status::TempFail) {
      context.defer_if_reject(
          450, "4.4.4",
          fmt::format("<{}>: {} rejected: Unable to look up mail exchanger information: {}",
                      reply_name, reply_class, reason_of(*answer)));
    }
    return MxBackupOutcome::Dunno;
  }
  std::vector<Server> primaries;
  std::vector<Server> backups;
  {
    std::vector<Server> all;
    for (size_t i = 0; i < answer->values.size(); ++i) {
      std::string host(strip_trailing_dot(answer->values[i]));
      if (host.empty() || host == ".") return MxBackupOutcome::Dunno;  // null MX: no mail
      all.push_back({std::move(host), i < answer->preferences.size() ? answer->preferences[i] : 0});
    }
    if (all.empty()) return MxBackupOutcome::Dunno;
    int best = std::accumulate(all.begin(), all.end(), all.front().preference,
                               [](int m, const Server& s) { return std::min(m, s.preference); });
    for (Server& s : all) (s.preference == best ? primaries : backups).push_back(std::move(s));
  }
  // Since Postfix 2.3: never as a primary MX host (that is a configuration error, or a trick).
  Answer primary = is_local(context, primaries, settings, reply_class, reply_name);
  if (primary == Answer::Pending) return MxBackupOutcome::Pending;
  if (primary == Answer::Yes || backups.empty()) return MxBackupOutcome::Dunno;
  Answer backup = is_local(context, backups, settings, reply_class, reply_name);
  if (backup == Answer::Pending) return MxBackupOutcome::Pending;
  if (backup == Answer::No) return MxBackupOutcome::Dunno;
  if (settings.networks == nullptr) return MxBackupOutcome::Permit;
  // permit_mx_backup_networks: every address of every primary MX host must be listed.
  for (const Server& host : primaries) {
    auto addresses = context.dns(host.host, DnsType::Address);
    if (!addresses) return MxBackupOutcome::Pending;
    if (addresses->status != DnsAnswer::Status::Ok) {
      if (addresses->status == DnsAnswer::Status::TempFail) {
        context.defer_if_reject(
            450, "4.4.4",
            fmt::format("<{}>: {} rejected: Unable to look up host {} as mail exchanger: {}",
                        reply_name, reply_class, host.host, reason_of(*addresses)));
      }
      return MxBackupOutcome::Dunno;
    }
    for (const std::string& address : addresses->values) {
      Match listed = settings.networks->contains(address);
      if (listed == Match::TempFail) return MxBackupOutcome::TempFail;
      if (listed != Match::Yes) return MxBackupOutcome::Dunno;
    }
  }
  return MxBackupOutcome::Permit;
}

}  // namespace estafeta::policy
