// The supervisor (see supervisor.h).
#include "daemon/supervisor.h"

#include "daemon/services.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <thread>

#include "daemon/listeners.h"
#include "daemon/privileges.h"
#include "daemon/runtime.h"
#include "daemon/smtpd_worker.h"

namespace estafeta::daemon {
namespace {

using Clock = std::chrono::steady_clock;
constexpr Clock::time_point kNever = Clock::time_point::max();

// Smtpd is forked with the runtime (listeners, TLS contexts); the others are exec'd
// (daemon/services.h) and load what they need themselves.
enum class Role { Smtpd, Qmgr, Local };

struct Child {
  Role role;
  bool retired = false;  // replaced by a reload: do not restart it
};

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
Status prepare_directories(const Runtime& runtime) {
  std::optional<UserIds> owner;
  if (geteuid() == 0) {
    auto ids = lookup_user(runtime.mail_owner);
    if (!ids.ok()) return ids.error();
    owner = *ids;
  }
  std::error_code ec;
  for (const auto& dir : {runtime.queue_directory, runtime.mail_spool_directory}) {
    std::filesystem::create_directories(dir, ec);
    if (ec) return make_error(fmt::format("mkdir {}: {}", dir, ec.message()));
  }
  for (const char* sub : {"", "/incoming", "/active", "/deferred", "/free", "/public", "/pid"}) {
    auto status = make_directory(runtime.queue_directory + sub, sub[0] ? 0700 : 0755, owner);
    if (!status.ok()) return status;
  }
  return make_directory(runtime.mail_spool_directory, 0755, owner);
}

std::shared_ptr<log::Sink> open_sink(const config::Config& config, bool foreground,
                                      std::string* error) {
  std::string hostname = config.get("myhostname");
  std::string file = config.get("maillog_file");
  if (!file.empty()) return log::make_file_sink(file, hostname, error);
  if (foreground) return log::make_stdout_sink(hostname);
  return log::make_syslog_sink();
}

class Supervisor {
 public:
  explicit Supervisor(SupervisorOptions options) : options_(std::move(options)) {}

  ~Supervisor() {
    for (auto& [endpoint, fd] : listener_fds_) ::close(fd);
    if (signal_fd_ >= 0) ::close(signal_fd_);
    if (pid_fd_ >= 0) ::close(pid_fd_);
  }

  int run() {
    {
      char path[4096];
      ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
      if (n <= 0) return fail(fmt::format("fatal: readlink /proc/self/exe: {}", std::strerror(errno)));
      self_exe_.assign(path, size_t(n));
    }
    std::string report;
    auto runtime = load_runtime(options_.config_dir, &report);
    std::fputs(report.c_str(), stderr);
    if (!runtime.ok()) return fail("fatal: " + options_.config_dir + ": configuration error");
    runtime_ = std::move(runtime.value());
    std::string error;
    auto sink = open_sink(*runtime_.config, options_.foreground, &error);
    if (!sink) return fail("fatal: " + error);
    program_ = runtime_.config->get("syslog_name");
    log_.emplace(sink, program_ + "/master");
    if (auto status = prepare_directories(runtime_); !status.ok()) {
      return fail("fatal: " + status.error().message);
    }
    if (auto status = lock_pid_file(); !status.ok()) {
      return fail("fatal: " + status.error().message);
    }
    if (auto status = bind_all(); !status.ok()) return fail("fatal: " + status.error().message);
    if (auto status = block_signals(); !status.ok()) {
      return fail("fatal: " + status.error().message);
    }
    start_child(Role::Smtpd);
    start_child(Role::Local);
    start_child(Role::Qmgr);
    log_->info("daemon started -- version {}, configuration {}",
               runtime_.config->get("mail_version"), options_.config_dir);
    report_ready(options_.ready_fd, "ok\n");
    if (!options_.foreground) detach_stderr();
    return serve();
  }

 private:
  int fail(const std::string& message) {
    std::fprintf(stderr, "estafeta: %s\n", message.c_str());
    if (log_) log_->info(message);
    report_ready(options_.ready_fd, message + "\n");
    return 1;
  }

  Status lock_pid_file() {
    std::string path = runtime_.queue_directory + "/pid/master.pid";
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

  // Binds every listener of the current runtime that is not bound yet and closes the ones
  // no longer configured.
  Status bind_all() {
    std::map<std::string, int> wanted;
    for (const auto& spec : runtime_.listeners) {
      std::string name = endpoint_name(spec.host, spec.port);
      if (wanted.count(name)) continue;
      if (auto it = listener_fds_.find(name); it != listener_fds_.end()) {
        wanted[name] = it->second;
        listener_fds_.erase(it);
        continue;
      }
      auto fd = bind_listener(spec.host, spec.port);
      if (!fd.ok()) {
        for (auto& [n, f] : wanted) listener_fds_[n] = f;
        return fd.error();
      }
      wanted[name] = *fd;
    }
    for (auto& [name, fd] : listener_fds_) ::close(fd);
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

  void start_child(Role role) {
    std::fflush(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) {
      log_->warning("fork: {}", std::strerror(errno));
      return;
    }
    if (pid == 0) {
      // Child: no supervisor state beyond what the role needs. The readiness pipe must not
      // stay open in a child (`estafeta start` waits for its end), nor the caller's stderr.
      ::close(pid_fd_);
      ::close(signal_fd_);
      if (options_.ready_fd >= 0) ::close(options_.ready_fd);
      if (!options_.foreground) detach_stderr();
      sigset_t empty;
      sigemptyset(&empty);
      sigprocmask(SIG_SETMASK, &empty, nullptr);
      if (role != Role::Smtpd) exec_service(role);  // returns only on failure
      int code = role == Role::Smtpd ? run_smtpd() : 127;
      std::fflush(nullptr);
      ::_exit(code);
    }
    children_[pid] = Child{role};
  }

  int run_smtpd() {
    SmtpdWorkerOptions options{{}, runtime_.queue_directory, runtime_.mail_owner,
                               log_->with_program(program_ + "/smtpd")};
    for (const auto& spec : runtime_.listeners) {
      std::string name = endpoint_name(spec.host, spec.port);
      options.listeners.push_back({listener_fds_.at(name), name, spec.settings, spec.tls});
    }
    return run_smtpd_worker(std::move(options));
  }

  // In the child: becomes `estafeta -c DIR qmgr|local`, a fresh program that inherits none
  // of this process's memory (TLS keys, open tables). Returns only if exec failed.
  void exec_service(Role role) {
    for (auto& [name, fd] : listener_fds_) ::close(fd);
    if (options_.foreground) ::setenv(kLogToStdoutVariable, "1", 1);
    const std::string service = role == Role::Qmgr ? "qmgr" : "local";
    std::vector<std::string> args = {"estafeta", "-c", options_.config_dir, service};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(self_exe_.c_str(), argv.data());
    log_->warning("exec {} {}: {}", self_exe_, service, std::strerror(errno));
  }

  int serve() {
    std::vector<Role> to_restart;
    Clock::time_point restart_at = kNever;
    while (true) {
      int timeout = -1;
      if (restart_at != kNever) {
        auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(restart_at -
                                                                          Clock::now());
        timeout = std::max<int>(0, static_cast<int>(wait.count()));
      }
      pollfd pfd{signal_fd_, POLLIN, 0};
      int ready = ::poll(&pfd, 1, timeout);
      if (ready == 0 && restart_at != kNever) {
        for (Role role : to_restart) start_child(role);
        to_restart.clear();
        restart_at = kNever;
        continue;
      }
      signalfd_siginfo info{};
      if (ready < 0 || ::read(signal_fd_, &info, sizeof info) != sizeof info) continue;
      switch (info.ssi_signo) {
        case SIGCHLD:
          for (Role role : reap()) {
            to_restart.push_back(role);
            restart_at = Clock::now() + std::chrono::seconds(1);
          }
          break;
        case SIGHUP:
          reload(to_restart, restart_at);
          break;
        default:
          log_->info("terminating on signal {}", info.ssi_signo);
          stop_children();
          ::unlink((runtime_.queue_directory + "/pid/master.pid").c_str());
          return 0;
      }
    }
  }

  // Collects exited children; returns the roles that must be started again.
  std::vector<Role> reap() {
    std::vector<Role> restart;
    int status = 0;
    pid_t pid;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
      auto it = children_.find(pid);
      if (it == children_.end()) continue;
      Child child = it->second;
      children_.erase(it);
      bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      // An exec'd service retired by a reload is started again (with the new configuration)
      // once it has exited.
      bool replaced_delivery = child.retired && child.role != Role::Smtpd;
      if (!child.retired && !clean) {
        log_->warning("process pid {} {} {}: restarting", pid,
                      WIFSIGNALED(status) ? "killed by signal" : "exit status",
                      WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
      }
      if (!child.retired || replaced_delivery) restart.push_back(child.role);
    }
    return restart;
  }

  // SIGHUP: a new configuration. Invalid -> keep the running one. Valid -> new smtpd worker
  // now (the old one drains its sessions), delivery agent restarted once the old one exits.
  void reload(std::vector<Role>& to_restart, Clock::time_point& restart_at) {
    std::string report;
    auto runtime = load_runtime(options_.config_dir, &report);
    if (!report.empty()) log_->warning("reload: {}", report);
    if (!runtime.ok()) {
      log_->warning("reload: configuration error, keeping the running configuration");
      return;
    }
    Runtime previous = std::move(runtime_);
    runtime_ = std::move(runtime.value());
    if (auto status = bind_all(); !status.ok()) {
      log_->warning("reload: {}; keeping the running configuration", status.error().message);
      runtime_ = std::move(previous);
      return;
    }
    if (auto status = prepare_directories(runtime_); !status.ok()) {
      log_->warning("reload: {}", status.error().message);
    }
    for (auto& [pid, child] : children_) {
      if (child.retired) continue;
      child.retired = true;
      ::kill(pid, child.role == Role::Smtpd ? SIGHUP : SIGTERM);
    }
    // Roles waiting for a restart would start with the old runtime otherwise.
    to_restart.erase(std::remove(to_restart.begin(), to_restart.end(), Role::Smtpd),
                     to_restart.end());
    if (to_restart.empty()) restart_at = kNever;
    start_child(Role::Smtpd);
    for (Role role : {Role::Local, Role::Qmgr}) {
      bool running = std::any_of(children_.begin(), children_.end(),
                                 [role](auto& entry) { return entry.second.role == role; });
      if (!running) start_child(role);
    }
    log_->info("reload -- version {}, configuration {}", runtime_.config->get("mail_version"),
               options_.config_dir);
  }

  void stop_children() {
    for (auto& [pid, child] : children_) ::kill(pid, SIGTERM);
    auto deadline = Clock::now() + std::chrono::seconds(10);
    while (!children_.empty()) {
      int status = 0;
      pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid > 0) {
        children_.erase(pid);
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
  Runtime runtime_;
  std::string program_;
  std::string self_exe_;  // this program, for exec'ing the services
  std::optional<log::Logger> log_;
  std::map<std::string, int> listener_fds_;
  std::map<pid_t, Child> children_;
  int signal_fd_ = -1;
  int pid_fd_ = -1;
};

}  // namespace

int run_supervisor(SupervisorOptions options) {
  Supervisor supervisor(std::move(options));
  return supervisor.run();
}

}  // namespace estafeta::daemon
