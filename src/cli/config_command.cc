// `estafeta config` (postconf): see config_command.h. -d does not read main.cf, as
// postconf -d; -n with names prints only those that main.cf sets.
#include "cli/config_command.h"

#include <cstdio>
#include <string_view>

#include "config/config.h"
#include "config/master_cf.h"
#include "config/parameters.h"

namespace estafeta::cli {
namespace {

void put(std::string_view text) { std::fwrite(text.data(), 1, text.size(), stdout); }

void warn(std::string_view text) {
  std::fprintf(stderr, "estafeta: %.*s\n", static_cast<int>(text.size()), text.data());
}

// -M: the effective service table, as postconf -M prints master.cf. Filters are "name" or
// "name/type". Stderr: master.cf's diagnostics and the notices the supervisor would log
// (rows it ignores, rows it adds). -d: the embedded default table.
int print_services(const std::string& config_dir, bool defaults,
                   const std::vector<std::string>& filters) {
  const std::string file = config_dir + "/master.cf";
  config::MasterCf m =
      defaults ? config::parse_master_cf(config::kDefaultMasterCf, "(embedded default master.cf)")
               : config::load_master_cf(config_dir);
  for (const config::Diagnostic& d : m.diagnostics) {
    warn(d.to_string());
  }
  if (!m.ok) {
    return 1;
  }
  config::ServiceTable table = config::plan_services(m, file);
  for (const config::Diagnostic& d : table.notices) {
    warn("warning: " + config::notice_text(d));
  }
  for (const config::PlannedService& p : table.services) {
    const config::Service& s = p.service;
    bool wanted = filters.empty();
    for (const std::string& f : filters) {
      wanted = wanted || f == s.endpoint || f == s.endpoint + "/" + s.type;
    }
    if (wanted) {
      put(config::postconf_m_line(s) + "\n");
    }
  }
  return 0;
}

}  // namespace

int run_config_command(const std::string& config_dir, const std::vector<std::string>& args) {
  bool defaults = false;
  bool expand = false;
  bool non_default = false;
  bool services = false;
  std::vector<std::string> names;
  for (const std::string& a : args) {
    if (a.size() > 1 && a[0] == '-' && names.empty()) {
      for (char c : std::string_view(a).substr(1)) {
        if (c == 'd') {
          defaults = true;
        } else if (c == 'x') {
          expand = true;
        } else if (c == 'n') {
          non_default = true;
        } else if (c == 'M') {
          services = true;
        } else {
          std::fprintf(stderr,
                       "estafeta: config: unknown option -%c\n"
                       "usage: estafeta [-c config_dir] config [-n] [-d] [-x] "
                       "[name ...]\n"
                       "       estafeta [-c config_dir] config -M [-d] [service[/type] ...]\n",
                       c);
          return 2;
        }
      }
    } else {
      names.push_back(a);
    }
  }

  if (services) {
    return print_services(config_dir, defaults, names);
  }

  config::LoadResult loaded;
  if (defaults) {
    loaded =
        config::Config::parse("", config_dir + "/main.cf", config_dir, config::system_hostname());
  } else {
    loaded = config::Config::load(config_dir);
  }
  for (const config::Diagnostic& d : loaded.diagnostics) {
    warn(d.to_string());
  }
  if (!loaded.config) {
    return 1;
  }
  const config::Config& c = *loaded.config;

  if (names.empty()) {
    if (defaults && !expand) {
      put(c.postconf_d());
    } else if (defaults) {
      for (const config::ParamSpec& p : config::all_parameters()) {
        put(c.postconf_line(p.name, true));  // -dx: every default, expanded
      }
    } else {
      for (const std::string& name : c.set_names()) {
        put(c.postconf_line(name, expand));
      }
    }
    return 0;
  }
  for (const std::string& name : names) {
    if (!c.is_known(name) && !c.is_set(name)) {
      warn("warning: " + name + ": unknown parameter");
      continue;
    }
    if (non_default && !c.is_set(name)) {
      continue;
    }
    put(c.postconf_line(name, expand));
  }
  return 0;
}

}  // namespace estafeta::cli
