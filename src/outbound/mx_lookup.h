// The lookups behind an MX plan on Asio: the MX answer (or none, for a bracketed next hop),
// then every selected host's addresses, then mx_plan.h decides. What the smtp agent calls to
// learn where to connect.
#pragma once

#include <asio/awaitable.hpp>
#include <string>

#include "outbound/dns_resolver.h"
#include "outbound/mx_plan.h"

namespace estafeta::outbound {

/// With `mx_lookup`, the MX hosts of `destination` (or, without MX records, the destination
/// itself); without, the host `destination` alone, whose address may be numeric (no lookup).
/// Host addresses are looked up one host after the other, in the selection's order. Each
/// target says whether its MX and address answers were DNSSEC-validated (a numeric address
/// never is).
/// `resolver` must outlive the coroutine.
asio::awaitable<MxPlan> plan_delivery(DnsResolver& resolver, std::string destination,
                                      bool mx_lookup, MxPlanSettings settings, RandomBelow random);

}  // namespace estafeta::outbound
