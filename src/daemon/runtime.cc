// Loading the runtime picture (see runtime.h).
#include "daemon/runtime.h"

#include <filesystem>

#include <fmt/format.h>

#include "net/transport.h"

namespace estafeta::daemon {

std::string absolute_path(const std::string& path) {
  std::error_code ec;
  auto absolute = std::filesystem::absolute(path, ec);
  return ec ? path : absolute.lexically_normal().string();
}

Result<Runtime> load_runtime(const std::string& config_dir, std::string* report) {
  auto note = [&](const std::vector<config::Diagnostic>& diagnostics) {
    for (const auto& d : diagnostics) *report += d.to_string() + "\n";
  };
  auto loaded = config::Config::load(config_dir);
  note(loaded.diagnostics);
  if (!loaded.config) return make_error("configuration error");
  Runtime runtime;
  runtime.config = std::make_shared<const config::Config>(std::move(*loaded.config));
  const config::Config& config = *runtime.config;
  runtime.queue_directory = absolute_path(config.get("queue_directory"));
  runtime.mail_spool_directory = absolute_path(config.get("mail_spool_directory"));
  runtime.mail_owner = config.get("mail_owner");

  auto master = config::load_master_cf(config_dir);
  note(master.diagnostics);
  if (!master.ok) return make_error("configuration error");

  // Each smtpd service: its configuration with the -o overrides applied.
  struct ServiceConfig {
    const config::Service* service;
    std::shared_ptr<const config::Config> config;
  };
  std::vector<ServiceConfig> services;
  for (const auto& service : master.services) {
    if (service.type != "inet" || service.command != "smtpd") {
      *report += fmt::format("{}:{}: warning: service {} {} {}: not implemented yet, ignored\n",
                             service.file, service.line, service.endpoint, service.type,
                             service.command);
      continue;
    }
    auto overridden = config.with_overrides(service.overrides);
    for (auto& d : overridden.diagnostics) {
      d.file = service.file;
      d.line = service.line;
    }
    note(overridden.diagnostics);
    if (!overridden.config) return make_error("configuration error");
    services.push_back(
        {&service, std::make_shared<const config::Config>(std::move(*overridden.config))});
  }

  // Every table, opened once; one that cannot be opened stops the start (named here).
  std::vector<std::string> specs = smtpd_table_specs(config);
  for (const auto& s : services) {
    auto more = smtpd_table_specs(*s.config);
    specs.insert(specs.end(), more.begin(), more.end());
  }
  auto opened = maps::MapSet::open(specs);
  for (const auto& warning : opened.warnings) *report += "warning: " + warning + "\n";
  for (const auto& error : opened.errors) *report += "error: " + error + "\n";
  if (!opened.ok()) return make_error("configuration error");
  runtime.tables = opened.set;

  auto main_settings =
      make_smtpd_settings(config, config.get_int("default_process_limit"), runtime.tables);
  if (!main_settings.ok()) {
    *report += fmt::format("{}/main.cf: error: {}\n", config_dir, main_settings.error().message);
    return make_error("configuration error");
  }
  runtime.default_smtpd = std::make_shared<const SmtpdSettings>(std::move(main_settings.value()));

  for (const auto& [service, service_config] : services) {
    auto settings = make_smtpd_settings(
        *service_config, config::max_sessions(*service, *service_config), runtime.tables);
    if (!settings.ok()) {
      *report += fmt::format("{}:{}: error: {}\n", service->file, service->line,
                             settings.error().message);
      return make_error("configuration error");
    }
    auto shared = std::make_shared<const SmtpdSettings>(std::move(settings.value()));
    std::shared_ptr<asio::ssl::context> tls;
    if (shared->tls_wanted()) {
      std::string error;
      tls = net::make_server_tls_context({shared->tls_cert_file, shared->tls_key_file}, &error);
      if (!tls) {
        *report += fmt::format("{}:{}: error: {}\n", service->file, service->line, error);
        return make_error("configuration error");
      }
    }
    auto addresses = config::listen_addresses(*service, *service_config);
    if (!addresses.ok()) {
      *report += fmt::format("{}:{}: error: {}\n", service->file, service->line,
                             addresses.error().message);
      return make_error("configuration error");
    }
    for (const auto& address : *addresses) {
      runtime.listeners.push_back({address.host, address.port, shared, tls});
    }
  }
  return runtime;
}

}  // namespace estafeta::daemon
