// `estafeta map` (postmap); see map_command.h. The machinery is table_tool.cc's; this file
// says how a postmap source line reads.
#include "cli/map_command.h"

#include "base/ascii.h"
#include "cli/table_tool.h"
#include "maps/source_table.h"

namespace estafeta::cli {
namespace {

// "key whitespace value", with postmap's compile-time warnings.
SourceLine parse_postmap_line(const maps::LogicalLine& line, const std::string& source_name,
                              bool fold_keys) {
  SourceLine out;
  std::string where = source_name + ", line " + std::to_string(line.line);
  out.entry = maps::split_source_line(line.text);
  if (!out.entry) {
    out.warnings.push_back(where + ": expected format: key whitespace value");
    return out;
  }
  if (out.entry->key.back() == ':') {
    out.warnings.push_back(where + ": record is in \"key: value\" format; is this an alias file?");
  }
  if (fold_keys) out.entry->key = ascii::lower(out.entry->key);
  return out;
}

constexpr TableTool kMapTool{
    "estafeta map",
    "usage: estafeta map [-bfFhimnNoprsuUvw] [-c config_dir] [-d key] [-q key] "
    "[map_type:]file...",
    parse_postmap_line, true};

}  // namespace

int run_map_command(const std::vector<std::string>& args) { return run_table_tool(kMapTool, args); }

}  // namespace estafeta::cli
