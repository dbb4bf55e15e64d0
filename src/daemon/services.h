// The services the supervisor starts as programs of their own (fork + exec of `estafeta -c
// DIR <command> -n NAME -t TYPE [-m MAXPROC] [-o name=value]...`, one per master.cf row), so
// that none inherits the supervisor's memory (TLS keys, open tables, LMDB environments):
// the SMTP server (`smtpd`, on the listening sockets the supervisor bound and passed, see
// listeners.h), the queue manager (`qmgr`), the local delivery agent (`local`) and the
// bounce service (`bounce`). Each
// loads main.cf itself, applies its row's -o overrides, opens what it needs while still
// privileged (tables, TLS keys), drops to mail_owner, tells the supervisor that it is ready
// (or why it cannot start) on the descriptor named by ESTAFETA_READY_FD, and runs until
// SIGTERM (smtpd: SIGHUP = finish the open sessions and exit). Logging goes where the
// supervisor's does: maillog_file if set, else standard output when the supervisor runs in
// the foreground (it sets ESTAFETA_LOG_STDOUT=1), else syslog.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "config/master_cf.h"

namespace estafeta::daemon {

/// The environment variable by which a foreground supervisor tells its services to log to
/// standard output.
inline constexpr const char* kLogToStdoutVariable = "ESTAFETA_LOG_STDOUT";
/// The environment variable naming the descriptor on which a service reports its start.
inline constexpr const char* kReadyFdVariable = "ESTAFETA_READY_FD";
/// What a service writes there once it serves; anything else is the reason it could not.
inline constexpr std::string_view kReadyText = "ok\n";

/// A service's arguments after its command, as the supervisor passes them (Postfix passes
/// its daemons "-n service -t type" and the row's -o overrides the same way).
struct ServiceArgs {
  std::string name = "-";         // -n: the master.cf service name
  std::string type = "-";         // -t: its type (inet, unix)
  std::string max_process = "-";  // -m: the maxproc column (smtpd: concurrent sessions)
  std::string wakeup = "-";       // -w: the wakeup column (pickup: seconds between scans)
  std::vector<std::pair<std::string, std::string>> overrides;  // -o name=value
};

/// The arguments that run `row`: "-n", name, "-t", type, ["-m", maxproc], then "-o",
/// "name=value" for each override.
std::vector<std::string> service_arguments(const config::Service& row);
/// Parses them back; an error names the argument that is not understood.
Result<ServiceArgs> parse_service_arguments(const std::vector<std::string>& args);

/// The start-up report of a service to the supervisor. Inactive (writes to stderr instead)
/// when the service was started by hand.
class Readiness {
 public:
  /// Takes the descriptor named by ESTAFETA_READY_FD and unsets the variable.
  static Readiness from_environment();
  Readiness(Readiness&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  Readiness(const Readiness&) = delete;
  Readiness& operator=(const Readiness&) = delete;
  ~Readiness();

  /// Serving: writes kReadyText and closes.
  void ready();
  /// Cannot start: writes `text` (one or more lines) and closes; stderr when inactive.
  void fail(std::string_view text);

 private:
  explicit Readiness(int fd) : fd_(fd) {}
  int fd_ = -1;
};

/// `estafeta smtpd -n NAME -t inet ...` on the descriptors of ESTAFETA_LISTEN_FDS: returns
/// the exit code.
int run_smtpd_service(const std::string& config_dir, const std::vector<std::string>& args);
/// `estafeta qmgr ...`: returns the exit code.
int run_qmgr_service(const std::string& config_dir, const std::vector<std::string>& args);
/// `estafeta local -n NAME ...`: serves private/NAME ("local" by default); returns the exit
/// code.
int run_local_service(const std::string& config_dir, const std::vector<std::string>& args);
/// `estafeta virtual`: the virtual delivery agent (delivery/virtual_agent.h) on
/// private/<service name>; tables and the privileged spawner set up as root, then it runs
/// as mail_owner.
int run_virtual_service(const std::string& config_dir, const std::vector<std::string>& args);
/// `estafeta smtp`: the smtp delivery agent (outbound/smtp_delivery.h) on private/<service
/// name> (the smtp and relay rows); smtp_tls_policy_maps, the CA file and the client key are
/// opened as root, then it runs as mail_owner on one event loop.
int run_smtp_service(const std::string& config_dir, const std::vector<std::string>& args);
/// `estafeta pickup -n NAME -t unix [-w SECONDS] [-o ...]`: local submission (submit/pickup.h).
int run_pickup_service(const std::string& config_dir, const std::vector<std::string>& args);
/// `estafeta bounce ...`: serves private/bounce; returns the exit code.
int run_bounce_service(const std::string& config_dir, const std::vector<std::string>& args);

}  // namespace estafeta::daemon
