// libFuzzer target: arbitrary master.cf text through parse_master_cf, then listen_addresses
// and max_sessions of every service against the default configuration and against its -o
// overrides. Must never crash or hang.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/config.h"
#include "config/master_cf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace estafeta::config;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  MasterCf m = parse_master_cf(text, "master.cf");
  for (const Diagnostic& d : m.diagnostics) {
    (void)d.to_string();
  }
  LoadResult base = Config::parse("", "main.cf", "/etc/estafeta", "fuzz.example");
  if (!base.config) {
    __builtin_trap();  // the defaults must always load
  }
  for (const Service& s : m.services) {
    (void)listen_addresses(s, *base.config);
    (void)max_sessions(s, *base.config);
    LoadResult o = base.config->with_overrides(s.overrides);
    if (o.config) {
      (void)listen_addresses(s, *o.config);
    }
  }
  return 0;
}
