// smtpd_peername_lookup at the edge: the client's host names from DNS, looked up on the
// session's event loop when it connects, before anything about it is logged. The PTR lookup
// of the address, then the forward lookups of its names (in parallel), then the decision of
// policy/client_name.h, whose warnings are logged as Postfix logs them ("warning: hostname
// NAME does not resolve to address ADDR"). How long it can take: what the resolver allows
// (ResolverOptions: a query waits 5 s for a nameserver, 2 rounds, c-ares doubling the wait
// in the second), for the PTR query and then once more for the forward ones.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>

#include "log/logger.h"
#include "outbound/dns_resolver.h"
#include "smtp/server_session.h"

namespace estafeta::daemon {

/// `client` with its hostname, reverse_hostname and their statuses filled in. An address
/// that does not parse keeps "unknown" (NotFound). Never fails: DNS failures are statuses.
/// `resolver` must outlive the lookup.
asio::awaitable<smtp::ClientInfo> look_up_client_names(asio::io_context& io,
                                                       outbound::DnsResolver& resolver,
                                                       const log::Logger& log,
                                                       smtp::ClientInfo client);

}  // namespace estafeta::daemon
