// The estafeta executable: dispatches subcommands; under the names sendmail, mailq and
// newaliases (symlinks) it behaves as those Sendmail commands.
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#if __has_include("cli/map_command.h")
#include "cli/map_command.h"
#define ESTAFETA_HAVE_MAP_COMMAND 1
#endif
#if __has_include("cli/config_command.h")
#include "cli/config_command.h"
#define ESTAFETA_HAVE_CONFIG_COMMAND 1
#endif

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::fprintf(stderr, "usage: estafeta [-c config_dir] command [args]\n");
    return 2;
  }
  std::string config_dir = "/etc/estafeta";
  if (args.size() >= 2 && args[0] == "-c") {
    config_dir = args[1];
    args.erase(args.begin(), args.begin() + 2);
  }
  if (args.empty()) return 2;
  std::string command = args[0];
  args.erase(args.begin());
#ifdef ESTAFETA_HAVE_MAP_COMMAND
  if (command == "map") return estafeta::cli::run_map_command(args);
#endif
#ifdef ESTAFETA_HAVE_CONFIG_COMMAND
  if (command == "config") return estafeta::cli::run_config_command(config_dir, args);
#endif
  std::fprintf(stderr, "estafeta: unknown command: %s\n", command.c_str());
  return 2;
}
