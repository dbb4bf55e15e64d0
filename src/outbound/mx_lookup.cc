// The lookups behind an MX plan: see mx_lookup.h.
#include "outbound/mx_lookup.h"

#include <asio/ip/address.hpp>

namespace estafeta::outbound {

asio::awaitable<MxPlan> plan_delivery(DnsResolver& resolver, std::string destination,
                                      bool mx_lookup, MxPlanSettings settings, RandomBelow random) {
  std::vector<HostAddresses> lookups;
  std::error_code not_numeric;
  asio::ip::address literal = asio::ip::make_address(destination, not_numeric);
  if (!mx_lookup && !not_numeric) {
    DnsAnswer<asio::ip::address> answer;
    answer.status = DnsStatus::Ok;
    answer.records.push_back(literal);
    lookups.push_back(HostAddresses{MxHost{destination, 0}, to_host_addresses(answer), false});
    co_return plan_targets(lookups, settings, random);
  }
  HostSelection selection;
  bool named_securely = true;  // a host given as the next hop itself
  if (mx_lookup) {
    const DnsAnswer<MxRecord> mx = co_await resolver.mx(destination);
    named_securely = mx.authenticated;
    selection = select_mx_hosts(destination, mx, settings, random);
    if (selection.failure) co_return MxPlan{{}, selection.failure};
  } else {
    selection.hosts.push_back(MxHost{destination, 0});
  }
  Families families = families_to_look_up(settings);
  for (const MxHost& host : selection.hosts) {
    auto answer = co_await resolver.addresses(host.host, families);
    lookups.push_back(HostAddresses{host, to_host_addresses(answer), named_securely});
  }
  co_return plan_targets(lookups, settings, random);
}

}  // namespace estafeta::outbound
