// Entry points of the exec'd services. See services.h.
#include "daemon/services.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "base/clock.h"
#include "bounce/bounce_service.h"
#include "config/config.h"
#include "config/master_cf.h"
#include "daemon/listeners.h"
#include "daemon/privileges.h"
#include "daemon/runtime.h"
#include "daemon/scheduler_config.h"
#include "daemon/smtpd_worker.h"
#include "delivery/local_agent.h"
#include "delivery/privileged_delivery.h"
#include "delivery/virtual_agent.h"
#include "log/logger.h"
#include "maps/map_set.h"
#include "message/notify_classes.h"
#include "message/smtputf8_autodetect.h"
#include "net/tls_client.h"
#include "net/unix_socket.h"
#include "outbound/agent_loop.h"
#include "outbound/dns_resolver.h"
#include "outbound/dns_settings.h"
#include "outbound/smtp_delivery.h"
#include "outbound/smtp_settings.h"
#include "policy/address_list.h"
#include "qmgr/queue_manager.h"
#include "qmgr/settings.h"
#include "route/envelope_cleanup.h"
#include "route/resolver.h"
#include "route/route_config.h"
#include "submit/maildrop.h"
#include "submit/pickup.h"
#include "submit/policy_tables.h"

namespace estafeta::daemon {
namespace {

using Overrides = std::vector<std::pair<std::string, std::string>>;

// Where a service logs: maillog_file, else stdout when the supervisor runs in the
// foreground, else syslog. Null (with `error`) when the file cannot be opened.
std::shared_ptr<log::Sink> service_sink(const config::Config& c, std::string* error) {
  const std::string hostname = c.get("myhostname");
  const std::string file = c.get("maillog_file");
  const char* to_stdout = std::getenv(kLogToStdoutVariable);
  if (!file.empty()) return log::make_file_sink(file, hostname, error);
  if (to_stdout != nullptr && std::string_view(to_stdout) == "1") {
    return log::make_stdout_sink(hostname);
  }
  return log::make_syslog_sink();
}

// The configuration and the logger of a service; nullopt after a failure (reported).
struct ServiceBase {
  std::shared_ptr<const config::Config> config;
  std::optional<log::Logger> log;
  std::string queue_directory;
};

std::optional<ServiceBase> load_base(const std::string& config_dir, const std::string& service,
                                     const Overrides& overrides, Readiness& readiness) {
  // Warnings were logged by the supervisor, which reads the same files; errors are the
  // reason this service cannot start.
  std::string errors;
  auto keep_errors = [&](const std::vector<config::Diagnostic>& diagnostics) {
    for (const auto& d : diagnostics) {
      if (d.is_error) errors += d.to_string() + "\n";
    }
  };
  auto loaded = config::Config::load(config_dir);
  keep_errors(loaded.diagnostics);
  std::optional<config::LoadResult> overridden;
  if (loaded.config) {
    overridden = loaded.config->with_overrides(overrides);
    keep_errors(overridden->diagnostics);
  }
  if (!overridden || !overridden->config) {
    readiness.fail(errors + fmt::format("fatal: {}: configuration error\n", config_dir));
    return std::nullopt;
  }
  ServiceBase base;
  base.config = std::make_shared<const config::Config>(std::move(*overridden->config));
  const config::Config& c = *base.config;
  std::string error;
  auto sink = service_sink(c, &error);
  if (!sink) {
    readiness.fail(fmt::format("fatal: {}\n", error));
    return std::nullopt;
  }
  base.log.emplace(sink, c.get("syslog_name") + "/" + service);
  base.queue_directory = absolute_path(c.get("queue_directory"));
  return base;
}

// Logs `text` as fatal and reports it to the supervisor; returns the exit code 1.
int fail(const log::Logger& log, Readiness& readiness, const std::string& text) {
  log.fatal(text);
  readiness.fail("fatal: " + text + "\n");
  return 1;
}

// smtputf8_enable and smtputf8_autodetect_classes.
message::Smtputf8Autodetect smtputf8_autodetect(const config::Config& c) {
  return message::Smtputf8Autodetect::parse(c.get_bool("smtputf8_enable"),
                                            c.get("smtputf8_autodetect_classes"));
}

// Who gets which notice (the bounce service, and pickup for the messages it refuses).
bounce::NoticeSettings notice_settings(const config::Config& c) {
  bounce::NoticeSettings notices;
  notices.myhostname = c.get("myhostname");
  notices.notify_classes = message::NotifyClasses::parse(c.get("notify_classes"));
  notices.bounce_notice_recipient = c.get("bounce_notice_recipient");
  notices.double_bounce_recipient = c.get("2bounce_notice_recipient");
  notices.delay_notice_recipient = c.get("delay_notice_recipient");
  notices.error_notice_recipient = c.get("error_notice_recipient");
  notices.bounce_size_limit = static_cast<size_t>(c.get_int("bounce_size_limit"));
  notices.smtputf8_autodetect = smtputf8_autodetect(c).applies_to(message::MailOrigin::kBounce);
  return notices;
}

// A listening unix stream socket on <queue_directory>/private/<name>. Bound after the
// privilege drop, so the socket belongs to mail_owner; mode 0600 in a 0700 directory.
Result<int> bind_private_socket(const std::string& queue_directory, const std::string& name) {
  const std::string dir = queue_directory + "/private";
  (void)::mkdir(dir.c_str(), 0700);
  return net::bind_unix_socket(dir + "/" + name, SOCK_STREAM, 0600);
}

}  // namespace

std::vector<std::string> service_arguments(const config::Service& row) {
  std::vector<std::string> args = {"-n", row.endpoint, "-t", row.type};
  if (!row.max_process.empty() && row.max_process != "-") {
    args.insert(args.end(), {"-m", row.max_process});
  }
  if (!row.wakeup.empty() && row.wakeup != "-") {
    args.insert(args.end(), {"-w", row.wakeup});
  }
  for (const auto& [name, value] : row.overrides) {
    args.insert(args.end(), {"-o", name + "=" + value});
  }
  return args;
}

Result<ServiceArgs> parse_service_arguments(const std::vector<std::string>& args) {
  ServiceArgs parsed;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& flag = args[i];
    if (flag != "-n" && flag != "-t" && flag != "-m" && flag != "-w" && flag != "-o") {
      return make_error(fmt::format("unknown argument: {}", flag));
    }
    if (i + 1 >= args.size()) return make_error(fmt::format("{} needs a value", flag));
    const std::string& value = args[++i];
    if (flag == "-n") {
      parsed.name = value;
    } else if (flag == "-t") {
      parsed.type = value;
    } else if (flag == "-m") {
      parsed.max_process = value;
    } else if (flag == "-w") {
      parsed.wakeup = value;
    } else {
      size_t eq = value.find('=');
      if (eq == std::string::npos || eq == 0) {
        return make_error(fmt::format("-o {}: need name=value", value));
      }
      parsed.overrides.emplace_back(value.substr(0, eq), value.substr(eq + 1));
    }
  }
  return parsed;
}

Readiness Readiness::from_environment() {
  const char* raw = std::getenv(kReadyFdVariable);
  if (raw == nullptr) return Readiness(-1);
  int fd = std::atoi(raw);
  ::unsetenv(kReadyFdVariable);
  if (fd < 3 || ::fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) return Readiness(-1);
  return Readiness(fd);
}

Readiness::~Readiness() {
  if (fd_ >= 0) ::close(fd_);
}

void Readiness::ready() {
  if (fd_ < 0) return;
  [[maybe_unused]] ssize_t n = ::write(fd_, kReadyText.data(), kReadyText.size());
  ::close(fd_);
  fd_ = -1;
}

void Readiness::fail(std::string_view text) {
  if (fd_ < 0) {
    std::fwrite(text.data(), 1, text.size(), stderr);
    return;
  }
  while (!text.empty()) {
    ssize_t n = ::write(fd_, text.data(), text.size());
    if (n <= 0) break;
    text.remove_prefix(size_t(n));
  }
  ::close(fd_);
  fd_ = -1;
}

int run_smtpd_service(const std::string& config_dir, const std::vector<std::string>& args) {
  Readiness readiness = Readiness::from_environment();
  auto parsed = parse_service_arguments(args);
  if (!parsed.ok()) {
    readiness.fail(fmt::format(
        "estafeta: smtpd: {}\nusage: estafeta [-c config_dir] smtpd -bs (one session on "
        "stdin/stdout); the supervisor starts `smtpd -n NAME -t inet ...` itself\n",
        parsed.error().message));
    return 2;
  }
  auto passed = take_passed_listeners();
  if (!passed.ok() || passed->empty()) {
    readiness.fail(
        fmt::format("estafeta: smtpd: {}: the supervisor (`estafeta start`) starts this service; "
                    "`estafeta smtpd -bs` runs one session on stdin/stdout\n",
                    passed.ok() ? "no listening socket was passed" : passed.error().message));
    return 2;
  }
  // Tables and the TLS key are opened here, while still privileged.
  std::string report;
  auto runtime =
      load_smtpd_runtime(config_dir, parsed->overrides, parsed->max_process, true, &report);
  if (!runtime.ok()) {
    readiness.fail(report + fmt::format("fatal: {}: configuration error\n", config_dir));
    return 1;
  }
  std::string error;
  auto sink = service_sink(*runtime->config, &error);
  if (!sink) {
    readiness.fail(fmt::format("fatal: {}\n", error));
    return 1;
  }
  log::Logger log(sink, runtime->config->get("syslog_name") + "/smtpd");
  // What loading reported without failing (a recipient table that stands in as a surrogate,
  // a malformed table line) is logged, once the log is open.
  for (std::string_view rest = report; !rest.empty();) {
    std::string_view line = rest.substr(0, rest.find('\n'));
    rest.remove_prefix(std::min(rest.size(), line.size() + 1));
    if (line.starts_with("warning: ")) log.warning("{}", line.substr(9));
  }
  if (std::string missing = runtime->settings->cleanup->not_implemented(); !missing.empty()) {
    log.warning("{}", missing);
  }
  SmtpdWorkerOptions options{{}, runtime->queue_directory, runtime->mail_owner, parsed->name,
                             log, {}};
  for (const auto& listener : *passed) {
    options.listeners.push_back({listener.fd, listener.endpoint, runtime->settings, runtime->tls});
  }
  options.started = [&](const Status& status) {
    if (status.ok()) {
      readiness.ready();
    } else {
      readiness.fail("fatal: " + status.error().message + "\n");
    }
  };
  return run_smtpd_worker(std::move(options));
}

int run_qmgr_service(const std::string& config_dir, const std::vector<std::string>& args) {
  Readiness readiness = Readiness::from_environment();
  auto parsed = parse_service_arguments(args);
  if (!parsed.ok()) {
    readiness.fail(fmt::format("estafeta: qmgr: {}\n", parsed.error().message));
    return 2;
  }
  auto base = load_base(config_dir, "qmgr", parsed->overrides, readiness);
  if (!base) return 1;
  const config::Config& c = *base->config;
  // The resolver's domain lists may name tables: open them while still privileged, then drop.
  auto opened = maps::MapSet::open(route::route_table_specs(c));
  if (!opened.ok()) {
    std::string all;
    for (const auto& error : opened.errors) all += (all.empty() ? "" : "; ") + error;
    return fail(*base->log, readiness, all);
  }
  if (auto dropped = drop_privileges(c.get("mail_owner")); !dropped.ok()) {
    return fail(*base->log, readiness, dropped.error().message);
  }
  auto route = route::make_route_settings(c, *opened.set);
  if (!route.ok()) return fail(*base->log, readiness, route.error().message);
  qmgr::QueueManagerOptions options;
  options.queue_directory = base->queue_directory;
  options.route = std::move(*route);
  // The supervisor read the same master.cf (and logged its notices): the agents it runs.
  auto master = config::load_master_cf(config_dir);
  if (!master.ok) {
    return fail(*base->log, readiness, config_dir + "/master.cf: configuration error");
  }
  options.agent_transports =
      config::agent_transports(config::plan_services(master, config_dir + "/master.cf"));
  options.scheduler = scheduler_settings(c);
  for (const std::string& name :
       transport_parameters_without_transport(c, options.agent_transports)) {
    base->log->warning(
        "{}: no delivery service of that name runs (master.cf); the parameter is ignored", name);
  }
  options.notify_classes = message::NotifyClasses::parse(c.get("notify_classes"));
  SystemClock clock;
  qmgr::QueueManager manager(std::move(options), *base->log, clock);
  // Ready once configured; the queue manager's own start (its lock, the queue scan) logs
  // its failures and exits, which the supervisor sees as a crash.
  readiness.ready();
  return manager.run();
}

namespace {

// A delivery agent's arguments; its socket is private/<service name> (`command` for "-"),
// where qmgr finds the transport of that name. nullopt after a failure (reported).
std::optional<ServiceArgs> parse_agent_arguments(std::string_view command,
                                                 const std::vector<std::string>& args,
                                                 Readiness& readiness) {
  auto parsed = parse_service_arguments(args);
  if (!parsed.ok()) {
    readiness.fail(fmt::format("estafeta: {}: {}\n", command, parsed.error().message));
    return std::nullopt;
  }
  if (parsed->name == "-") parsed->name = std::string(command);
  const std::string& name = parsed->name;
  if (name.find('/') != std::string::npos || name == "." || name == "..") {
    readiness.fail(fmt::format("estafeta: {}: bad service name: {}\n", command, name));
    return std::nullopt;
  }
  return std::move(*parsed);
}

// mail_owner's uid, which a delivery agent's spawner never runs a task as, when we run as
// root; nullopt for an unprivileged instance (its tasks run as itself).
Result<std::optional<uid_t>> privileged_mail_owner(const config::Config& c) {
  if (::geteuid() != 0) return std::optional<uid_t>();
  auto owner = lookup_user(c.get("mail_owner"));
  if (!owner.ok()) return owner.error();
  return std::optional<uid_t>(owner->uid);
}

}  // namespace

int run_local_service(const std::string& config_dir, const std::vector<std::string>& args) {
  Readiness readiness = Readiness::from_environment();
  auto parsed = parse_agent_arguments("local", args, readiness);
  if (!parsed) return 2;
  const std::string& name = parsed->name;
  auto base = load_base(config_dir, "local", parsed->overrides, readiness);
  if (!base) return 1;
  const config::Config& c = *base->config;
  // While still root and before any thread: the spawner that runs every delivery as the
  // recipient (it keeps root; this process drops to mail_owner below). It never runs a task
  // as mail_owner, and spool privileges only in mail_spool_directory.
  auto mail_owner_uid = privileged_mail_owner(c);
  if (!mail_owner_uid.ok()) return fail(*base->log, readiness, mail_owner_uid.error().message);
  delivery::TaskPolicy policy;
  if (*mail_owner_uid) policy.forbidden_uids.insert(**mail_owner_uid);
  policy.spool_directory = absolute_path(c.get("mail_spool_directory"));
  auto spawner = delivery::PrivilegedDelivery::start(std::move(policy));
  if (!spawner.ok()) return fail(*base->log, readiness, spawner.error().message);
  // Alias tables as surrogates (a missing /etc/aliases.lmdb defers local mail, it does not
  // stop the service), and the resolver's tables to tell local domains from others.
  const std::vector<std::string> alias_specs = c.get_list("alias_maps");
  std::vector<std::string> specs = route::route_table_specs(c);
  specs.insert(specs.end(), alias_specs.begin(), alias_specs.end());
  auto opened = maps::MapSet::open(specs, {}, alias_specs);
  for (const std::string& warning : opened.warnings) base->log->warning("{}", warning);
  if (!opened.ok()) {
    std::string all;
    for (const auto& error : opened.errors) all += (all.empty() ? "" : "; ") + error;
    return fail(*base->log, readiness, all);
  }
  auto default_privs = delivery::system_user_by_name(c.get("default_privs"));
  if (default_privs.status != maps::LookupStatus::Found || default_privs.user.uid == 0 ||
      default_privs.user.name == c.get("mail_owner")) {
    return fail(
        *base->log, readiness,
        fmt::format("default_privs: {} is not an unprivileged user", c.get("default_privs")));
  }
  if (auto dropped = drop_privileges(c.get("mail_owner")); !dropped.ok()) {
    return fail(*base->log, readiness, dropped.error().message);
  }
  auto route = route::make_route_settings(c, *opened.set);
  if (!route.ok()) return fail(*base->log, readiness, route.error().message);
  auto fd = bind_private_socket(base->queue_directory, name);
  if (!fd.ok()) return fail(*base->log, readiness, fd.error().message);
  delivery::LocalAgentOptions options;
  options.queue_directory = base->queue_directory;
  options.myhostname = c.get("myhostname");
  delivery::LocalPlanSettings& plan = options.plan;
  plan.recipient_delimiter = c.get("recipient_delimiter");
  plan.myorigin = c.get("myorigin");
  {
    // forward_path is expanded per delivery ($home, $user...): split its raw value.
    std::string raw = c.get_raw("forward_path");
    for (char& ch : raw) {
      if (ch == ',' || ch == '\t' || ch == '\n') ch = ' ';
    }
    size_t at = 0;
    while (at < raw.size()) {
      const size_t end = raw.find(' ', at);
      std::string item = raw.substr(at, end == std::string::npos ? std::string::npos : end - at);
      if (!item.empty()) plan.forward_path.push_back(item);
      if (end == std::string::npos) break;
      at = end + 1;
    }
  }
  // Not $-expanded, as Postfix: "$EXTENSION" and the like are for the shell.
  plan.mailbox_command = c.get_raw("mailbox_command");
  plan.home_mailbox = c.get("home_mailbox");
  {
    const std::string spool = c.get("mail_spool_directory");
    plan.mail_spool_directory = absolute_path(spool);
    if (!spool.empty() && spool.back() == '/' && plan.mail_spool_directory.back() != '/') {
      plan.mail_spool_directory += '/';
    }
  }
  plan.luser_relay = c.get_raw("luser_relay");
  plan.allow_mail_to_commands = c.get_list("allow_mail_to_commands");
  plan.allow_mail_to_files = c.get_list("allow_mail_to_files");
  plan.default_privs = default_privs.user;
  plan.mail_owner_uid = *mail_owner_uid;
  options.mbox_locks = 0;
  for (const std::string& lock : c.get_list("mailbox_delivery_lock")) {
    if (lock == "fcntl") options.mbox_locks |= unsigned(delivery::MboxLock::Fcntl);
    if (lock == "dotlock") options.mbox_locks |= unsigned(delivery::MboxLock::Dotlock);
    if (lock == "flock") options.mbox_locks |= unsigned(delivery::MboxLock::Flock);
  }
  options.lock_attempts = static_cast<int>(c.get_int("deliver_lock_attempts"));
  options.lock_delay_seconds = static_cast<int>(c.get_seconds("deliver_lock_delay"));
  options.stale_lock_seconds = static_cast<int>(c.get_seconds("stale_lock_time"));
  options.mailbox_size_limit = static_cast<uint64_t>(c.get_int("mailbox_size_limit"));
  options.command_time_limit = static_cast<int>(c.get_seconds("command_time_limit"));
  std::shared_ptr<const maps::MapSet> tables = opened.set;
  const route::RouteSettings route_settings = *route;
  delivery::LocalAgentTables lookups;
  lookups.alias = [tables, alias_specs](const std::string& key) {
    if (alias_specs.empty()) return maps::LookupResult::not_found();
    return tables->lookup_first(alias_specs, key);
  };
  lookups.user_by_name = [](const std::string& n) { return delivery::system_user_by_name(n); };
  lookups.user_by_uid = [](uid_t uid) { return delivery::system_user_by_uid(uid); };
  lookups.is_local_domain = [tables, route_settings](const std::string& d) -> std::optional<bool> {
    switch (route::is_local_domain(route_settings, d)) {
      case policy::Match::Yes:
        return true;
      case policy::Match::No:
        return false;
      case policy::Match::TempFail:
        return std::nullopt;
    }
    return std::nullopt;
  };
  delivery::LocalAgent agent(std::move(options), std::move(lookups), **spawner, *base->log);
  readiness.ready();
  const int code = agent.serve(*fd);
  ::close(*fd);
  return code;
}

int run_virtual_service(const std::string& config_dir, const std::vector<std::string>& args) {
  Readiness readiness = Readiness::from_environment();
  auto parsed = parse_agent_arguments("virtual", args, readiness);
  if (!parsed) return 2;
  const std::string& name = parsed->name;
  auto base = load_base(config_dir, "virtual", parsed->overrides, readiness);
  if (!base) return 1;
  const config::Config& c = *base->config;
  delivery::VirtualAgentOptions options;
  options.queue_directory = base->queue_directory;
  options.myhostname = c.get("myhostname");
  options.myorigin = c.get("myorigin");
  options.mailbox_maps = c.get_list("virtual_mailbox_maps");
  options.uid_maps = c.get_list("virtual_uid_maps");
  options.gid_maps = c.get_list("virtual_gid_maps");
  const std::string mailbox_base = c.get("virtual_mailbox_base");
  options.settings.mailbox_base = mailbox_base.empty() ? "" : absolute_path(mailbox_base);
  options.settings.minimum_uid = static_cast<uid_t>(c.get_int("virtual_minimum_uid"));
  options.settings.mailbox_limit = static_cast<uint64_t>(c.get_int("virtual_mailbox_limit"));
  options.settings.recipient_delimiter = c.get("recipient_delimiter");
  auto locks = delivery::parse_mbox_locks(c.get("virtual_mailbox_lock"));
  if (!locks) {
    return fail(*base->log, readiness,
                fmt::format("virtual_mailbox_lock: unknown method in \"{}\" (fcntl, dotlock, "
                            "flock)",
                            c.get("virtual_mailbox_lock")));
  }
  options.settings.mbox_locks = *locks;
  // Tables opened while still privileged, then the spawner forked (root, before any
  // thread), then the drop.
  std::vector<std::string> specs = options.mailbox_maps;
  specs.insert(specs.end(), options.uid_maps.begin(), options.uid_maps.end());
  specs.insert(specs.end(), options.gid_maps.begin(), options.gid_maps.end());
  auto opened = maps::MapSet::open(specs);
  if (!opened.ok()) {
    std::string all;
    for (const auto& error : opened.errors) all += (all.empty() ? "" : "; ") + error;
    return fail(*base->log, readiness, all);
  }
  options.tables = opened.set;
  auto mail_owner_uid = privileged_mail_owner(c);
  if (!mail_owner_uid.ok()) return fail(*base->log, readiness, mail_owner_uid.error().message);
  delivery::TaskPolicy policy;
  if (*mail_owner_uid) policy.forbidden_uids.insert(**mail_owner_uid);
  policy.minimum_uid = std::max<uid_t>(1, options.settings.minimum_uid);
  auto spawner = delivery::PrivilegedDelivery::start(std::move(policy));
  if (!spawner.ok()) return fail(*base->log, readiness, spawner.error().message);
  if (auto dropped = drop_privileges(c.get("mail_owner")); !dropped.ok()) {
    return fail(*base->log, readiness, dropped.error().message);
  }
  auto fd = bind_private_socket(base->queue_directory, name);
  if (!fd.ok()) return fail(*base->log, readiness, fd.error().message);
  delivery::VirtualAgent agent(std::move(options), **spawner, *base->log);
  readiness.ready();
  const int code = agent.serve(*fd);
  ::close(*fd);
  return code;
}

namespace {

// MTA-STS, as root: the HTTPS client context and the cache directory, owned by mail_owner.
// Problems are logged: a fetch then fails (no policy) or the cache lives in memory only.
std::shared_ptr<asio::ssl::context> prepare_mta_sts(const outbound::SmtpDeliverySettings& settings,
                                                    const config::Config& c,
                                                    const log::Logger& log) {
  if (!settings.mta_sts.enable) return nullptr;
  const std::string& dir = settings.mta_sts.cache_directory;
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    log.warning("MTA-STS cache directory {}: {}", dir, std::strerror(errno));
  } else if (::geteuid() == 0) {
    if (auto ids = lookup_user(c.get("mail_owner")); ids.ok()) {
      if (::chown(dir.c_str(), ids->uid, ids->gid) != 0) {
        log.warning("MTA-STS cache directory {}: {}", dir, std::strerror(errno));
      }
    }
  }
  outbound::ClientTlsSettings https;
  https.ca_file = settings.mta_sts.ca_file;
  auto context = net::make_client_tls_context(https);
  if (!context.ok()) {
    log.warning("MTA-STS policies cannot be fetched: {}", context.error().message);
    return nullptr;
  }
  return std::move(*context);
}

}  // namespace

int run_smtp_service(const std::string& config_dir, const std::vector<std::string>& args) {
  Readiness readiness = Readiness::from_environment();
  auto parsed = parse_agent_arguments("smtp", args, readiness);
  if (!parsed) return 2;
  auto base = load_base(config_dir, "smtp", parsed->overrides, readiness);
  if (!base) return 1;
  const config::Config& c = *base->config;
  std::vector<std::string> warnings;
  auto settings = outbound::make_smtp_delivery_settings(c, base->queue_directory, &warnings);
  if (!settings.ok()) return fail(*base->log, readiness, settings.error().message);
  for (const std::string& w : warnings) base->log->warning("{}", w);
  // As root: the policy and password tables, the CA file and the client's key.
  const std::vector<std::string> policy_specs = c.get_list("smtp_tls_policy_maps");
  const std::vector<std::string> password_specs =
      settings->sasl.enable ? c.get_list("smtp_sasl_password_maps") : std::vector<std::string>();
  const std::vector<std::string> cache_specs =
      outbound::split_cache_destinations(c.get_list("smtp_connection_cache_destinations"))
          .tables;
  std::vector<std::string> all_specs = policy_specs;
  all_specs.insert(all_specs.end(), password_specs.begin(), password_specs.end());
  all_specs.insert(all_specs.end(), cache_specs.begin(), cache_specs.end());
  auto opened = maps::MapSet::open(all_specs);
  if (!opened.ok()) {
    std::string all;
    for (const auto& error : opened.errors) all += (all.empty() ? "" : "; ") + error;
    return fail(*base->log, readiness, all);
  }
  std::shared_ptr<asio::ssl::context> tls;
  if (auto context = net::make_client_tls_context(settings->tls); context.ok()) {
    tls = std::move(*context);
  } else {
    base->log->warning("TLS is not available to the smtp client, mail that requires it is "
                       "deferred: {}",
                       context.error().message);
  }
  std::shared_ptr<asio::ssl::context> mta_sts_https = prepare_mta_sts(*settings, c, *base->log);
  if (auto dropped = drop_privileges(c.get("mail_owner")); !dropped.ok()) {
    return fail(*base->log, readiness, dropped.error().message);
  }
  auto fd = bind_private_socket(base->queue_directory, parsed->name);
  if (!fd.ok()) return fail(*base->log, readiness, fd.error().message);
  asio::io_context io;
  auto dns = outbound::DnsResolver::create(io, outbound::resolver_options(c));
  if (!dns.ok()) return fail(*base->log, readiness, dns.error().message);
  outbound::PolicyLookup policy;
  if (!policy_specs.empty()) {
    policy = [tables = opened.set, policy_specs](const std::string& key) {
      return tables->lookup_first(policy_specs, key);
    };
  }
  outbound::PolicyLookup passwords;
  if (!password_specs.empty()) {
    passwords = [tables = opened.set, password_specs](const std::string& key) {
      return tables->lookup_first(password_specs, key);
    };
  } else if (settings->sasl.enable) {
    base->log->warning("smtp_sasl_auth_enable = yes but smtp_sasl_password_maps is empty");
  }
  outbound::MtaStsResolver mta_sts(io, settings->mta_sts, settings->tls, **dns,
                                   std::move(mta_sts_https), *base->log);
  outbound::SmtpDelivery delivery(io, std::move(*settings), **dns, tls, std::move(policy),
                                  *base->log, std::move(passwords));
  if (mta_sts.enabled()) delivery.set_mta_sts(&mta_sts);
  if (!cache_specs.empty()) {
    delivery.set_cache_destination_tables([tables = opened.set, cache_specs](const std::string& key) {
      return tables->lookup_first(cache_specs, key);
    });
  }
  readiness.ready();
  return outbound::serve_agent_requests_async(
      io, *fd, [&delivery](qmgr::AgentRequest r) { return delivery.deliver(std::move(r)); },
      *base->log, [&delivery] { delivery.close_cached_connections(); });
}

int run_bounce_service(const std::string& config_dir, const std::vector<std::string>& args) {
  Readiness readiness = Readiness::from_environment();
  auto parsed = parse_service_arguments(args);
  if (!parsed.ok()) {
    readiness.fail(fmt::format("estafeta: bounce: {}\n", parsed.error().message));
    return 2;
  }
  auto base = load_base(config_dir, "bounce", parsed->overrides, readiness);
  if (!base) return 1;
  const config::Config& c = *base->config;
  if (auto dropped = drop_privileges(c.get("mail_owner")); !dropped.ok()) {
    return fail(*base->log, readiness, dropped.error().message);
  }
  // Always private/bounce: that is where the queue manager asks (master.cf's defer and
  // trace rows are served by this one service).
  auto fd = bind_private_socket(base->queue_directory, "bounce");
  if (!fd.ok()) return fail(*base->log, readiness, fd.error().message);
  bounce::BounceServiceOptions options;
  options.queue_directory = base->queue_directory;
  options.notices = notice_settings(c);
  bounce::BounceService service(std::move(options), *base->log);
  if (!service.ready()) {
    ::close(*fd);
    return fail(*base->log, readiness, "cannot open the queue");
  }
  readiness.ready();
  const int code = service.serve(*fd);
  ::close(*fd);
  return code;
}

int run_pickup_service(const std::string& config_dir, const std::vector<std::string>& args) {
  Readiness readiness = Readiness::from_environment();
  auto parsed = parse_service_arguments(args);
  if (!parsed.ok()) {
    readiness.fail(fmt::format("estafeta: pickup: {}\n", parsed.error().message));
    return 2;
  }
  auto base = load_base(config_dir, "pickup", parsed->overrides, readiness);
  if (!base) return 1;
  const config::Config& c = *base->config;
  auto policy = submit::open_submit_policy(c);  // tables opened while still privileged
  if (!policy.ok()) {
    std::string all;
    for (const auto& error : policy.errors) all += (all.empty() ? "" : "; ") + error;
    return fail(*base->log, readiness, all);
  }
  // The cleanup stage's tables, opened while still privileged as well.
  auto cleanup_specs = route::envelope_cleanup_table_specs(c);
  if (!cleanup_specs.ok()) return fail(*base->log, readiness, cleanup_specs.error().message);
  auto header_checks = c.get_list("header_checks");
  auto body_checks = c.get_list("body_checks");
  cleanup_specs->insert(cleanup_specs->end(), header_checks.begin(), header_checks.end());
  cleanup_specs->insert(cleanup_specs->end(), body_checks.begin(), body_checks.end());
  // As smtpd's: a recipient table (virtual_alias_maps...) that cannot be opened stands in as
  // one whose lookups fail, so a message is kept in maildrop/ for later instead of pickup
  // (and with it the whole daemon) failing to start.
  auto cleanup_tables =
      maps::MapSet::open(*cleanup_specs, {}, route::recipient_map_specs(c));
  for (const auto& w : cleanup_tables.warnings) base->log->warning("{}", w);
  if (!cleanup_tables.ok()) {
    std::string all;
    for (const auto& error : cleanup_tables.errors) all += (all.empty() ? "" : "; ") + error;
    return fail(*base->log, readiness, all);
  }
  auto cleanup = route::make_envelope_cleanup(c, *cleanup_tables.set);
  if (!cleanup.ok()) return fail(*base->log, readiness, cleanup.error().message);
  if (std::string missing = (*cleanup)->not_implemented(); !missing.empty()) {
    base->log->warning("{}", missing);
  }
  auto owner = lookup_user(c.get("mail_owner"));
  if (::geteuid() == 0 && !owner.ok()) return fail(*base->log, readiness, owner.error().message);
  if (auto dropped = drop_privileges(c.get("mail_owner")); !dropped.ok()) {
    return fail(*base->log, readiness, dropped.error().message);
  }
  submit::PickupOptions options;
  options.cleanup = std::move(*cleanup);
  for (const auto& spec : header_checks) {
    options.content.header_checks.push_back(&cleanup_tables.set->find_or_unavailable(spec));
  }
  for (const auto& spec : body_checks) {
    options.content.body_checks.push_back(&cleanup_tables.set->find_or_unavailable(spec));
  }
  options.content.check_settings.body_size_limit =
      static_cast<size_t>(c.get_int("body_checks_size_limit"));
  options.content.hopcount_limit = static_cast<size_t>(c.get_int("hopcount_limit"));
  options.queue_directory = base->queue_directory;
  options.myorigin = c.get("myorigin");
  options.myhostname = c.get("myhostname");
  options.message_size_limit = static_cast<uint64_t>(c.get_int("message_size_limit"));
  options.maximal_lifetime = std::chrono::seconds(c.get_seconds("maximal_queue_lifetime"));
  // Ready files must have the maildrop directory's group (it is set-group-id).
  struct stat maildrop {};
  const std::string maildrop_path = base->queue_directory + "/" + submit::kMaildrop;
  if (::stat(maildrop_path.c_str(), &maildrop) != 0) {
    return fail(*base->log, readiness,
                fmt::format("stat {}: {}", maildrop_path, std::strerror(errno)));
  }
  options.maildrop_group = maildrop.st_gid;
  // Our own user (mail_owner, or whoever runs an unprivileged instance) owns the queue and
  // could write it directly: its drop files (local delivery's forwards) are trusted.
  options.trusted_uid = ::geteuid();
  options.notices = notice_settings(c);
  options.smtputf8_autodetect = smtputf8_autodetect(c);
  if (parsed->wakeup != "-") {
    const long long seconds = std::atoll(parsed->wakeup.c_str());
    if (seconds > 0) options.scan_interval = std::chrono::seconds(seconds);
  }
  queue::Spool::Options spool_options;
  spool_options.queue_directory = base->queue_directory;
  spool_options.sync_threads = 1;
  spool_options.warn = [&log = *base->log](const std::string& text) { log.warning("{}", text); };
  auto spool = queue::Spool::open(spool_options);
  if (!spool.ok()) return fail(*base->log, readiness, spool.error().message);
  // public/pickup: any local user may send the wake-up datagram (mode 0622).
  auto fd = net::bind_unix_socket(base->queue_directory + "/" + submit::kPickupSocket, SOCK_DGRAM,
                                  0622, SOCK_NONBLOCK);
  if (!fd.ok()) return fail(*base->log, readiness, fd.error().message);
  submit::Pickup pickup(std::move(options), std::move(policy.policy), **spool, *base->log);
  readiness.ready();
  const int code = pickup.serve(*fd);
  ::close(*fd);
  return code;
}

}  // namespace estafeta::daemon
