// Sendmail command line (see sendmail_command.h).
#include "cli/sendmail_command.h"

#include <cstdio>

#include "cli/queue_command.h"
#include "daemon/control.h"
#include "daemon/inetd.h"

namespace estafeta::cli {
namespace {

constexpr int kUnavailable = 69;  // EX_UNAVAILABLE from sysexits.h

int not_built(const std::string& what) {
  std::fprintf(stderr,
               "sendmail: %s is not implemented yet in Estafeta 0.1 (it arrives with the queue "
               "manager); nothing was done\n",
               what.c_str());
  return kUnavailable;
}

}  // namespace

int run_sendmail_command(const std::string& name, std::string config_dir,
                         const std::vector<std::string>& args) {
  if (name == "mailq") {
    // As in Postfix, mailq ignores Sendmail's other options; -C chooses the configuration and
    // -j (postqueue -j) passes through.
    std::vector<std::string> list{"list"};
    for (size_t i = 0; i < args.size(); ++i) {
      if (args[i] == "-C" && i + 1 < args.size()) {
        config_dir = args[++i];
      } else if (args[i].rfind("-C", 0) == 0 && args[i].size() > 2) {
        config_dir = args[i].substr(2);
      } else if (args[i] == "-j") {
        list.push_back(args[i]);
      }
    }
    return run_queue_command(config_dir, list);
  }
  if (name == "newaliases") return not_built("newaliases (building the aliases database)");
  std::string mode;
  bool queue_run = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-C" && i + 1 < args.size()) {
      config_dir = args[++i];
    } else if (arg.rfind("-C", 0) == 0 && arg.size() > 2) {
      config_dir = arg.substr(2);
    } else if (arg.rfind("-b", 0) == 0) {
      mode = arg;
    } else if (arg == "-q") {
      queue_run = true;  // one queue run now: postqueue -f
    } else if (arg.rfind("-q", 0) == 0) {
      // -q15m (periodic runs), -qR site and -qI id come with the queue manager.
      return not_built("a queue run (" + arg + ")");
    } else if (arg.rfind("-o", 0) == 0 || arg == "-v") {
      // Sendmail options that change nothing here (-oi, -odb, -v) are accepted.
    } else {
      return not_built("submitting a message from standard input (" + arg + ")");
    }
  }
  if (queue_run) {
    if (!mode.empty()) return not_built("a daemon with queue runs (" + mode + " -q)");
    return run_queue_command(config_dir, {"flush"});
  }
  if (mode == "-bs") return daemon::run_inetd_session(config_dir);
  if (mode == "-bd") return daemon::command_start(config_dir);
  if (mode == "-bD") return daemon::command_start_foreground(config_dir);
  if (mode == "-bp") return run_queue_command(config_dir, {"list"});
  if (mode == "-bi") return not_built("newaliases (-bi)");
  if (mode.empty() || mode == "-bm") return not_built("submitting a message from standard input");
  std::fprintf(stderr, "sendmail: unknown mode %s\n", mode.c_str());
  return 64;  // EX_USAGE
}

}  // namespace estafeta::cli
