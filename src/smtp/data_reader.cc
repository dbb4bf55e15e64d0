// DATA automaton and BDAT content normalizer (see data_reader.h).
//
// Mode No (only a real CRLF returns to LineStart; bare LF and bare CR are content):
//   LineStart  '.'->Dot  CR->Cr  LF->emit,Mid  x->emit,Mid
//   Dot        CR->DotCr  LF->emit LF (dot dropped),Mid  x->emit x (dot dropped: RFC 5321
//              §4.5.2),Mid
//   DotCr      LF->Done  x->emit CR (dot dropped), re-read x in Mid
//   Mid        CR->Cr  LF->emit  x->emit
//   Cr         LF->emit CRLF,LineStart  x->emit CR, re-read x in Mid
//
// Normalizing modes (a LF ends a line whatever precedes it; pending_cr_ counts the CRs since
// the last other byte, dropped if a LF follows, else emitted as spaces):
//   LineStart  '.'->Dot  CR->pending,Mid  LF->end bare line  x->emit,Mid
//   Dot        CR->pending  LF->Done if exactly one CR and the previous line ended in a real
//              CRLF, else discard the line  x->spaces for the pending CRs, emit x (dot
//              dropped),Mid
//   Mid        CR->pending  LF->end line (bare if no CR pending)  x->spaces, emit x
// A run of more than kMaxPendingCr CRs emits its oldest CRs as spaces at once, so memory
// stays bounded whatever the client sends; the result still depends only on the bytes.
#include "smtp/data_reader.h"

namespace estafeta::smtp {
namespace {

constexpr uint32_t kMaxPendingCr = 1000;

}  // namespace

std::optional<BareNewlineMode> parse_bare_newline_mode(std::string_view value) {
  if (value == "normalize" || value == "yes") return BareNewlineMode::Normalize;
  if (value == "note") return BareNewlineMode::Note;
  if (value == "reject") return BareNewlineMode::Reject;
  if (value == "no") return BareNewlineMode::No;
  return std::nullopt;
}

DataReader::Step DataReader::feed(std::string_view input, std::string& out) {
  return mode_ == BareNewlineMode::No ? feed_raw(input, out) : feed_normalized(input, out);
}

DataReader::Step DataReader::feed_raw(std::string_view input, std::string& out) {
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
        } else {
          out += c;
          state_ = State::Mid;
        }
        break;
      case State::Dot:
        ++i;
        if (c == '\r') {
          state_ = State::DotCr;
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
        out += '\r';
        state_ = State::Mid;  // re-read c
        break;
    }
  }
  return {n, Status::NeedMore};
}

void DataReader::put_pending_crs(std::string& out) {
  if (pending_cr_ > 0 && !discard_) out.append(pending_cr_, ' ');
  pending_cr_ = 0;
}

void DataReader::end_line(bool bare, std::string& out) {
  pending_cr_ = 0;
  if (bare) {
    saw_bare_lf_ = true;
    if (mode_ == BareNewlineMode::Reject) discard_ = true;
  }
  if (!discard_) out += "\r\n";
  prev_bare_ = bare;
  state_ = State::LineStart;
}

DataReader::Step DataReader::feed_normalized(std::string_view input, std::string& out) {
  size_t i = 0;
  const size_t n = input.size();
  while (i < n) {
    const char c = input[i];
    switch (state_) {
      case State::LineStart:
        ++i;
        if (c == '.') {
          state_ = State::Dot;
        } else if (c == '\r') {
          pending_cr_ = 1;  // a line that starts with CR: a later '.' is not at line start
          state_ = State::Mid;
        } else if (c == '\n') {
          end_line(true, out);
        } else {
          if (!discard_) out += c;
          state_ = State::Mid;
        }
        break;
      case State::Dot:
        ++i;
        if (c == '\r' && pending_cr_ < kMaxPendingCr) {
          ++pending_cr_;
        } else if (c == '\n') {
          if (pending_cr_ == 1 && !prev_bare_) {
            state_ = State::LineStart;
            pending_cr_ = 0;
            return {i, Status::Done};
          }
          // A non-standard end of data ("\n.\n", "\r\n.\n", "\n.\r\n", ".\r\r\n"): neither
          // an end nor content. Postfix discards it too, so that no later hop (a proxy
          // filter there, our own relay here) can read it as the end of the message.
          const bool bare = pending_cr_ == 0;
          pending_cr_ = 0;
          if (bare) {
            saw_bare_lf_ = true;
            if (mode_ == BareNewlineMode::Reject) discard_ = true;
          }
          prev_bare_ = bare;
          state_ = State::LineStart;
        } else if (c == '\r') {
          // Too long a run of CRs for an end of data: the dot was stuffing, and the oldest
          // pending CR is stray (the run stays at the cap).
          if (!discard_) out += ' ';
          state_ = State::Mid;
        } else {
          // The dot was stuffing (RFC 5321 §4.5.2); pending CRs are stray.
          put_pending_crs(out);
          if (!discard_) out += c;
          state_ = State::Mid;
        }
        break;
      case State::Mid: {
        if (c == '\r') {
          ++i;
          if (pending_cr_ < kMaxPendingCr) {
            ++pending_cr_;
          } else if (!discard_) {
            out += ' ';
          }
          break;
        }
        if (c == '\n') {
          ++i;
          end_line(pending_cr_ == 0, out);
          break;
        }
        put_pending_crs(out);
        // Fast path: copy up to the next CR or LF in one go.
        size_t j = i;
        while (j < n && input[j] != '\r' && input[j] != '\n') ++j;
        if (!discard_) out.append(input.data() + i, j - i);
        i = j;
        break;
      }
      case State::DotCr:
      case State::Cr:
        state_ = State::Mid;  // not used by the normalizing modes
        break;
    }
  }
  return {n, Status::NeedMore};
}

void BdatNormalizer::feed(std::string_view chunk, std::string& out) {
  if (mode_ == BareNewlineMode::No) {
    out.append(chunk);
    return;
  }
  size_t i = 0;
  const size_t n = chunk.size();
  while (i < n) {
    const char c = chunk[i];
    if (c == '\r') {
      ++i;
      if (pending_cr_ < kMaxPendingCr) {
        ++pending_cr_;
      } else if (!discard_) {
        out += ' ';
      }
      continue;
    }
    if (c == '\n') {
      ++i;
      if (pending_cr_ == 0) {
        saw_bare_lf_ = true;
        if (mode_ == BareNewlineMode::Reject) discard_ = true;
      }
      pending_cr_ = 0;
      if (!discard_) out += "\r\n";
      continue;
    }
    if (pending_cr_ > 0 && !discard_) out.append(pending_cr_, ' ');
    pending_cr_ = 0;
    size_t j = i;
    while (j < n && chunk[j] != '\r' && chunk[j] != '\n') ++j;
    if (!discard_) out.append(chunk.data() + i, j - i);
    i = j;
  }
}

void BdatNormalizer::finish(std::string& out) {
  if (pending_cr_ > 0 && !discard_) out.append(pending_cr_, ' ');
  pending_cr_ = 0;
}

}  // namespace estafeta::smtp
