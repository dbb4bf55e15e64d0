// `estafeta drac` (see drac_command.h).
#include "cli/drac_command.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <cstdio>

#include "config/config.h"
#include "daemon/drac_store.h"
#include "daemon/smtpd_settings.h"
#include "policy/drac.h"

namespace estafeta::cli {
namespace {

constexpr const char* kUsage =
    "usage: estafeta [-c DIR] drac add ADDRESS | list | expire\n"
    "  add ADDRESS  record a DRAC (POP-before-SMTP) grant for a numeric client address:\n"
    "               permit_drac_client permits it for drac_timeout (docs/drac.md)\n"
    "  list         print the grants in drac_database: ADDRESS TIME active|expired\n"
    "  expire       remove the expired grants from drac_database\n";

void log_to_stderr(std::string_view kind, const std::string& text) {
  std::fprintf(stderr, "estafeta drac: %.*s: %s\n", static_cast<int>(kind.size()), kind.data(),
               text.c_str());
}

}  // namespace

int run_drac_command(const std::string& config_dir, const std::vector<std::string>& args) {
  if (args.size() == 1 && (args[0] == "-h" || args[0] == "--help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  const bool add = args.size() == 2 && args[0] == "add";
  const bool list = args.size() == 1 && args[0] == "list";
  const bool expire = args.size() == 1 && args[0] == "expire";
  if (!add && !list && !expire) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  if (add && !policy::drac_address_key(args[1]).ok()) {
    std::fprintf(stderr, "estafeta drac: %s\n",
                 policy::drac_address_key(args[1]).error().message.c_str());
    return 2;
  }
  auto loaded = config::Config::load(config_dir);
  for (const auto& d : loaded.diagnostics)
    std::fprintf(stderr, "estafeta drac: %s\n", d.to_string().c_str());
  if (!loaded.config) return 1;
  auto store = daemon::make_drac_store(*loaded.config);
  if (!store.ok()) {
    std::fprintf(stderr, "estafeta drac: %s\n", store.error().message.c_str());
    return 1;
  }
  const daemon::DracStore& drac = **store;
  if (add) {
    Status added = drac.add(args[1], log_to_stderr);
    if (!added.ok()) {
      std::fprintf(stderr, "estafeta drac: %s\n", added.error().message.c_str());
      return 1;
    }
    return 0;
  }
  if (list) {
    auto grants = drac.list();
    if (!grants.ok()) {
      std::fprintf(stderr, "estafeta drac: %s\n", grants.error().message.c_str());
      return 1;
    }
    for (const daemon::DracGrant& g : *grants) {
      std::fputs(fmt::format("{} {:%Y-%m-%dT%H:%M:%SZ} {}\n", g.address,
                             std::chrono::floor<std::chrono::seconds>(g.granted),
                             g.active ? "active" : "expired")
                     .c_str(),
                 stdout);
    }
    return 0;
  }
  auto removed = drac.expire();
  if (!removed.ok()) {
    std::fprintf(stderr, "estafeta drac: %s\n", removed.error().message.c_str());
    return 1;
  }
  std::fputs(fmt::format("{} expired grant(s) removed\n", *removed).c_str(), stdout);
  return 0;
}

}  // namespace estafeta::cli
