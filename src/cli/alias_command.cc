// `estafeta alias` (postalias) and newaliases; see alias_command.h.
#include "cli/alias_command.h"

#include <cstdio>

#include "cli/table_tool.h"
#include "config/config.h"
#include "maps/alias_source.h"
#include "maps/map_spec.h"

namespace estafeta::cli {
namespace {

SourceLine parse_aliases_line(const maps::LogicalLine& line, const std::string& source_name,
                              bool fold_keys) {
  maps::CheckedAliasLine checked = maps::check_alias_line(line, source_name, fold_keys);
  SourceLine out;
  if (!checked.entry) {
    out.warnings.push_back(std::move(checked.warning));
    return out;
  }
  out.entry = maps::Entry{std::move(checked.entry->name), std::move(checked.entry->value)};
  return out;
}

constexpr const char* kAliasUsage =
    "usage: estafeta alias [-Nfinoprsuvw] [-c config_dir] [-d key] [-q key] "
    "[map_type:]file...";

}  // namespace

int run_alias_command(const std::vector<std::string>& args) {
  const TableTool tool{"estafeta alias", kAliasUsage, parse_aliases_line, false};
  return run_table_tool(tool, args);
}

int run_newaliases(const std::string& program, const std::string& config_dir) {
  const TableTool tool{program.c_str(), kAliasUsage, parse_aliases_line, false};
  config::LoadResult loaded = config::Config::load(config_dir);
  for (const config::Diagnostic& d : loaded.diagnostics) {
    if (d.is_error) std::fprintf(stderr, "%s\n", d.to_string().c_str());
  }
  if (!loaded.config) {
    std::fprintf(stderr, "%s: fatal: %s/main.cf: configuration error\n", program.c_str(),
                 config_dir.c_str());
    return 1;
  }
  for (const std::string& item : loaded.config->get_list("alias_database")) {
    Result<maps::MapSpec> spec = maps::parse_map_spec(item, "lmdb");
    if (spec.ok() && !maps::is_indexed_type(spec->type)) {
      std::fprintf(stderr, "%s: warning: alias_database: %s is read as it is; not rebuilt\n",
                   program.c_str(), item.c_str());
      continue;
    }
    int rc = compile_table_file(tool, item, true, maps::DuplicatePolicy::Warn);
    if (rc != 0) return rc;
  }
  return 0;
}

}  // namespace estafeta::cli
