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
    write_all(format_line(hostname_, program, text));
  }

  void write_lines(const std::vector<Line>& lines) override {
    std::string all;
    for (const Line& l : lines) all += format_line(hostname_, l.program, l.text);
    write_all(all);
  }

 private:
  void write_all(const std::string& bytes) {
    std::lock_guard lock(mutex_);
    // One write per call: O_APPEND keeps the lines of several processes whole.
    const char* p = bytes.data();
    size_t left = bytes.size();
    while (left > 0) {
      ssize_t n = ::write(fd_, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;  // Logging must never take the server down.
      p += n;
      left -= size_t(n);
    }
  }

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

void LineBatch::add(const Logger& logger, std::string text) {
  pending_.push_back(Pending{logger.sink_.get(), &logger.program_, std::move(text)});
}

void LineBatch::add_warning(const Logger& logger, std::string_view text) {
  add(logger, Logger::warning_text(text));
}

void LineBatch::flush() {
  // Consecutive lines for one sink go in one write_lines call.
  size_t i = 0;
  while (i < pending_.size()) {
    std::vector<Line> lines;
    size_t j = i;
    for (; j < pending_.size() && pending_[j].sink == pending_[i].sink; ++j) {
      lines.push_back(Line{*pending_[j].program, pending_[j].text});
    }
    pending_[i].sink->write_lines(lines);
    i = j;
  }
  pending_.clear();
}

}  // namespace estafeta::log
