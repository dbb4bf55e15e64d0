// Logging in Postfix's line format, so pflogsumm and existing tooling parse our logs:
//   "Nov 26 10:37:49 mx estafeta/smtpd[4242]: 3F2A1B: client=localhost[127.0.0.1]"
// A Logger knows the program name ("estafeta/smtpd") and writes whole lines to a Sink.
// Sinks are thread-safe: one write() per line.
#pragma once

#include <fmt/format.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace estafeta::log {

/// One line of a batch: the program name and the message text (see Sink::write).
struct Line {
  std::string_view program;
  std::string_view text;
};

/// Where finished lines go. Implementations add the timestamp/host prefix they need.
class Sink {
 public:
  virtual ~Sink() = default;
  /// `program` is e.g. "estafeta/smtpd"; `text` is the message without prefix or newline.
  virtual void write(std::string_view program, std::string_view text) = 0;
  /// Several lines at once, in order (a file sink writes them with one system call).
  virtual void write_lines(const std::vector<Line>& lines) {
    for (const Line& l : lines) write(l.program, l.text);
  }
};

/// Lines "Mon DD HH:MM:SS host program[pid]: text" to standard output.
std::shared_ptr<Sink> make_stdout_sink(std::string hostname);
/// The same lines appended to a file (Postfix's maillog_file). Null if it cannot be opened;
/// `error` then says why.
std::shared_ptr<Sink> make_file_sink(const std::string& path, std::string hostname,
                                     std::string* error);
/// syslog(3) with facility LOG_MAIL; syslogd adds the prefix.
std::shared_ptr<Sink> make_syslog_sink();
/// Keeps lines in memory; for tests.
class MemorySink;

class Logger {
 public:
  Logger(std::shared_ptr<Sink> sink, std::string program)
      : sink_(std::move(sink)), program_(std::move(program)) {}

  /// A logger for another program name on the same sink ("estafeta/local").
  Logger with_program(std::string program) const { return Logger(sink_, std::move(program)); }

  void info(std::string_view text) const { sink_->write(program_, text); }
  void warning(std::string_view text) const { info(warning_text(text)); }
  void error(std::string_view text) const { info(fmt::format("error: {}", text)); }
  void fatal(std::string_view text) const { info(fmt::format("fatal: {}", text)); }

  template <class... Args>
  void info(fmt::format_string<Args...> f, Args&&... args) const {
    info(std::string_view(fmt::format(f, std::forward<Args>(args)...)));
  }
  template <class... Args>
  void warning(fmt::format_string<Args...> f, Args&&... args) const {
    warning(std::string_view(fmt::format(f, std::forward<Args>(args)...)));
  }

  const std::string& program() const { return program_; }
  static std::string warning_text(std::string_view text) {
    return fmt::format("warning: {}", text);
  }

 private:
  friend class LineBatch;
  std::shared_ptr<Sink> sink_;
  std::string program_;
};

/// Lines collected from one or more Loggers and written together by flush() (or the
/// destructor): one system call for a batch instead of one per line, where the lines of
/// a unit of work are known at its end. Lines keep their order; not thread-safe.
class LineBatch {
 public:
  LineBatch() = default;
  LineBatch(const LineBatch&) = delete;
  LineBatch& operator=(const LineBatch&) = delete;
  ~LineBatch() { flush(); }

  void add(const Logger& logger, std::string text);
  /// As Logger::warning: the line starts with "warning: ".
  void add_warning(const Logger& logger, std::string_view text);
  void flush();

 private:
  struct Pending {
    Sink* sink;                  // the Logger's; Loggers outlive the batch
    const std::string* program;  // likewise
    std::string text;
  };
  std::vector<Pending> pending_;
};

}  // namespace estafeta::log
