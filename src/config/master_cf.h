// master.cf in Postfix's format (master(5)): one service per logical line (same comment and
// continuation rules as main.cf), 8 columns "service type private unpriv chroot wakeup
// maxproc command [args...]", with "-o name=value" and Postfix 3's "-o { name = value }"
// overrides. Bad lines are errors with file:line (MasterCf::ok false: do not start).
// Also maps an inet service to the numeric addresses to bind. Pure: no resolver is used,
// so hosts must be numeric IPs (or "localhost", meaning the loopback addresses).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "config/config.h"
#include "config/diagnostic.h"

namespace estafeta::config {

struct Service {
  std::string endpoint;  // "127.0.0.1:2525", "smtp", "[::1]:2525", "submission", "smtps"
  std::string type;      // "inet" (only inet is served today; "unix"/"pass" are parsed)
  bool is_private = false, unprivileged = true, chroot = false;
  std::string wakeup, max_process;                             // raw columns ("-" = default)
  std::string command;                                         // "smtpd"
  std::vector<std::pair<std::string, std::string>> overrides;  // -o name=value
  std::vector<std::string> args;                               // other command arguments
  std::string file;
  int line = 0;
};

struct MasterCf {
  std::vector<Service> services;
  std::vector<Diagnostic> diagnostics;
  bool ok = true;  // false when some diagnostic is an error
};

/// The master.cf used when <config_dir>/master.cf does not exist.
inline constexpr std::string_view kDefaultMasterCf = "127.0.0.1:2525 inet n - n - - smtpd\n";

/// Parses master.cf text; `filename` appears in diagnostics.
MasterCf parse_master_cf(std::string_view text, std::string filename);
/// <config_dir>/master.cf, or the embedded default "127.0.0.1:2525 inet n - n - - smtpd".
MasterCf load_master_cf(const std::string& config_dir);

struct ListenAddress {
  std::string host;  // numeric IP, without brackets
  uint16_t port = 0;
};

/// "127.0.0.1:2525" -> that; "smtp" -> port 25 on each inet_interfaces address ("all" ->
/// 0.0.0.0 and :: as inet_protocols allows; "loopback-only" -> 127.0.0.1 and ::1);
/// "submission" -> 587; "smtps"/"submissions" -> 465; "[::1]:2525"; "2525" -> all interfaces.
/// Errors: not an inet service, unknown service name, bad port, non-numeric host.
Result<std::vector<ListenAddress>> listen_addresses(const Service& s, const Config& c);
/// Effective max concurrent sessions for a service: its maxproc column, "-" ->
/// default_process_limit. 0 means no limit (as in Postfix).
long long max_sessions(const Service& s, const Config& c);

}  // namespace estafeta::config
