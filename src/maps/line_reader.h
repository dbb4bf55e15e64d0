// Logical lines of a Postfix table source file, as postmap(1) and every *_table(5) read
// them: blank lines and lines whose first non-blank byte is '#' are skipped; a line starting
// with whitespace continues the previous line (appended as is, leading whitespace included).
// Incremental: feed() any fragments, then finish(); a logical line is released only once the
// next non-continuation line (or EOF) proves it complete. Pure; not thread-safe.
// Diagnostics follow Postfix: "NAME, line N: ..." with N the logical line's first line.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace estafeta::maps {

struct LogicalLine {
  int line = 0;  ///< 1-based number of its first physical line
  std::string text;
  bool operator==(const LogicalLine&) const = default;
};

/// Postfix's ISSPACE (C locale isspace).
constexpr bool is_table_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

std::string_view trim_table_space(std::string_view s);

class LogicalLineReader {
 public:
  /// `source_name` prefixes warnings ("virtual, line 3: ...").
  explicit LogicalLineReader(std::string source_name) : source_name_(std::move(source_name)) {}

  /// Adds bytes; completed logical lines become available through take_lines().
  void feed(std::string_view bytes);
  /// Declares end of input; the last line (even without '\n') is released.
  void finish();

  /// Moves out the logical lines completed so far.
  std::vector<LogicalLine> take_lines();
  /// Moves out warnings produced so far (orphan continuation lines, NUL bytes).
  std::vector<std::string> take_warnings();

 private:
  void physical_line(std::string_view line);
  void flush();

  std::string source_name_;
  std::string partial_;  // bytes of an unterminated physical line
  int physical_ = 0;
  bool have_current_ = false;
  LogicalLine current_;
  std::vector<LogicalLine> lines_;
  std::vector<std::string> warnings_;
};

/// Convenience: all logical lines of a complete text.
struct SplitLines {
  std::vector<LogicalLine> lines;
  std::vector<std::string> warnings;
};
SplitLines split_logical_lines(std::string_view text, const std::string& source_name);

}  // namespace estafeta::maps
