// Turns the physical lines of a message into what header_checks and body_checks look at:
// logical headers (one header field with its continuation lines) and body lines. This is the
// one place that unfolds headers; the checker's callers and `estafeta map -h/-b` both use it.
//
// A logical header keeps its folding: the physical lines are joined with "\n" and each
// continuation line keeps its leading whitespace ("X-A: a\n\tb"), which is what Postfix's
// header_checks and `postmap -h` look up. Whitespace between a header's name and its colon
// is removed ("Subject : x" becomes "Subject: x"), as Postfix does. The header section ends
// at the first line that is neither a header nor a continuation line; the body then starts
// with an empty line: the empty separator line itself, or one put in front of the first body
// line when the message has no separator (as postmap -b shows). Lines are split by the
// caller and passed without their "\n"; any "\r" stays part of the line.
// Pure; thread-compatible. Memory: one pending logical header, at most header_size_limit.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace estafeta::checks {

/// One piece of a message, in input order.
struct MessagePiece {
  enum class Kind { Header, BodyLine };
  Kind kind;
  std::string text;
  bool operator==(const MessagePiece&) const = default;
};

/// True when `line` starts a header field: a name of printable US-ASCII other than ':',
/// then optional spaces or tabs, then ':'.
bool is_header_start(std::string_view line);

class MessageLineSplitter {
 public:
  /// Postfix's header_size_limit default: a longer logical header is cut to this size.
  static constexpr size_t kDefaultHeaderSizeLimit = 102400;

  explicit MessageLineSplitter(size_t header_size_limit = kDefaultHeaderSizeLimit)
      : header_size_limit_(header_size_limit) {}

  /// Feeds one physical line (without its "\n"). Returns the pieces it completes (a header
  /// is complete only when the next line is not its continuation).
  std::vector<MessagePiece> push_line(std::string_view line);
  /// The same, appending the pieces to `out` (a caller that keeps `out` between lines
  /// allocates no vector per line).
  void push_line(std::string_view line, std::vector<MessagePiece>& out);
  /// End of input: the pending header, if any.
  std::vector<MessagePiece> finish();
  /// True once the header section has ended.
  bool in_body() const { return in_body_; }

 private:
  void flush(std::vector<MessagePiece>& out);

  void append(std::string_view text);

  size_t header_size_limit_;
  bool in_body_ = false;
  bool pending_ = false;
  std::string header_;
};

/// Splits a whole message at "\n" and runs it through a MessageLineSplitter. A last line
/// without "\n" counts as a line.
std::vector<MessagePiece> split_message(std::string_view message);

}  // namespace estafeta::checks
