// The TLSA lookup behind a DANE decision: see dane_lookup.h.
#include "outbound/dane_lookup.h"

namespace estafeta::outbound {

asio::awaitable<DaneDecision> dane_for_server(DnsResolver& resolver, DaneFacts facts) {
  if (!needs_tlsa_lookup(facts)) co_return decide_dane(facts, nullptr);
  const DnsAnswer<TlsaRecord> tlsa =
      co_await resolver.tlsa(tlsa_query_name(facts.host, facts.port));
  co_return decide_dane(facts, &tlsa);
}

}  // namespace estafeta::outbound
