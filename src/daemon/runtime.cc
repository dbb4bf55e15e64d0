// Loading the supervisor's and an smtpd's picture of the configuration (see runtime.h).
#include "daemon/runtime.h"

#include <fmt/format.h>

#include <filesystem>
#include <map>

#include "config/parameters.h"
#include "daemon/listeners.h"
#include "maps/map_set.h"
#include "net/transport.h"
#include "route/route_config.h"

namespace estafeta::daemon {
namespace {

using Overrides = std::vector<std::pair<std::string, std::string>>;

void note(std::string* report, const std::vector<config::Diagnostic>& diagnostics) {
  for (const auto& d : diagnostics) *report += d.to_string() + "\n";
}

void note_error(std::string* report, const config::Service& row, const std::string& message) {
  if (row.line > 0) {
    *report += fmt::format("{}:{}: error: {}\n", row.file, row.line, message);
  } else {
    *report += fmt::format("{}: error: {}\n", row.file, message);
  }
}

}  // namespace

std::string absolute_path(const std::string& path) {
  std::error_code ec;
  auto absolute = std::filesystem::absolute(path, ec);
  return ec ? path : absolute.lexically_normal().string();
}

Result<ServicePlan> load_service_plan(const std::string& config_dir, std::string* report,
                                      const RunMode& mode) {
  auto loaded = config::Config::load(config_dir);
  note(report, loaded.diagnostics);
  if (!loaded.config) return make_error("configuration error");
  ServicePlan plan;
  plan.config = std::make_shared<const config::Config>(std::move(*loaded.config));
  const config::Config& config = *plan.config;
  plan.queue_directory = absolute_path(config.get("queue_directory"));
  plan.mail_spool_directory = absolute_path(config.get("mail_spool_directory"));
  plan.mail_owner = config.get("mail_owner");
  if (!config.get("virtual_mailbox_base").empty()) {
    plan.virtual_mailbox_base = absolute_path(config.get("virtual_mailbox_base"));
    auto static_id = [&](std::string_view name) -> std::optional<unsigned> {
      auto items = config.get_list(name);
      if (items.size() != 1 || !items[0].starts_with("static:")) return std::nullopt;
      auto v = config::parse_integer(std::string_view(items[0]).substr(7));
      if (!v.ok() || *v <= 0 || *v >= 4294967295LL) return std::nullopt;
      return static_cast<unsigned>(*v);
    };
    auto uid = static_id("virtual_uid_maps");
    auto gid = static_id("virtual_gid_maps");
    if (uid && gid) plan.virtual_base_owner = std::make_pair(*uid, *gid);
  }

  auto master = config::load_master_cf(config_dir);
  note(report, master.diagnostics);
  if (!master.ok) return make_error("configuration error");
  auto table = config::plan_services(master, config_dir + "/master.cf");
  plan.notices = std::move(table.notices);

  // Settings are checked without their tables (the smtpd opens those): a table's absence
  // only makes its lookups fail, never the check.
  const auto no_tables = maps::MapSet::open({}).set;
  std::map<std::string, std::pair<std::string, int>> listener_owner;  // name -> service, line
  bool failed = false;
  for (auto& planned : table.services) {
    if (planned.role == config::ServiceRole::Ignored) continue;
    if (mode.queue_only && planned.role == config::ServiceRole::Smtpd) {
      plan.notices.push_back({planned.service.file, planned.service.line, false,
                              fmt::format("service {} (smtpd): not started in queue-only mode "
                                          "(sendmail -qINTERVAL without -bd)",
                                          planned.service.endpoint)});
      continue;
    }
    ServiceSpec spec;
    spec.row = std::move(planned.service);
    spec.row.overrides.insert(spec.row.overrides.end(), mode.overrides.begin(),
                              mode.overrides.end());
    spec.role = planned.role;
    spec.key = spec.row.endpoint + "/" + spec.row.type;
    const config::Service& row = spec.row;
    auto overridden = config.with_overrides(row.overrides);
    for (auto& d : overridden.diagnostics) {
      d.file = row.file;
      d.line = row.line;
    }
    note(report, overridden.diagnostics);
    if (!overridden.config) {
      failed = true;
      continue;
    }
    if (spec.role == config::ServiceRole::Smtpd) {
      const config::Config& c = *overridden.config;
      // The embedded default's submission services need a certificate; without one they
      // wait (a master.cf row that asks for TLS without a certificate is an error instead).
      if (row.file == config::kDefaultMasterCfName && c.get("smtpd_tls_cert_file").empty() &&
          (c.get("smtpd_tls_security_level") == "encrypt" ||
           c.get_bool("smtpd_tls_wrappermode"))) {
        plan.notices.push_back(
            {row.file, row.line, false,
             fmt::format("service {} (smtpd): not started: it needs TLS and "
                         "smtpd_tls_cert_file is not set",
                         row.endpoint)});
        continue;
      }
      auto settings = make_smtpd_settings(c, config::max_sessions(row, c), no_tables);
      if (!settings.ok()) {
        note_error(report, row, settings.error().message);
        failed = true;
        continue;
      }
      auto addresses = config::listen_addresses(row, c);
      if (!addresses.ok()) {
        note_error(report, row, addresses.error().message);
        failed = true;
        continue;
      }
      for (const auto& address : *addresses) {
        std::string name = endpoint_name(address.host, address.port);
        auto [it, fresh] = listener_owner.emplace(name, std::make_pair(row.endpoint, row.line));
        if (!fresh) {
          // Two smtpd processes with different settings must not share one listener.
          note_error(report, row,
                     fmt::format("{}: {} is also a listener of service {} (line {})", row.endpoint,
                                 name, it->second.first, it->second.second));
          failed = true;
          continue;
        }
        spec.endpoints.push_back(name);
        spec.addresses.push_back(address);
      }
    }
    plan.services.push_back(std::move(spec));
  }
  if (failed) return make_error("configuration error");
  return plan;
}

Result<SmtpdRuntime> load_smtpd_runtime(const std::string& config_dir, const Overrides& overrides,
                                        const std::string& max_process, bool with_tls,
                                        std::string* report) {
  auto loaded = config::Config::load(config_dir);
  note(report, loaded.diagnostics);
  if (!loaded.config) return make_error("configuration error");
  auto overridden = loaded.config->with_overrides(overrides);
  note(report, overridden.diagnostics);
  if (!overridden.config) return make_error("configuration error");
  SmtpdRuntime runtime;
  runtime.config = std::make_shared<const config::Config>(std::move(*overridden.config));
  const config::Config& config = *runtime.config;
  runtime.queue_directory = absolute_path(config.get("queue_directory"));
  runtime.mail_owner = config.get("mail_owner");

  // Every table, opened once; one that cannot be opened fails the load (named here).
  auto opened =
      maps::MapSet::open(smtpd_table_specs(config), {}, route::recipient_map_specs(config));
  for (const auto& warning : opened.warnings) *report += "warning: " + warning + "\n";
  for (const auto& error : opened.errors) *report += "error: " + error + "\n";
  if (!opened.ok()) return make_error("configuration error");

  config::Service row;
  row.max_process = max_process;
  auto settings = make_smtpd_settings(config, config::max_sessions(row, config), opened.set);
  if (!settings.ok()) {
    *report += fmt::format("error: {}\n", settings.error().message);
    return make_error("configuration error");
  }
  runtime.settings = std::make_shared<const SmtpdSettings>(std::move(settings.value()));
  if (with_tls && runtime.settings->tls_wanted()) {
    std::string error;
    runtime.tls = net::make_server_tls_context(
        {runtime.settings->tls_cert_file, runtime.settings->tls_key_file}, &error);
    if (!runtime.tls) {
      *report += fmt::format("error: {}\n", error);
      return make_error("configuration error");
    }
  }
  return runtime;
}

}  // namespace estafeta::daemon
