// AddressFacts from the resolver; see address_facts.h.
#include "policy/address_facts.h"

#include "route/canonical_form.h"
#include "route/resolver.h"

namespace estafeta::policy {

AddressFacts resolve_address_facts(const route::RouteSettings& route, std::string_view address) {
  AddressFacts facts;
  std::string canonical = route::canonical_form(route, address);
  route::ResolveResult resolved = route::resolve(route, canonical);
  if (resolved.temp_fail) {
    facts.authorized = Match::TempFail;
    return facts;
  }
  const route::Resolution& r = resolved.resolution;
  bool local = r.address_class == route::AddressClass::Local;
  facts.authorized = (local || (r.address_class != route::AddressClass::Default && !r.routed))
                         ? Match::Yes
                         : Match::No;
  facts.final_destination = local || r.address_class == route::AddressClass::VirtualAlias ||
                            r.address_class == route::AddressClass::VirtualMailbox;
  facts.routed = r.routed;
  facts.resolved = r.recipient;
  return facts;
}

}  // namespace estafeta::policy
