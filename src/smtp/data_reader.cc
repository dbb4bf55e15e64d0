// DATA automaton and BDAT bare-newline scanner (see data_reader.h).
//
// States of DataReader (only a real CRLF returns to LineStart):
//   LineStart  '.'->Dot  CR->Cr  LF->bare  x->emit,Mid
//   Dot        CR->DotCr  LF->bare(dot dropped)  x->emit x (dot dropped: RFC 5321 §4.5.2),Mid
//   DotCr      LF->Done  x->bare CR (dot dropped), re-read x in Mid
//   Mid        CR->Cr  LF->bare  x->emit
//   Cr         LF->emit CRLF,LineStart  x->bare CR, re-read x in Mid
#include "smtp/data_reader.h"

#include <cstring>

namespace estafeta::smtp {

DataReader::Step DataReader::feed(std::string_view input, std::string& out) {
  size_t i = 0;
  const size_t n = input.size();
  while (i < n) {
    char c = input[i];
    switch (state_) {
      case State::Mid: {
        // Fast path: copy up to the next CR or LF in one go.
        size_t j = i;
        while (j < n && input[j] != '\r' && input[j] != '\n') ++j;
        out.append(input.data() + i, j - i);
        i = j;
        if (i == n) break;
        if (input[i] == '\r') {
          state_ = State::Cr;
        } else {
          if (forbid_) return {i + 1, Status::BareLf};
          out += '\n';
        }
        ++i;
        break;
      }
      case State::LineStart:
        ++i;
        if (c == '.') {
          state_ = State::Dot;
        } else if (c == '\r') {
          state_ = State::Cr;
        } else if (c == '\n') {
          if (forbid_) return {i, Status::BareLf};
          out += '\n';
          state_ = State::Mid;
        } else {
          out += c;
          state_ = State::Mid;
        }
        break;
      case State::Dot:
        ++i;
        if (c == '\r') {
          state_ = State::DotCr;
        } else if (c == '\n') {
          if (forbid_) return {i, Status::BareLf};
          out += '\n';
          state_ = State::Mid;
        } else {
          out += c;
          state_ = State::Mid;
        }
        break;
      case State::DotCr:
        if (c == '\n') {
          state_ = State::LineStart;
          return {i + 1, Status::Done};
        }
        if (forbid_) return {i, Status::BareCr};
        out += '\r';
        state_ = State::Mid;  // re-read c
        break;
      case State::Cr:
        if (c == '\n') {
          out += "\r\n";
          state_ = State::LineStart;
          ++i;
          break;
        }
        if (forbid_) return {i, Status::BareCr};
        out += '\r';
        state_ = State::Mid;  // re-read c
        break;
    }
  }
  return {n, Status::NeedMore};
}

void BareNewlineScanner::feed(std::string_view chunk) {
  if (found_ != BareNewline::None || chunk.empty()) return;
  size_t i = 0;
  if (prev_cr_) {
    if (chunk[0] != '\n') {
      found_ = BareNewline::Cr;
      return;
    }
    i = 1;
  }
  prev_cr_ = false;
  for (; i < chunk.size(); ++i) {
    const void* hit = std::memchr(chunk.data() + i, '\r', chunk.size() - i);
    const void* lf = std::memchr(chunk.data() + i, '\n', chunk.size() - i);
    if (hit == nullptr && lf == nullptr) return;
    size_t cr_pos = hit ? size_t(static_cast<const char*>(hit) - chunk.data()) : chunk.size();
    size_t lf_pos = lf ? size_t(static_cast<const char*>(lf) - chunk.data()) : chunk.size();
    if (lf_pos < cr_pos) {
      found_ = BareNewline::Lf;
      return;
    }
    // CR at cr_pos: must be followed by LF.
    if (cr_pos + 1 == chunk.size()) {
      prev_cr_ = true;
      return;
    }
    if (chunk[cr_pos + 1] != '\n') {
      found_ = BareNewline::Cr;
      return;
    }
    i = cr_pos + 1;  // the loop's ++i steps past the LF
  }
}

void BareNewlineScanner::finish() {
  if (found_ == BareNewline::None && prev_cr_) found_ = BareNewline::Cr;
  prev_cr_ = false;
}

}  // namespace estafeta::smtp
