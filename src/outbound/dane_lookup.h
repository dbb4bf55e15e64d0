// The DANE decision for one server on Asio: the TLSA lookup at _PORT._tcp.HOST when
// outbound/dane.h says it is needed (a DANE level, smtp_dns_support_level = dnssec, the
// server's MX and address answers DNSSEC-validated), then the pure decision. What the smtp
// agent calls before it connects to a server.
#pragma once

#include <asio/awaitable.hpp>

#include "outbound/dane.h"
#include "outbound/dns_resolver.h"

namespace estafeta::outbound {

/// `resolver` must outlive the coroutine.
asio::awaitable<DaneDecision> dane_for_server(DnsResolver& resolver, DaneFacts facts);

}  // namespace estafeta::outbound
