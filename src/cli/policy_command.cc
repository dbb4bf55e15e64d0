// `estafeta policy query` (see policy_command.h).
#include "cli/policy_command.h"

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <cstdio>
#include <iostream>
#include <optional>
#include <utility>

#include "config/config.h"
#include "daemon/policy_client.h"
#include "daemon/runtime.h"
#include "log/logger.h"

namespace estafeta::cli {
namespace {

constexpr const char* kUsage =
    "usage: estafeta [-c DIR] policy query [-o name=value]... SERVICE\n"
    "  Sends each request read on standard input (name=value lines, as smtpd sends them; an\n"
    "  empty line ends a request) to the check_policy_service server SERVICE and prints its\n"
    "  action, one line per request. SERVICE: inet:host:port, unix:/path, private/name or\n"
    "  public/name (in queue_directory). main.cf's smtpd_policy_service_* settings apply;\n"
    "  -o overrides one. Exit 0 when the server answered every request, 1 when\n"
    "  smtpd_policy_service_default_action stood in for an answer.\n";

// Log lines to standard error ("estafeta/policy: warning: ...").
class StderrSink : public log::Sink {
 public:
  void write(std::string_view program, std::string_view text) override {
    std::fprintf(stderr, "%.*s: %.*s\n", static_cast<int>(program.size()), program.data(),
                 static_cast<int>(text.size()), text.data());
  }
};

// The next request from standard input: nullopt at the end of the input, an Error for a line
// that is not name=value. Blocks on stdin (this program's own event loop has nothing else
// to serve meanwhile).
Result<std::optional<policy::PolicyAttributes>> read_request() {
  policy::PolicyAttributes request;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) {
      if (request.empty()) continue;  // extra empty lines between requests
      return std::optional(std::move(request));
    }
    const size_t eq = line.find('=');
    if (eq == std::string::npos || eq == 0) {
      return make_error("input line is not name=value: " + line);
    }
    request.push_back({line.substr(0, eq), line.substr(eq + 1)});
  }
  if (request.empty()) return std::optional<policy::PolicyAttributes>();
  return std::optional(std::move(request));
}

asio::awaitable<int> query_all(daemon::PolicyClient& client, std::string service,
                               daemon::PolicyServiceSettings settings) {
  int status = 0;
  while (true) {
    auto request = read_request();
    if (!request.ok()) {
      std::fprintf(stderr, "estafeta policy: %s\n", request.error().message.c_str());
      co_return 2;
    }
    if (!*request) co_return status;
    daemon::PolicyAnswer answer = co_await client.query(service, std::move(**request), settings);
    std::printf("%s\n", answer.action.c_str());
    std::fflush(stdout);
    if (answer.from_default) status = 1;
  }
}

}  // namespace

int run_policy_command(const std::string& config_dir, const std::vector<std::string>& args) {
  if (args.size() == 1 && (args[0] == "-h" || args[0] == "--help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (args.empty() || args[0] != "query") {
    std::fputs(kUsage, stderr);
    return 2;
  }
  std::vector<std::pair<std::string, std::string>> overrides;
  std::string service;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "-o" && i + 1 < args.size()) {
      const std::string& o = args[++i];
      const size_t eq = o.find('=');
      if (eq == std::string::npos || eq == 0) {
        std::fputs(kUsage, stderr);
        return 2;
      }
      overrides.emplace_back(o.substr(0, eq), o.substr(eq + 1));
    } else if (service.empty() && !args[i].empty() && args[i][0] != '-') {
      service = args[i];
    } else {
      std::fputs(kUsage, stderr);
      return 2;
    }
  }
  if (service.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  auto loaded = config::Config::load(config_dir);
  if (loaded.config && !overrides.empty()) loaded = loaded.config->with_overrides(overrides);
  for (const auto& d : loaded.diagnostics)
    std::fprintf(stderr, "estafeta policy: %s\n", d.to_string().c_str());
  if (!loaded.config) return 1;
  const config::Config& config = *loaded.config;

  asio::io_context io;
  daemon::PolicyClient client(io, daemon::absolute_path(config.get("queue_directory")),
                              log::Logger(std::make_shared<StderrSink>(), "estafeta/policy"));
  std::optional<int> status;
  asio::co_spawn(io, query_all(client, service, daemon::policy_service_settings(config)),
                 [&](std::exception_ptr e, int s) {
                   if (e) std::rethrow_exception(e);
                   status = s;
                 });
  while (!status && io.run_one() > 0) {
  }
  client.close_idle();
  return status.value_or(1);
}

}  // namespace estafeta::cli
