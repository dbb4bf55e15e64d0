// libFuzzer target: arbitrary main.cf text through Config::parse, then get() of every known
// parameter and the postconf renderings, then -o overrides built from the input. Must never
// crash, hang or grow without bound (expansion has depth and length caps).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.h"
#include "config/parameters.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  using estafeta::config::Config;
  estafeta::config::LoadResult r = Config::parse(text, "main.cf", "/etc/estafeta", "fuzz");
  for (const auto& d : r.diagnostics) {
    (void)d.to_string();
  }
  if (!r.config) {
    return 0;
  }
  const Config& c = *r.config;
  for (const estafeta::config::ParamSpec& p : estafeta::config::all_parameters()) {
    (void)c.get(p.name);
    (void)c.get_int(p.name);
    (void)c.get_bool(p.name);
    (void)c.get_seconds(p.name);
    (void)c.get_list(p.name);
    (void)c.postconf_line(p.name, true);
  }
  (void)c.postconf_n();
  (void)c.postconf_d();
  // Reuse the first line as an override "name=value".
  std::string_view first = text.substr(0, text.find('\n'));
  size_t eq = first.find('=');
  if (eq != std::string_view::npos) {
    (void)c.with_overrides({{std::string(first.substr(0, eq)), std::string(first.substr(eq + 1))}});
  }
  return 0;
}
