// maps_bench: in-process lookup rates and load cost of tables (not a test; see
// bench/maps_bench.sh and bench/RESULTS.md). Usage:
//   maps_bench lookup SPEC KEYFILE [SECONDS]   lookups/s over the keys, one thread
//   maps_bench load SPEC                       seconds to open, and resident memory after
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "maps/open_map.h"

namespace {

using Clock = std::chrono::steady_clock;

long max_rss_kib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

int usage() {
  std::fprintf(stderr, "usage: maps_bench lookup SPEC KEYFILE [SECONDS] | load SPEC\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  std::string mode = argv[1];
  std::string spec = argv[2];
  long rss_before = max_rss_kib();
  auto t0 = Clock::now();
  auto opened = estafeta::maps::open_map(spec, {});
  double open_s = std::chrono::duration<double>(Clock::now() - t0).count();
  if (!opened.ok()) {
    std::fprintf(stderr, "maps_bench: %s\n", opened.error().message.c_str());
    return 1;
  }
  if (mode == "load") {
    std::printf("open_seconds=%.3f max_rss_mib=%.1f rss_growth_mib=%.1f warnings=%zu\n", open_s,
                max_rss_kib() / 1024.0, (max_rss_kib() - rss_before) / 1024.0,
                opened->warnings.size());
    return 0;
  }
  if (mode != "lookup" || argc < 4) return usage();
  std::vector<std::string> keys;
  std::ifstream in(argv[3]);
  for (std::string line; std::getline(in, line);) keys.push_back(line);
  if (keys.empty()) return usage();
  double seconds = argc > 4 ? std::stod(argv[4]) : 2.0;
  size_t done = 0;
  size_t found = 0;
  auto start = Clock::now();
  double elapsed = 0;
  while (elapsed < seconds) {
    for (size_t i = 0; i < 1000; ++i) {
      if (opened->map->lookup(keys[done % keys.size()]).is_found()) ++found;
      ++done;
    }
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  }
  std::printf("lookups=%zu found=%zu seconds=%.3f lookups_per_second=%.0f\n", done, found, elapsed,
              done / elapsed);
  return 0;
}
