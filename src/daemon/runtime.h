// Loading a configuration for the processes that run it. Two pictures:
//  - ServicePlan, the supervisor's: main.cf, the effective master.cf service table, each
//    service's -o overrides checked, each smtpd's listen addresses. It opens no table and
//    reads no key (the supervisor keeps none: the services load those themselves).
//  - SmtpdRuntime, one smtpd's (an exec'd `estafeta smtpd` or inetd mode): its Config with
//    the row's overrides, its tables, its SmtpdSettings and its TLS context.
// Loading never touches the network (remote tables connect on their first lookup).
#pragma once

#include <asio/ssl/context.hpp>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "config/config.h"
#include "config/master_cf.h"
#include "daemon/smtpd_settings.h"

namespace estafeta::daemon {

/// One service the supervisor runs (a row of the effective service table that is not
/// ignored).
struct ServiceSpec {
  config::Service row;
  config::ServiceRole role = config::ServiceRole::Ignored;
  std::string key;                     // "name/type", as Postfix names services
  std::vector<std::string> endpoints;  // smtpd: the listeners ("127.0.0.1:2525", "[::1]:25")
  std::vector<config::ListenAddress> addresses;  // smtpd: the same, to bind
};

struct ServicePlan {
  std::shared_ptr<const config::Config> config;
  std::string queue_directory;       // absolute
  std::string mail_spool_directory;  // absolute
  std::string mail_owner;
  /// virtual_mailbox_base, absolute ("" when unset), and the owner that virtual_uid_maps and
  /// virtual_gid_maps give every mailbox when each is one static: table ("static:65534",
  /// as in the embedded main.cf), else nullopt. The supervisor creates the base when it is
  /// missing and, when it has such an owner and it is new or is mail_spool_directory, gives
  /// it to that owner (the virtual agent writes there as that user).
  std::string virtual_mailbox_base;
  std::optional<std::pair<unsigned, unsigned>> virtual_base_owner;
  std::vector<ServiceSpec> services;
  /// Warnings about the service table (ignored rows, added qmgr/local), for the log once.
  std::vector<config::Diagnostic> notices;
};

/// Reads main.cf and master.cf from `config_dir` and checks every service that will run:
/// its -o overrides (with master.cf's file:line) and, for smtpd, its settings and listen
/// addresses. Opens no lookup table and no key (each smtpd does, and reports its errors
/// itself). Diagnostics go to `report` as stderr-style lines ("DIR/main.cf:3: warning:
/// unknown parameter: foo"); an error makes the load fail.
/// How `sendmail -q15m` (queue-only: no smtpd) and `sendmail -bd -q15m` change the plan:
/// `overrides` (queue_run_delay and the backoff times) are appended to every service's -o.
struct RunMode {
  bool queue_only = false;
  std::vector<std::pair<std::string, std::string>> overrides;
};
Result<ServicePlan> load_service_plan(const std::string& config_dir, std::string* report,
                                      const RunMode& mode = {});

struct SmtpdRuntime {
  std::shared_ptr<const config::Config> config;  // main.cf with the row's overrides
  std::string queue_directory;                   // absolute
  std::string mail_owner;
  std::shared_ptr<const SmtpdSettings> settings;
  // Loaded while still privileged (the key is usually readable by root only); null when
  // the service does no TLS.
  std::shared_ptr<asio::ssl::context> tls;
};

/// One smtpd's picture: main.cf with `overrides` (master.cf -o), every table that
/// configuration names (a table that cannot be opened fails the load, named in `report`),
/// the settings with `max_process` (the maxproc column: "-" = default_process_limit) and,
/// when `with_tls` and the settings want it, the TLS context.
Result<SmtpdRuntime> load_smtpd_runtime(
    const std::string& config_dir,
    const std::vector<std::pair<std::string, std::string>>& overrides,
    const std::string& max_process, bool with_tls, std::string* report);

/// `path` made absolute against the current directory.
std::string absolute_path(const std::string& path);

}  // namespace estafeta::daemon
