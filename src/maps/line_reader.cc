// Postfix-compatible logical line reader; see line_reader.h.
#include "maps/line_reader.h"

#include <utility>

namespace estafeta::maps {

std::string_view trim_table_space(std::string_view s) {
  while (!s.empty() && is_table_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_table_space(s.back())) s.remove_suffix(1);
  return s;
}

void LogicalLineReader::feed(std::string_view bytes) {
  while (!bytes.empty()) {
    size_t nl = bytes.find('\n');
    if (nl == std::string_view::npos) {
      partial_.append(bytes);
      return;
    }
    if (partial_.empty()) {
      physical_line(bytes.substr(0, nl));
    } else {
      partial_.append(bytes.substr(0, nl));
      std::string line = std::move(partial_);
      partial_.clear();
      physical_line(line);
    }
    bytes.remove_prefix(nl + 1);
  }
}

void LogicalLineReader::finish() {
  if (!partial_.empty()) {
    std::string line = std::move(partial_);
    partial_.clear();
    physical_line(line);
  }
  flush();
}

void LogicalLineReader::physical_line(std::string_view line) {
  ++physical_;
  size_t first = 0;
  while (first < line.size() && is_table_space(line[first])) ++first;
  if (first == line.size() || line[first] == '#') return;  // blank or comment
  if (first == 0) {
    flush();
    have_current_ = true;
    current_.line = physical_;
    current_.text.assign(line);
    return;
  }
  if (!have_current_) {
    // Continuation text without a preceding line: Postfix warns and drops the whole
    // logical line it starts, continuations included.
    have_current_ = true;
    current_.line = physical_;
    current_.text.assign(line);
    return;
  }
  current_.text.append(line);
}

void LogicalLineReader::flush() {
  if (!have_current_) return;
  have_current_ = false;
  LogicalLine done = std::move(current_);
  current_ = LogicalLine{};
  size_t nul = done.text.find('\0');
  if (nul != std::string::npos) {
    warnings_.push_back(source_name_ + ", line " + std::to_string(done.line) +
                        ": text after null byte may be ignored");
    done.text.resize(nul);
  }
  if (!done.text.empty() && is_table_space(done.text.front())) {
    warnings_.push_back(source_name_ + ", line " + std::to_string(done.line) +
                        ": logical line must not start with whitespace: \"" +
                        done.text.substr(0, 30) + "\"");
    return;
  }
  if (done.text.empty()) return;
  lines_.push_back(std::move(done));
}

std::vector<LogicalLine> LogicalLineReader::take_lines() { return std::exchange(lines_, {}); }

std::vector<std::string> LogicalLineReader::take_warnings() { return std::exchange(warnings_, {}); }

SplitLines split_logical_lines(std::string_view text, const std::string& source_name) {
  LogicalLineReader reader(source_name);
  reader.feed(text);
  reader.finish();
  return SplitLines{reader.take_lines(), reader.take_warnings()};
}

}  // namespace estafeta::maps
