// Where to deliver mail for a domain, as Postfix's smtp client decides it (RFC 5321 5.1,
// RFC 7505): the MX answer gives the hosts to look up (select_mx_hosts), their address answers
// give the ordered (host, preference, address) list to try (plan_targets). Either step may end
// in a failure with its DSN code and text instead. Randomness comes in as a callback so that
// tests are repeatable. Pure: the lookups are made by the caller (mx_lookup.h on Asio).
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "outbound/dns_types.h"

namespace estafeta::outbound {

/// smtp_address_preference.
enum class AddressPreference { Any, Ipv4, Ipv6 };

struct MxPlanSettings {
  /// An MX host of this name is us: only better MX hosts are used (none: a mail loop).
  std::string myhostname;
  /// inet_protocols.
  bool ipv4 = true;
  bool ipv6 = true;
  AddressPreference address_preference = AddressPreference::Any;
  /// smtp_mx_address_limit: most addresses in a plan; 0 means no limit.
  size_t mx_address_limit = 5;
  /// smtp_mx_session_limit: most addresses the client gets a session with (the edge counts
  /// them; the plan does not use it); 0 means no limit.
  size_t mx_session_limit = 2;
};

/// A number in [0, n); n > 0.
using RandomBelow = std::function<size_t(size_t n)>;

/// The end of delivery attempts for this destination: `permanent` bounces (5.x.x), otherwise
/// the mail is deferred (4.x.x). `text` is Postfix's wording, e.g. "Host or domain name not
/// found. Name service error for name=example.com type=MX: Host not found".
struct DeliveryFailure {
  bool permanent = false;
  std::string dsn;
  std::string text;
  friend bool operator==(const DeliveryFailure&, const DeliveryFailure&) = default;
};

struct MxHost {
  std::string host;
  int preference = 0;
  friend bool operator==(const MxHost&, const MxHost&) = default;
};

struct HostSelection {
  /// In the order to try: by preference, equal preferences in random order.
  std::vector<MxHost> hosts;
  /// The domain has no MX records: `hosts` is the domain itself (preference 0).
  bool implicit_mx = false;
  /// Set: no host to look up (nullMX, NXDOMAIN, temporary failure, loops back to myself).
  std::optional<DeliveryFailure> failure;
};

/// The MX answer for `domain` -> the hosts whose addresses to look up. A single MX "." is
/// the null MX (5.1.10); a "." among other MX records is ignored. NXDOMAIN -> 5.4.4,
/// TempFail -> 4.4.3, NoData -> the domain itself. When myhostname is one of the hosts, only
/// hosts with a lower preference value than its own are kept (none -> 5.4.6 loop).
HostSelection select_mx_hosts(std::string_view domain, const DnsAnswer<MxRecord>& mx,
                              const MxPlanSettings& settings, const RandomBelow& random);

/// The address lookup of one host of a selection.
struct HostAddresses {
  MxHost host;
  DnsAnswer<HostAddress> answer;
  /// The lookup that named this host was DNSSEC-validated: the MX answer (its NODATA for an
  /// implicit MX), or true when the host was given without an MX lookup.
  bool named_securely = false;
};

struct DeliveryTarget {
  std::string host;
  int preference = 0;
  HostAddress address;
  /// The lookup that named the host (HostAddresses::named_securely) was DNSSEC-validated
  /// (the AD bit). False: an "insecure MX" (smtp_tls_dane_insecure_mx_policy decides).
  bool mx_secure = false;
  /// The host's address answer was DNSSEC-validated. With mx_secure, the condition for
  /// looking up its TLSA records; without, smtp_tls_dane_insecure_mx_policy says whether to
  /// (outbound/dane.h).
  bool address_secure = false;
  friend bool operator==(const DeliveryTarget&, const DeliveryTarget&) = default;
};

struct MxPlan {
  std::vector<DeliveryTarget> targets;
  /// Set when targets is empty: every host failed; 4.4.3 if a lookup failed temporarily,
  /// else 5.4.4, with the last failing host's name service error.
  std::optional<DeliveryFailure> failure;
};

/// The hosts' addresses (in the selection's order) -> the addresses to try. Hosts whose
/// lookup failed are skipped. Addresses of a family inet_protocols excludes are dropped, as
/// are repeats. Within one preference, the addresses of each host are shuffled and then
/// smtp_address_preference's family goes first. The list is cut at smtp_mx_address_limit; if
/// that leaves one family of two, the last kept address gives way to the first of the other
/// (Postfix's smtp_balance_inet_protocols).
MxPlan plan_targets(const std::vector<HostAddresses>& lookups, const MxPlanSettings& settings,
                    const RandomBelow& random);

/// The address families to look up for a host under these settings.
Families families_to_look_up(const MxPlanSettings& settings);

}  // namespace estafeta::outbound
