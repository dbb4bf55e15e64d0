// The estafeta executable. `estafeta [-c config_dir] COMMAND [args]` runs one subcommand;
// invoked as sendmail, mailq or newaliases (symlinks) it behaves as those Sendmail commands.
// The configuration directory is -c DIR, else $ESTAFETA_CONFIG_DIR, else /etc/estafeta (a
// missing main.cf means the embedded defaults).
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#if __has_include("cli/config_command.h")
#include "cli/config_command.h"
#define ESTAFETA_WITH_CONFIG 1
#endif
#if __has_include("cli/map_command.h")
#include "cli/alias_command.h"
#include "cli/map_command.h"
#define ESTAFETA_WITH_MAP 1
#endif
#ifdef ESTAFETA_WITH_DAEMON
#include "cli/address_command.h"
#include "cli/drac_command.h"
#include "cli/policy_command.h"
#include "cli/queue_command.h"
#include "cli/sendmail_command.h"
#include "cli/showq_service.h"
#include "daemon/control.h"
#include "daemon/inetd.h"
#include "daemon/services.h"
#endif

namespace {

constexpr const char* kUsage =
    "usage: estafeta [-c config_dir] command [args]\n"
    "commands:\n"
    "  start        start the mail system in the background\n"
    "  start-fg     run it in the foreground, logging to stdout\n"
    "  stop         stop it\n"
    "  reload       re-read the configuration without dropping connections\n"
    "  status       exit 0 if it is running\n"
    "  config       print parameters (like postconf: -n, -d, -x, NAME...)\n"
    "  map          build and query lookup tables (like postmap)\n"
    "  address      resolve ADDRESS: its class, transport, next hop and smtpd's RCPT answer\n"
    "  policy       query SERVICE: ask a check_policy_service server (requests on stdin)\n"
    "  drac         add ADDRESS, list, expire: POP-before-SMTP grants (Estafeta addition)\n"
    "  alias        build and query aliases(5) tables (like postalias)\n"
    "  queue        list, show, hold, release, delete, requeue, flush queued mail\n"
    "               (like postqueue, postcat and postsuper; mailq = queue list)\n"
    "  smtpd -bs    one SMTP session on stdin/stdout (inetd mode)\n"
    "  sendmail     the Sendmail-compatible command line (also by the name 'sendmail')\n"
    "  newaliases   rebuild the alias_database tables (also by the name 'newaliases')\n";

std::string basename_of(std::string_view path) {
  auto slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

std::string default_config_dir() {
  const char* env = std::getenv("ESTAFETA_CONFIG_DIR");
  return env != nullptr && *env != '\0' ? env : "/etc/estafeta";
}

int run_estafeta(std::vector<std::string> args) {
  std::string config_dir = default_config_dir();
  if (args.size() >= 2 && args[0] == "-c") {
    config_dir = args[1];
    args.erase(args.begin(), args.begin() + 2);
  }
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  std::string command = args[0];
  args.erase(args.begin());
  using namespace estafeta;
#ifdef ESTAFETA_WITH_CONFIG
  if (command == "config") return cli::run_config_command(config_dir, args);
#endif
#ifdef ESTAFETA_WITH_MAP
  if (command == "map") return cli::run_map_command(args);
  if (command == "alias") return cli::run_alias_command(args);
#endif
#ifdef ESTAFETA_WITH_DAEMON
  if (command == "start") return daemon::command_start(config_dir);
  if (command == "start-fg") return daemon::command_start_foreground(config_dir);
  if (command == "stop") return daemon::command_stop(config_dir);
  if (command == "reload") return daemon::command_reload(config_dir);
  if (command == "status") return daemon::command_status(config_dir);
  if (command == "smtpd" && args.size() == 1 && args[0] == "-bs") {
    return daemon::run_inetd_session(config_dir);
  }
  // Services the supervisor execs (daemon/services.h); not for interactive use.
  if (command == "smtpd") return daemon::run_smtpd_service(config_dir, args);
  if (command == "qmgr") return daemon::run_qmgr_service(config_dir, args);
  if (command == "local") return daemon::run_local_service(config_dir, args);
  if (command == "virtual") return daemon::run_virtual_service(config_dir, args);
  if (command == "smtp") return daemon::run_smtp_service(config_dir, args);
  if (command == "pickup") return daemon::run_pickup_service(config_dir, args);
  if (command == "showq") return cli::run_showq_service(config_dir, args);
  if (command == "bounce") return daemon::run_bounce_service(config_dir, args);
  if (command == "queue") return cli::run_queue_command(config_dir, args);
  if (command == "address") return cli::run_address_command(config_dir, args);
  if (command == "policy") return cli::run_policy_command(config_dir, args);
  if (command == "drac") return cli::run_drac_command(config_dir, args);
  if (command == "sendmail") return cli::run_sendmail_command("sendmail", config_dir, args);
  if (command == "mailq" || command == "newaliases") {
    return cli::run_sendmail_command(command, config_dir, args);
  }
#endif
  if (command == "version") {
    std::printf("estafeta 0.1.0\n");
    return 0;
  }
  std::fprintf(stderr, "estafeta: unknown command: %s\n%s", command.c_str(), kUsage);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string name = basename_of(argc > 0 ? argv[0] : "estafeta");
#ifdef ESTAFETA_WITH_DAEMON
  if (name == "sendmail" || name == "mailq" || name == "newaliases") {
    return estafeta::cli::run_sendmail_command(name, default_config_dir(), args);
  }
#endif
  return run_estafeta(std::move(args));
}
