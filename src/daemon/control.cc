// Control commands (see control.h).
#include "daemon/control.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include "daemon/runtime.h"
#include "daemon/supervisor.h"

namespace estafeta::daemon {
namespace {

constexpr const char* kTag = "estafeta/estafeta-script";

std::string queue_directory(const std::string& config_dir) {
  auto loaded = config::Config::load(config_dir);
  if (!loaded.config) return {};
  return absolute_path(loaded.config->get("queue_directory"));
}

// The pid of the running supervisor, or 0 if none holds the pid file lock.
pid_t running_pid(const std::string& config_dir) {
  std::string queue = queue_directory(config_dir);
  if (queue.empty()) return 0;
  std::string path = queue + "/pid/master.pid";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  bool locked = ::flock(fd, LOCK_SH | LOCK_NB) != 0;
  ::close(fd);
  if (!locked) return 0;
  std::ifstream in(path);
  long pid = 0;
  in >> pid;
  return pid > 0 && ::kill(static_cast<pid_t>(pid), 0) == 0 ? static_cast<pid_t>(pid) : 0;
}

}  // namespace

int command_start_foreground(const std::string& config_dir, const RunMode& mode) {
  return run_supervisor({config_dir, true, -1, mode});
}

int command_start(const std::string& config_dir, const RunMode& mode) {
  if (pid_t pid = running_pid(config_dir)) {
    std::fprintf(stderr, "%s: fatal: the Estafeta mail system is already running (pid %d)\n", kTag,
                 pid);
    return 1;
  }
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return 1;
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return 1;
  if (pid == 0) {
    ::close(ready[0]);
    ::setsid();
    int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, STDIN_FILENO);
    ::dup2(null, STDOUT_FILENO);
    // stderr stays until the supervisor reports readiness: configuration errors show.
    int code = run_supervisor({config_dir, false, ready[1], mode});
    std::fflush(nullptr);
    ::_exit(code);
  }
  ::close(ready[1]);
  std::string answer;
  char buffer[512];
  ssize_t n;
  while ((n = ::read(ready[0], buffer, sizeof buffer)) > 0) answer.append(buffer, size_t(n));
  ::close(ready[0]);
  if (answer != "ok\n") {
    std::fprintf(stderr, "%s: fatal: the Estafeta mail system did not start%s%s", kTag,
                 answer.empty() ? "" : ": ", answer.empty() ? "\n" : answer.c_str());
    return 1;
  }
  std::fprintf(stderr, "%s: starting the Estafeta mail system\n", kTag);
  return 0;
}

int command_stop(const std::string& config_dir) {
  pid_t pid = running_pid(config_dir);
  if (pid == 0) {
    std::fprintf(stderr, "%s: fatal: the Estafeta mail system is not running\n", kTag);
    return 1;
  }
  ::kill(pid, SIGTERM);
  for (int i = 0; i < 300 && ::kill(pid, 0) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::fprintf(stderr, "%s: stopping the Estafeta mail system\n", kTag);
  return ::kill(pid, 0) == 0 ? 1 : 0;
}

int command_reload(const std::string& config_dir) {
  pid_t pid = running_pid(config_dir);
  if (pid == 0) {
    std::fprintf(stderr, "%s: fatal: the Estafeta mail system is not running\n", kTag);
    return 1;
  }
  ::kill(pid, SIGHUP);
  std::fprintf(stderr, "%s: refreshing the Estafeta mail system\n", kTag);
  return 0;
}

int command_status(const std::string& config_dir) {
  pid_t pid = running_pid(config_dir);
  if (pid == 0) {
    std::fprintf(stderr, "%s: the Estafeta mail system is not running\n", kTag);
    return 1;
  }
  std::fprintf(stderr, "%s: the Estafeta mail system is running: PID: %d\n", kTag, pid);
  // The supervisor's list of its services ("smtpd 127.0.0.1:2525 pid 1234"), rewritten on
  // every start and exit of a service.
  std::ifstream services(queue_directory(config_dir) + "/" + kServicesFile);
  std::string line;
  while (std::getline(services, line)) std::printf("%s\n", line.c_str());
  return 0;
}

}  // namespace estafeta::daemon
