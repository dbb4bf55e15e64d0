// Fuzz target: the next-hop syntax (outbound/next_hop.h) and the resolver_nameservers items
// (outbound/dns_settings.h). Each input line is one next hop and one nameserver item.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "outbound/dns_settings.h"
#include "outbound/next_hop.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> lines;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    lines.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  for (const std::string& line : lines) {
    auto hop = estafeta::outbound::parse_next_hop(line);
    if (hop.ok() && (hop->host.empty() || hop->port == 0)) __builtin_trap();
  }
  (void)estafeta::outbound::nameserver_csv(lines);
  return 0;
}
