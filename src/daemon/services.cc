// Entry points of the exec'd services. See services.h.
#include "daemon/services.h"

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "base/clock.h"
#include "config/config.h"
#include "daemon/privileges.h"
#include "daemon/runtime.h"
#include "delivery/local_agent.h"
#include "log/logger.h"
#include "maps/map_set.h"
#include "policy/address_list.h"
#include "qmgr/queue_manager.h"
#include "qmgr/settings.h"

namespace estafeta::daemon {
namespace {

// The configuration and the logger of a service; nullopt after an error on stderr.
struct ServiceBase {
  std::shared_ptr<const config::Config> config;
  std::optional<log::Logger> log;
  std::string queue_directory;
};

std::optional<ServiceBase> load_base(const std::string& config_dir, const std::string& service) {
  auto loaded = config::Config::load(config_dir);
  for (const auto& d : loaded.diagnostics) {
    if (d.is_error) {
      std::fprintf(stderr, "%s\n", d.to_string().c_str());
    }
  }
  if (!loaded.config) {
    std::fprintf(stderr, "fatal: %s: configuration error\n", config_dir.c_str());
    return std::nullopt;
  }
  ServiceBase base;
  base.config = std::make_shared<const config::Config>(std::move(*loaded.config));
  const config::Config& c = *base.config;
  std::shared_ptr<log::Sink> sink;
  const std::string hostname = c.get("myhostname");
  const std::string file = c.get("maillog_file");
  std::string error;
  const char* to_stdout = std::getenv(kLogToStdoutVariable);
  if (!file.empty()) {
    sink = log::make_file_sink(file, hostname, &error);
  } else if (to_stdout != nullptr && std::string_view(to_stdout) == "1") {
    sink = log::make_stdout_sink(hostname);
  } else {
    sink = log::make_syslog_sink();
  }
  if (!sink) {
    std::fprintf(stderr, "fatal: %s\n", error.c_str());
    return std::nullopt;
  }
  base.log.emplace(sink, c.get("syslog_name") + "/" + service);
  base.queue_directory = absolute_path(c.get("queue_directory"));
  return base;
}

std::chrono::seconds seconds_of(const config::Config& c, std::string_view name) {
  return std::chrono::seconds(c.get_seconds(name));
}

// The scheduler's settings from main.cf (Postfix's parameter names).
qmgr::SchedulerSettings scheduler_settings(const config::Config& c) {
  qmgr::SchedulerSettings s;
  s.qmgr_message_active_limit = static_cast<int>(c.get_int("qmgr_message_active_limit"));
  s.minimal_backoff_time = seconds_of(c, "minimal_backoff_time");
  s.maximal_backoff_time = seconds_of(c, "maximal_backoff_time");
  s.queue_run_delay = seconds_of(c, "queue_run_delay");
  s.maximal_queue_lifetime = seconds_of(c, "maximal_queue_lifetime");
  s.bounce_queue_lifetime = seconds_of(c, "bounce_queue_lifetime");
  s.delay_warning_time = seconds_of(c, "delay_warning_time");
  s.default_destination_concurrency_limit =
      static_cast<int>(c.get_int("default_destination_concurrency_limit"));
  s.default_destination_recipient_limit =
      static_cast<int>(c.get_int("default_destination_recipient_limit"));
  s.initial_destination_concurrency = static_cast<int>(c.get_int("initial_destination_concurrency"));
  s.default_process_limit = static_cast<int>(c.get_int("default_process_limit"));
  auto& local = s.transports["local"];
  local.destination_concurrency_limit =
      static_cast<int>(c.get_int("local_destination_concurrency_limit"));
  local.destination_recipient_limit =
      static_cast<int>(c.get_int("local_destination_recipient_limit"));
  return s;
}

}  // namespace

int run_qmgr_service(const std::string& config_dir) {
  auto base = load_base(config_dir, "qmgr");
  if (!base) return 1;
  const config::Config& c = *base->config;
  // mydestination may name tables: open them while still privileged, then drop.
  auto destinations = policy::split_list_items(c.get_list("mydestination"));
  auto opened = maps::MapSet::open(destinations.tables);
  for (const auto& error : opened.errors) base->log->fatal(error);
  if (!opened.ok()) return 1;
  if (auto dropped = drop_privileges(c.get("mail_owner")); !dropped.ok()) {
    base->log->fatal(dropped.error().message);
    return 1;
  }
  std::vector<const maps::Map*> tables;
  for (const auto& spec : destinations.tables) {
    if (const maps::Map* m = opened.set->find(spec)) tables.push_back(m);
  }
  qmgr::QueueManagerOptions options;
  options.queue_directory = base->queue_directory;
  options.local_domains = policy::DomainList(destinations.literals, std::move(tables), false);
  options.scheduler = scheduler_settings(c);
  options.myhostname = c.get("myhostname");
  options.double_bounce_recipient = c.get("2bounce_notice_recipient");
  options.bounce_size_limit = static_cast<size_t>(c.get_int("bounce_size_limit"));
  SystemClock clock;
  qmgr::QueueManager manager(std::move(options), *base->log, clock);
  return manager.run();
}

int run_local_service(const std::string& config_dir) {
  auto base = load_base(config_dir, "local");
  if (!base) return 1;
  const config::Config& c = *base->config;
  if (auto dropped = drop_privileges(c.get("mail_owner")); !dropped.ok()) {
    base->log->fatal(dropped.error().message);
    return 1;
  }
  // The queue manager connects to private/local. Bound after the privilege drop, so the
  // socket belongs to mail_owner; mode 0600 in a 0700 directory.
  const std::string dir = base->queue_directory + "/private";
  (void)::mkdir(dir.c_str(), 0700);
  const std::string path = dir + "/local";
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    base->log->fatal(fmt::format("{}: path too long for a unix socket", path));
    return 1;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ::unlink(path.c_str());
  const mode_t old_mask = ::umask(0177);
  const bool bound = fd >= 0 && ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
  ::umask(old_mask);
  if (!bound || ::listen(fd, 64) != 0) {
    base->log->fatal(fmt::format("bind {}: {}", path, std::strerror(errno)));
    return 1;
  }
  delivery::LocalAgentOptions options;
  options.queue_directory = base->queue_directory;
  options.mail_spool_directory = absolute_path(c.get("mail_spool_directory"));
  options.myhostname = c.get("myhostname");
  delivery::LocalAgent agent(std::move(options), *base->log);
  const int code = agent.serve(fd);
  ::close(fd);
  return code;
}

}  // namespace estafeta::daemon
