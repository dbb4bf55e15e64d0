// The supervisor (see supervisor.h).
#include "daemon/supervisor.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "daemon/listeners.h"
#include "daemon/privileges.h"
#include "daemon/runtime.h"
#include "daemon/services.h"
#include "log/logger.h"

extern char** environ;

namespace estafeta::daemon {
namespace {

using Clock = std::chrono::steady_clock;
using config::ServiceRole;
constexpr Clock::time_point kNever = Clock::time_point::max();

// Restarts: 1 s after the first failure, doubling for each failure in a row, at most 60 s.
// A process that ran kHealthyRun before it exited counts as a first failure again.
constexpr std::chrono::seconds kFirstRestartDelay{1};
constexpr std::chrono::seconds kMaxRestartDelay{60};
constexpr std::chrono::seconds kHealthyRun{60};
// How long a start waits for every service to report.
constexpr std::chrono::seconds kStartTimeout{60};

// One process the supervisor started.
struct Child {
  std::string key;  // the service, "name/type"
  ServiceRole role = ServiceRole::Ignored;
  std::string name;         // the master.cf service name
  std::string command;      // smtpd, qmgr, local
  std::string label;        // for logs and status: "smtpd 127.0.0.1:2525", "qmgr"
  uint64_t generation = 0;  // the configuration it was started with (a reload adds one)
  Clock::time_point started;
  bool ready = false;    // it reported that it serves
  bool retired = false;  // a reload told it to stop (smtpd: to finish its sessions)
  int ready_fd = -1;     // the read end of its start-up report, until end of file
  std::string report;    // what it wrote there
};

// Restart state of one service of the current configuration.
struct Restart {
  int failures = 0;  // in a row
  Clock::time_point at = kNever;
};

// How a service is named in logs and in `estafeta status`.
std::string service_label(const ServiceSpec& spec) {
  std::string label = spec.row.command;
  if (spec.row.endpoint != spec.row.command) label += " " + spec.row.endpoint;
  if (spec.role == ServiceRole::Smtpd &&
      !(spec.endpoints.size() == 1 && spec.endpoints[0] == spec.row.endpoint)) {
    std::string joined;
    for (const auto& e : spec.endpoints) joined += (joined.empty() ? "" : ", ") + e;
    label += " (" + joined + ")";
  }
  return label;
}

// Postfix's wording for an exit: "exit status 1", "killed by signal 9".
std::string exit_text(int status) {
  if (WIFSIGNALED(status)) return fmt::format("killed by signal {}", WTERMSIG(status));
  return fmt::format("exit status {}", WEXITSTATUS(status));
}

// A background daemon keeps nothing of the terminal or pipe it was started from.
void detach_stderr() {
  int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (null >= 0) {
    ::dup2(null, STDERR_FILENO);
    ::close(null);
  }
}

void report_ready(int& fd, std::string_view text) {
  if (fd < 0) return;
  [[maybe_unused]] auto n = ::write(fd, text.data(), text.size());
  ::close(fd);
  fd = -1;
}

Status make_directory(const std::string& path, mode_t mode, const std::optional<UserIds>& owner) {
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) {
    const int code = errno;
    return make_error(fmt::format("mkdir {}: {}", path, std::strerror(code)), code);
  }
  if (owner && ::chown(path.c_str(), owner->uid, owner->gid) != 0) {
    const int code = errno;
    return make_error(fmt::format("chown {}: {}", path, std::strerror(code)), code);
  }
  return {};
}

// The queue and mail directories, owned by mail_owner when we are root.
Status prepare_directories(const ServicePlan& plan) {
  std::optional<UserIds> owner;
  if (geteuid() == 0) {
    auto ids = lookup_user(plan.mail_owner);
    if (!ids.ok()) return ids.error();
    owner = *ids;
  }
  std::error_code ec;
  // An existing mail_spool_directory (Debian's /var/mail, root:mail 2775) is the system's:
  // left as it is. One we create is mail_owner's (local delivery creates mbox files there
  // with its owner's privileges and gives them to the user).
  const bool spool_existed = std::filesystem::is_directory(plan.mail_spool_directory, ec);
  for (const auto& dir : {plan.queue_directory, plan.mail_spool_directory}) {
    std::filesystem::create_directories(dir, ec);
    if (ec) return make_error(fmt::format("mkdir {}: {}", dir, ec.message()));
  }
  for (const char* sub : {"", "/incoming", "/active", "/deferred", "/corrupt", "/pid"}) {
    auto status = make_directory(plan.queue_directory + sub, sub[0] ? 0700 : 0755, owner);
    if (!status.ok()) return status;
  }
  // Local submission (submit/maildrop.h): any user reaches public/pickup and creates files
  // in maildrop/, which nobody but mail_owner can list.
  for (auto [sub, mode] : {std::pair{"/public", 0711}, std::pair{"/maildrop", 03733}}) {
    const std::string path = plan.queue_directory + sub;
    auto status = make_directory(path, 0700, owner);
    if (!status.ok()) return status;
    if (::chmod(path.c_str(), mode_t(mode)) != 0) {
      const int code = errno;
      return make_error(fmt::format("chmod {}: {}", path, std::strerror(code)), code);
    }
  }
  if (!spool_existed) {
    if (auto status = make_directory(plan.mail_spool_directory, 0755, owner); !status.ok()) {
      return status;
    }
  }
  // virtual_mailbox_base: created when missing; given to the one static owner of the virtual
  // mailboxes only when it is new or is the spool directory we just made (never an existing
  // directory of the system).
  if (plan.virtual_mailbox_base.empty()) return {};
  const bool existed = std::filesystem::exists(plan.virtual_mailbox_base, ec);
  std::filesystem::create_directories(plan.virtual_mailbox_base, ec);
  if (ec) return make_error(fmt::format("mkdir {}: {}", plan.virtual_mailbox_base, ec.message()));
  if (geteuid() != 0 || !plan.virtual_base_owner) return {};
  const bool our_spool = plan.virtual_mailbox_base == plan.mail_spool_directory && !spool_existed;
  if (existed && !our_spool) return {};
  return make_directory(plan.virtual_mailbox_base, 0755,
                        UserIds{plan.virtual_base_owner->first, plan.virtual_base_owner->second});
}

std::shared_ptr<log::Sink> open_sink(const config::Config& config, bool foreground,
                                     std::string* error) {
  std::string hostname = config.get("myhostname");
  std::string file = config.get("maillog_file");
  if (!file.empty()) return log::make_file_sink(file, hostname, error);
  if (foreground) return log::make_stdout_sink(hostname);
  return log::make_syslog_sink();
}

// The non-empty lines of `text`.
std::vector<std::string> lines_of(std::string_view text) {
  std::vector<std::string> lines;
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string_view::npos) end = text.size();
    if (end > begin) lines.emplace_back(text.substr(begin, end - begin));
    begin = end + 1;
  }
  return lines;
}

// Reads what is available on a non-blocking start-up report descriptor; true at end of
// file (the service wrote its report and closed, or exited).
bool read_report(Child& child) {
  char buffer[4096];
  while (true) {
    ssize_t n = ::read(child.ready_fd, buffer, sizeof buffer);
    if (n > 0) {
      if (child.report.size() < 65536) child.report.append(buffer, size_t(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return false;
    ::close(child.ready_fd);
    child.ready_fd = -1;
    return true;
  }
}

class Supervisor {
 public:
  explicit Supervisor(SupervisorOptions options) : options_(std::move(options)) {}

  ~Supervisor() {
    for (auto& [endpoint, fd] : listener_fds_) ::close(fd);
    for (auto& [pid, child] : children_) {
      if (child.ready_fd >= 0) ::close(child.ready_fd);
    }
    if (signal_fd_ >= 0) ::close(signal_fd_);
    if (pid_fd_ >= 0) ::close(pid_fd_);
  }

  int run() {
    {
      char path[4096];
      ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
      if (n <= 0)
        return fail(fmt::format("fatal: readlink /proc/self/exe: {}", std::strerror(errno)));
      self_exe_.assign(path, size_t(n));
    }
    std::string report;
    auto plan = load_service_plan(options_.config_dir, &report, options_.mode);
    std::fputs(report.c_str(), stderr);
    if (!plan.ok()) return fail("fatal: " + options_.config_dir + ": configuration error");
    plan_ = std::move(plan.value());
    std::string error;
    auto sink = open_sink(*plan_.config, options_.foreground, &error);
    if (!sink) return fail("fatal: " + error);
    log_.emplace(sink, plan_.config->get("syslog_name") + "/master");
    if (auto status = prepare_directories(plan_); !status.ok()) {
      return fail("fatal: " + status.error().message);
    }
    if (auto status = lock_pid_file(); !status.ok()) {
      return fail("fatal: " + status.error().message);
    }
    if (auto status = bind_all(plan_); !status.ok()) {
      return fail("fatal: " + status.error().message);
    }
    if (auto status = block_signals(); !status.ok()) {
      return fail("fatal: " + status.error().message);
    }
    log_notices();
    starting_ = true;
    start_deadline_ = Clock::now() + kStartTimeout;
    reconcile();
    return serve();
  }

 private:
  int fail(const std::string& message) {
    std::fprintf(stderr, "estafeta: %s\n", message.c_str());
    if (log_) log_->info(message);
    report_ready(options_.ready_fd, message + "\n");
    return 1;
  }

  std::string pid_path(const char* name) const { return plan_.queue_directory + "/pid/" + name; }

  Status lock_pid_file() {
    std::string path = pid_path("master.pid");
    pid_fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (pid_fd_ < 0) {
      const int code = errno;
      return make_error(fmt::format("open {}: {}", path, std::strerror(code)), code);
    }
    if (::flock(pid_fd_, LOCK_EX | LOCK_NB) != 0) {
      return make_error("the Estafeta mail system is already running (" + path + " is locked)");
    }
    std::string text = fmt::format("{:>10}\n", ::getpid());
    if (::ftruncate(pid_fd_, 0) != 0 || ::pwrite(pid_fd_, text.data(), text.size(), 0) < 0) {
      const int code = errno;
      return make_error(fmt::format("write {}: {}", path, std::strerror(code)), code);
    }
    return {};
  }

  // Binds every listener of `plan` that is not bound yet and closes the ones it no longer
  // names (a process that still serves them holds its own descriptors). On failure nothing
  // changes.
  Status bind_all(const ServicePlan& plan) {
    std::map<std::string, int> wanted;
    for (const auto& spec : plan.services) {
      for (size_t i = 0; i < spec.endpoints.size(); ++i) {
        const std::string& name = spec.endpoints[i];
        if (wanted.count(name)) continue;
        if (auto it = listener_fds_.find(name); it != listener_fds_.end()) {
          wanted[name] = it->second;
          continue;
        }
        auto fd = bind_listener(spec.addresses[i].host, spec.addresses[i].port);
        if (!fd.ok()) {
          for (auto& [n, f] : wanted) {
            if (!listener_fds_.count(n)) ::close(f);
          }
          return fd.error();
        }
        wanted[name] = *fd;
      }
    }
    for (auto& [name, fd] : listener_fds_) {
      if (!wanted.count(name)) ::close(fd);
    }
    listener_fds_ = std::move(wanted);
    return {};
  }

  Status block_signals() {
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGTERM, SIGINT, SIGHUP, SIGCHLD}) sigaddset(&set, s);
    if (sigprocmask(SIG_BLOCK, &set, nullptr) != 0) return make_error("sigprocmask failed");
    signal_fd_ = signalfd(-1, &set, SFD_CLOEXEC);
    if (signal_fd_ < 0) {
      const int code = errno;
      return make_error(fmt::format("signalfd: {}", std::strerror(code)), code);
    }
    return {};
  }

  // The warnings about the service table, each logged once for the supervisor's life.
  void log_notices() {
    for (const auto& d : plan_.notices) {
      std::string text = config::notice_text(d);
      if (reported_notices_.insert(text).second) log_->warning(text);
    }
  }

  // Starts each service of the current configuration that has no process, unless it
  // waits for a restart or (qmgr, local) for its predecessor to exit.
  void reconcile() {
    if (stopping_ || !start_failures_.empty()) return;
    for (const auto& spec : plan_.services) {
      bool running = false;
      bool blocked = false;
      for (const auto& [pid, child] : children_) {
        if (child.key == spec.key && child.generation == generation_ && !child.retired) {
          running = true;
        }
        // One queue manager per queue; one agent per socket.
        if (spec.role != ServiceRole::Smtpd && child.role == spec.role &&
            (spec.role == ServiceRole::Qmgr || spec.role == ServiceRole::Pickup ||
             child.name == spec.row.endpoint)) {
          blocked = true;
        }
      }
      if (running || blocked || restarts_[spec.key].at != kNever) continue;
      start(spec);
    }
    write_status();
  }

  void start(const ServiceSpec& spec) {
    // The command line: Postfix's "-n name -t type" and the row's -o overrides.
    std::vector<std::string> args = {self_exe_, "-c", options_.config_dir, spec.row.command};
    auto more = service_arguments(spec.row);
    args.insert(args.end(), more.begin(), more.end());
    // Descriptors from 3 up: the listeners (smtpd), then the start-up report pipe.
    std::vector<int> fds;
    for (const auto& name : spec.endpoints) fds.push_back(listener_fds_.at(name));
    int report[2];
    if (::pipe2(report, O_CLOEXEC) != 0) {
      log_->warning("pipe: {}", std::strerror(errno));
      schedule_restart(spec.key, spec.row, Clock::now());
      return;
    }
    fds.push_back(report[1]);
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      std::string_view entry(*e);
      auto is = [&](const char* name) {
        return entry.size() > std::strlen(name) && entry.substr(0, std::strlen(name)) == name &&
               entry[std::strlen(name)] == '=';
      };
      if (is(kLogToStdoutVariable) || is(kListenFdsVariable) || is(kReadyFdVariable)) continue;
      env.emplace_back(entry);
    }
    if (options_.foreground) env.push_back(std::string(kLogToStdoutVariable) + "=1");
    if (!spec.endpoints.empty()) {
      env.push_back(std::string(kListenFdsVariable) + "=" + encode_listen_fds(spec.endpoints));
    }
    env.push_back(fmt::format("{}={}", kReadyFdVariable, kFirstPassedFd + int(fds.size()) - 1));
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);

    std::fflush(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) {
      log_->warning("fork: {}", std::strerror(errno));
      ::close(report[0]);
      ::close(report[1]);
      schedule_restart(spec.key, spec.row, Clock::now());
      return;
    }
    if (pid == 0) exec_child(argv, envp, fds);  // never returns
    ::close(report[1]);
    ::fcntl(report[0], F_SETFL, O_NONBLOCK);
    Child child;
    child.key = spec.key;
    child.role = spec.role;
    child.name = spec.row.endpoint;
    child.command = spec.row.command;
    child.label = service_label(spec);
    child.generation = generation_;
    child.started = Clock::now();
    child.ready_fd = report[0];
    children_[pid] = std::move(child);
  }

  // In the child: the descriptors in place (3, 4, ...), signals unblocked, then exec. Every
  // other descriptor of the supervisor is close-on-exec.
  [[noreturn]] void exec_child(std::vector<char*>& argv, std::vector<char*>& envp,
                               const std::vector<int>& fds) {
    sigset_t empty;
    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, &empty, nullptr);
    if (!options_.foreground) detach_stderr();
    const int count = int(fds.size());
    std::vector<int> moved;
    for (int fd : fds) moved.push_back(::fcntl(fd, F_DUPFD_CLOEXEC, kFirstPassedFd + count));
    for (int i = 0; i < count; ++i) ::dup2(moved[size_t(i)], kFirstPassedFd + i);
    ::execve(argv[0], argv.data(), envp.data());
    std::string text = fmt::format("fatal: exec {}: {}\n", argv[0], std::strerror(errno));
    [[maybe_unused]] auto n = ::write(kFirstPassedFd + count - 1, text.data(), text.size());
    ::_exit(127);
  }

  void schedule_restart(const std::string& key, const config::Service& row,
                        Clock::time_point started) {
    auto& restart = restarts_[key];
    const auto now = Clock::now();
    restart.failures = now - started >= kHealthyRun ? 1 : restart.failures + 1;
    const auto delay = restart_delay(restart.failures);
    restart.at = now + delay;
    log_->warning("service {} ({}): restarting in {} s", row.endpoint, row.command, delay.count());
  }

  const ServiceSpec* find_spec(const std::string& key) const {
    for (const auto& spec : plan_.services) {
      if (spec.key == key) return &spec;
    }
    return nullptr;
  }

  // The service reported; a new smtpd takes over from its predecessors now.
  void on_report(pid_t pid, Child& child) {
    if (child.report != kReadyText) return;  // a reason it cannot start: it exits
    child.ready = true;
    if (child.role != ServiceRole::Smtpd) return;
    for (auto& [other_pid, other] : children_) {
      if (other_pid != pid && other.key == child.key && other.generation < child.generation &&
          !other.retired) {
        retire(other_pid, other);
      }
    }
  }

  void retire(pid_t pid, Child& child) {
    child.retired = true;
    ::kill(pid, child.role == ServiceRole::Smtpd ? SIGHUP : SIGTERM);
  }

  // Collects exited children: logs abnormal exits, schedules restarts.
  void reap() {
    int status = 0;
    pid_t pid;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
      auto it = children_.find(pid);
      if (it == children_.end()) continue;
      Child child = std::move(it->second);
      children_.erase(it);
      if (child.ready_fd >= 0) {
        ::fcntl(child.ready_fd, F_SETFL, 0);  // it is gone: the rest is there to read
        read_report(child);
      }
      const bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (!clean) log_->warning("process {} pid {} {}", self_exe_, pid, exit_text(status));
      const bool failed_to_start = !child.ready && child.report != kReadyText;
      if (failed_to_start && !child.retired && !stopping_) {
        std::string reason = child.report.empty() ? "exited before it was ready" : child.report;
        if (starting_) {
          // One line per service; the start fails with all of them (check_start).
          std::string joined;
          for (const auto& line : lines_of(reason)) joined += (joined.empty() ? "" : "; ") + line;
          start_failures_.push_back(
              fmt::format("service {} did not start: {}", child.label, joined));
        } else {
          for (const auto& line : lines_of(reason)) {
            log_->warning("service {} ({}): {}", child.name, child.command, line);
          }
        }
      }
      if (child.retired || stopping_) continue;
      if (starting_ && failed_to_start) continue;     // the start fails (check_start)
      if (child.generation != generation_) continue;  // replaced by a reload already
      // Every other exit waits for its restart: never a tight loop.
      if (const ServiceSpec* spec = find_spec(child.key)) {
        schedule_restart(child.key, spec->row, child.started);
      }
    }
    reconcile();
  }

  // SIGHUP: a new configuration. Invalid -> keep the running one. Valid -> new smtpd
  // processes now (each old one finishes its sessions once its successor serves), qmgr and
  // local stopped and started again once they have exited.
  void reload() {
    std::string report;
    auto plan = load_service_plan(options_.config_dir, &report, options_.mode);
    for (const auto& line : lines_of(report)) log_->warning("reload: {}", line);
    if (!plan.ok()) {
      log_->warning("reload: configuration error, keeping the running configuration");
      return;
    }
    if (auto status = bind_all(*plan); !status.ok()) {
      log_->warning("reload: {}; keeping the running configuration", status.error().message);
      return;
    }
    if (auto status = prepare_directories(*plan); !status.ok()) {
      log_->warning("reload: {}", status.error().message);
    }
    plan_ = std::move(plan.value());
    ++generation_;
    log_notices();
    restarts_.clear();  // a new configuration: services waiting for a restart start now
    for (auto& [pid, child] : children_) {
      if (child.retired) continue;
      // An smtpd whose service remains serves until its successor reports (on_report).
      if (child.role == ServiceRole::Smtpd && find_spec(child.key) != nullptr) continue;
      retire(pid, child);
    }
    reconcile();
    log_->info("reload -- version {}, configuration {}", plan_.config->get("mail_version"),
               options_.config_dir);
  }

  // Start-up is over when every service has reported (or one could not start).
  // Returns an exit code when the supervisor must end.
  std::optional<int> check_start() {
    const bool all_ready = std::all_of(children_.begin(), children_.end(),
                                       [](const auto& entry) { return entry.second.ready; });
    if (!all_ready && Clock::now() >= start_deadline_) {
      for (auto& [pid, child] : children_) {
        if (!child.ready) {
          start_failures_.push_back(fmt::format("service {} did not report within {} s",
                                                child.label, kStartTimeout.count()));
        }
      }
    } else if (!all_ready) {
      return std::nullopt;  // the others' reports complete the list of failures
    }
    if (!start_failures_.empty()) {
      stop_children();
      ::unlink(pid_path("master.pid").c_str());
      ::unlink((plan_.queue_directory + "/" + kServicesFile).c_str());
      std::string message;
      for (const auto& failure : start_failures_) {
        message += (message.empty() ? "fatal: " : "\nestafeta: fatal: ") + failure;
      }
      return fail(message);
    }
    starting_ = false;
    log_->info("daemon started -- version {}, configuration {}", plan_.config->get("mail_version"),
               options_.config_dir);
    report_ready(options_.ready_fd, "ok\n");
    if (!options_.foreground) detach_stderr();
    if (reload_pending_) {
      reload_pending_ = false;
      reload();
    }
    return std::nullopt;
  }

  int serve() {
    while (true) {
      auto next = starting_ ? start_deadline_ : kNever;
      for (const auto& [key, restart] : restarts_) next = std::min(next, restart.at);
      int timeout = -1;
      if (next != kNever) {
        auto wait = std::chrono::ceil<std::chrono::milliseconds>(next - Clock::now());
        timeout = static_cast<int>(std::clamp<long long>(wait.count(), 0, 3600 * 1000));
      }
      std::vector<pollfd> fds = {{signal_fd_, POLLIN, 0}};
      std::vector<pid_t> owners = {0};
      for (const auto& [pid, child] : children_) {
        if (child.ready_fd < 0) continue;
        fds.push_back({child.ready_fd, POLLIN, 0});
        owners.push_back(pid);
      }
      int ready = ::poll(fds.data(), fds.size(), timeout);
      if (ready < 0 && errno != EINTR) {
        log_->warning("poll: {}", std::strerror(errno));
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      for (size_t i = 1; ready > 0 && i < fds.size(); ++i) {
        if (fds[i].revents == 0) continue;
        auto it = children_.find(owners[i]);
        if (it != children_.end() && it->second.ready_fd >= 0 && read_report(it->second)) {
          on_report(it->first, it->second);
          write_status();
        }
      }
      if (ready > 0 && fds[0].revents != 0) {
        signalfd_siginfo info{};
        if (::read(signal_fd_, &info, sizeof info) == sizeof info) {
          if (info.ssi_signo == SIGCHLD) {
            reap();
          } else if (info.ssi_signo == SIGHUP) {
            if (starting_) {
              reload_pending_ = true;
            } else {
              reload();
            }
          } else {
            log_->info("terminating on signal {}", info.ssi_signo);
            stop_children();
            ::unlink(pid_path("master.pid").c_str());
            ::unlink((plan_.queue_directory + "/" + kServicesFile).c_str());
            return 0;
          }
        }
      }
      const auto now = Clock::now();
      bool due = false;
      for (auto& [key, restart] : restarts_) {
        if (restart.at <= now) {
          restart.at = kNever;
          due = true;
        }
      }
      if (due) reconcile();
      if (starting_) {
        if (auto code = check_start()) return *code;
      }
    }
  }

  // <queue_directory>/pid/services: one line per process (and per service waiting for a
  // restart), as `estafeta status` prints them. Replaced atomically.
  void write_status() {
    std::string text;
    auto line_of = [](pid_t pid, const Child& child) {
      std::string state;
      if (child.retired) {
        state = child.role == ServiceRole::Smtpd ? " (finishing its sessions)" : " (stopping)";
      } else if (!child.ready) {
        state = " (starting)";
      }
      return fmt::format("{} pid {}{}\n", child.label, pid, state);
    };
    std::set<pid_t> listed;
    for (const auto& spec : plan_.services) {
      bool any = false;
      for (const auto& [pid, child] : children_) {
        if (child.key != spec.key) continue;
        text += line_of(pid, child);
        listed.insert(pid);
        any = true;
      }
      auto restart = restarts_.find(spec.key);
      if (!any && restart != restarts_.end() && restart->second.at != kNever) {
        text += fmt::format("{} not running (restart pending after {} failure{} in a row)\n",
                            service_label(spec), restart->second.failures,
                            restart->second.failures == 1 ? "" : "s");
      }
    }
    for (const auto& [pid, child] : children_) {
      if (!listed.count(pid)) text += line_of(pid, child);
    }
    const std::string path = plan_.queue_directory + "/" + kServicesFile;
    const std::string temporary = path + ".tmp";
    int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return;
    bool written = ::write(fd, text.data(), text.size()) == ssize_t(text.size());
    ::close(fd);
    if (!written || ::rename(temporary.c_str(), path.c_str()) != 0) ::unlink(temporary.c_str());
  }

  void stop_children() {
    stopping_ = true;
    for (auto& [pid, child] : children_) ::kill(pid, SIGTERM);
    auto deadline = Clock::now() + std::chrono::seconds(10);
    while (!children_.empty()) {
      int status = 0;
      pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid > 0) {
        auto it = children_.find(pid);
        if (it != children_.end()) {
          if (it->second.ready_fd >= 0) ::close(it->second.ready_fd);
          children_.erase(it);
        }
        continue;
      }
      if (pid < 0 && errno == ECHILD) break;
      if (Clock::now() > deadline) {
        for (auto& [p, child] : children_) ::kill(p, SIGKILL);
        deadline = Clock::now() + std::chrono::hours(1);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  SupervisorOptions options_;
  ServicePlan plan_;
  uint64_t generation_ = 0;
  std::string self_exe_;  // this program, for exec'ing the services
  std::optional<log::Logger> log_;
  std::map<std::string, int> listener_fds_;  // endpoint name -> listening socket
  std::map<pid_t, Child> children_;
  std::map<std::string, Restart> restarts_;  // by service key
  std::set<std::string> reported_notices_;
  bool starting_ = false;
  Clock::time_point start_deadline_ = kNever;
  std::vector<std::string> start_failures_;  // one line per service that did not start
  bool reload_pending_ = false;
  bool stopping_ = false;
  int signal_fd_ = -1;
  int pid_fd_ = -1;
};

}  // namespace

std::chrono::seconds restart_delay(int failures) {
  auto delay = kFirstRestartDelay;
  for (int i = 1; i < failures && delay < kMaxRestartDelay; ++i) delay *= 2;
  return std::min(delay, kMaxRestartDelay);
}

int run_supervisor(SupervisorOptions options) {
  Supervisor supervisor(std::move(options));
  return supervisor.run();
}

}  // namespace estafeta::daemon
