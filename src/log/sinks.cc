// Sinks for the Postfix log line format: stdout, a file (maillog_file), syslog.
#include <fcntl.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <mutex>

#include "log/logger.h"

namespace estafeta::log {
namespace {

// "Nov 26 10:37:49 host program[pid]: text\n", as syslogd and Postfix's maillog_file write it.
std::string format_line(std::string_view hostname, std::string_view program,
                        std::string_view text) {
  char stamp[32];
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  std::strftime(stamp, sizeof stamp, "%b %e %H:%M:%S", &tm);
  return fmt::format("{} {} {}[{}]: {}\n", stamp, hostname, program, ::getpid(), text);
}

class FdSink : public Sink {
 public:
  FdSink(int fd, bool owned, std::string hostname)
      : fd_(fd), owned_(owned), hostname_(std::move(hostname)) {}
  ~FdSink() override {
    if (owned_) ::close(fd_);
  }
  void write(std::string_view program, std::string_view text) override {
    std::string line = format_line(hostname_, program, text);
    std::lock_guard lock(mutex_);
    // One write per line: O_APPEND keeps lines from several processes whole.
    const char* p = line.data();
    size_t left = line.size();
    while (left > 0) {
      ssize_t n = ::write(fd_, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;  // Logging must never take the server down.
      p += n;
      left -= size_t(n);
    }
  }

 private:
  int fd_;
  bool owned_;
  std::string hostname_;
  std::mutex mutex_;
};

class SyslogSink : public Sink {
 public:
  void write(std::string_view program, std::string_view text) override {
    std::lock_guard lock(mutex_);
    std::string ident(program);
    ::openlog(ident.c_str(), LOG_PID | LOG_NDELAY, LOG_MAIL);
    ::syslog(LOG_MAIL | LOG_INFO, "%.*s", int(text.size()), text.data());
    ::closelog();
  }

 private:
  std::mutex mutex_;
};

}  // namespace

std::shared_ptr<Sink> make_stdout_sink(std::string hostname) {
  return std::make_shared<FdSink>(STDOUT_FILENO, false, std::move(hostname));
}

std::shared_ptr<Sink> make_file_sink(const std::string& path, std::string hostname,
                                     std::string* error) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (error) *error = fmt::format("open {}: {}", path, std::strerror(errno));
    return nullptr;
  }
  return std::make_shared<FdSink>(fd, true, std::move(hostname));
}

std::shared_ptr<Sink> make_syslog_sink() { return std::make_shared<SyslogSink>(); }

}  // namespace estafeta::log
