// The runtime picture of one configuration: the Config, the master.cf services, absolute
// paths, and every listener's settings. Built by the supervisor at start and on reload, and
// by inetd mode; loading it never touches the network.
#pragma once

#include <asio/ssl/context.hpp>

#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "config/config.h"
#include "config/master_cf.h"
#include "daemon/smtpd_settings.h"

namespace estafeta::daemon {

struct ListenerSpec {
  std::string host;
  uint16_t port = 0;
  std::shared_ptr<const SmtpdSettings> settings;
  // Loaded while still privileged (the key is usually readable by root only); null when the
  // listener does no TLS.
  std::shared_ptr<asio::ssl::context> tls;
};

struct Runtime {
  std::shared_ptr<const config::Config> config;
  std::string queue_directory;       // absolute
  std::string mail_spool_directory;  // absolute
  std::string mail_owner;
  std::vector<ListenerSpec> listeners;
  std::shared_ptr<const maps::MapSet> tables;  // every table the configuration names
  std::shared_ptr<const SmtpdSettings> default_smtpd;  // main.cf without overrides (inetd mode)
};

/// Loads main.cf and master.cf from `config_dir` and opens every lookup table they name
/// (once: a reload builds a new Runtime). Every diagnostic is written to stderr-style
/// text in `report` ("/etc/estafeta/main.cf:3: warning: unknown parameter: foo"); an error
/// diagnostic or an unusable value makes the whole load fail.
Result<Runtime> load_runtime(const std::string& config_dir, std::string* report);

/// `path` made absolute against the current directory.
std::string absolute_path(const std::string& path);

}  // namespace estafeta::daemon
