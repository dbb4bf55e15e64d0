// The main.cf settings of outbound DNS: resolver_nameservers (an Estafeta addition) and the
// resolver's timeout and tries, and the MX plan's settings (inet_protocols,
// smtp_address_preference, smtp_mx_address_limit, smtp_mx_session_limit, myhostname).
// Pure: reads a config::Config snapshot.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "config/config.h"
#include "outbound/mx_plan.h"

namespace estafeta::outbound {

struct ResolverOptions {
  /// "host[:port]": an IPv4 address, or an IPv6 address alone or as "[address]:port"
  /// (port 53 by default). Empty: the nameservers of /etc/resolv.conf, as c-ares reads it.
  std::vector<std::string> nameservers;
  /// How long to wait for one reply from one nameserver, and how many rounds over them.
  std::chrono::milliseconds timeout{5000};
  int tries = 2;
};

/// The nameserver list in c-ares's "ip:port,[ip6]:port" form, each entry checked (numeric
/// addresses only: no name can be looked up before there is a nameserver).
Result<std::string> nameserver_csv(const std::vector<std::string>& nameservers);

/// ResolverOptions from main.cf (resolver_nameservers; timeout and tries keep their defaults).
ResolverOptions resolver_options(const config::Config& config);

/// MxPlanSettings from main.cf.
MxPlanSettings mx_plan_settings(const config::Config& config);

}  // namespace estafeta::outbound
