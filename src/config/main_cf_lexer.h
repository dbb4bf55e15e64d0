// main.cf lexer: splits text into Postfix "logical lines" (postconf(5), readlline(3)).
// Empty, whitespace-only and comment lines ('#' as first non-blank) are skipped and do not
// end a logical line; a line starting with whitespace continues the previous logical line
// (joined with one space); CRLF and LF line ends are both accepted. A '#' elsewhere is text.
// Pure; never fails: a continuation line with nothing to continue becomes a line of its own
// plus a warning, as Postfix does.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace estafeta::config {

struct LogicalLine {
  int line = 0;      // 1-based physical line where the logical line starts
  std::string text;  // without leading/trailing whitespace; continuations joined by ' '
};

struct LexWarning {
  int line = 0;
  std::string message;
};

struct LexedText {
  std::vector<LogicalLine> lines;
  std::vector<LexWarning> warnings;
};

/// Splits `text` into logical lines. Also used for master.cf, which has the same syntax.
LexedText split_logical_lines(std::string_view text);

}  // namespace estafeta::config
