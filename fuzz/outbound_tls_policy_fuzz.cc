// libFuzzer target: smtp_tls_policy_maps values, TLS protocol lists and policy lookup keys.
// The first byte picks what the rest is. Invariants: an accepted value yields a policy whose
// plan has lowercase, distinct names and some allowed TLS version; lookup keys start with the
// lowercased input and every later key is a ".suffix" of it.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "base/ascii.h"
#include "outbound/tls_plan.h"

using namespace estafeta;
using namespace estafeta::outbound;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 3) {
    case 0: {
      auto entry = parse_tls_policy_entry(text);
      if (!entry.ok()) {
        if (entry.error().message.empty()) std::abort();
        return 0;
      }
      if (parse_tls_level(tls_level_name(entry->level)) != entry->level) std::abort();
      TlsPolicy policy = effective_tls_policy(ClientTlsSettings{}, *entry);
      TlsConnectionPlan plan = plan_tls_connection(policy, "[Example.COM]:25", "MX.example.com");
      if (!plan.protocols.allows(plan.protocols.lowest())) std::abort();
      for (size_t i = 0; i < plan.names.size(); ++i) {
        if (plan.names[i] != ascii::lower(plan.names[i])) std::abort();
        if (std::count(plan.names.begin(), plan.names.end(), plan.names[i]) != 1) std::abort();
      }
      break;
    }
    case 1: {
      auto protocols = parse_tls_protocols(text);
      if (protocols.ok() && !protocols->allows(protocols->highest())) std::abort();
      break;
    }
    case 2: {
      auto keys = tls_policy_lookup_keys(text);
      for (size_t i = 1; i < keys.size(); ++i) {
        if (!keys[i].starts_with(".") || !keys[0].ends_with(keys[i])) std::abort();
      }
      break;
    }
  }
  return 0;
}
