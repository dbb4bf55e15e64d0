// The DATA byte automaton (RFC 5321 §4.1.1.4, §4.5.2) and the BDAT bare-newline scanner.
// DataReader consumes raw client bytes after "354", removes dot-stuffing and stops exactly
// after CRLF "." CRLF. Only that sequence ends the data: a bare LF or bare CR never starts a
// line, so "\n.\n", "\r.\r\n", "\n.\r\n", "\r\n.\n" ... can neither end nor split a message.
// With forbid_bare_newline the first bare LF/CR stops the reader with BareLf/BareCr
// (smtpd_forbid_bare_newline); without it they pass through as content.
// Incremental: any split of the input gives the same output. Pure; no allocation except
// appending to the caller's output buffer.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace estafeta::smtp {

enum class BareNewline { None, Lf, Cr };

class DataReader {
 public:
  enum class Status { NeedMore, Done, BareLf, BareCr };
  struct Step {
    size_t consumed;  // bytes of input used; on Done, up to and including the final LF
    Status status;
  };

  explicit DataReader(bool forbid_bare_newline) : forbid_(forbid_bare_newline) {}

  /// Consumes `input`, appending message content (unstuffed, as received otherwise) to `out`.
  /// After Done/BareLf/BareCr the reader must not be fed again.
  Step feed(std::string_view input, std::string& out);

 private:
  enum class State { LineStart, Dot, DotCr, Mid, Cr };
  bool forbid_;
  State state_ = State::LineStart;
};

/// Finds the first bare LF / bare CR in a stream of chunks (BDAT content), across chunk
/// boundaries: a CR ending one chunk followed by LF starting the next is a CRLF.
class BareNewlineScanner {
 public:
  void feed(std::string_view chunk);
  /// Call at the end of the stream: a CR still pending is bare.
  void finish();
  BareNewline found() const { return found_; }

 private:
  bool prev_cr_ = false;
  BareNewline found_ = BareNewline::None;
};

}  // namespace estafeta::smtp
