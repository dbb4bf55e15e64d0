// DATA automaton, BDAT content normalizer and Message-ID capture: every smuggling variant
// under every smtpd_forbid_bare_newline mode, dot-unstuffing, bare CR, and the same result
// at every fragment size.
#include "smtp/data_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "smtp/header_scanner.h"

namespace estafeta::smtp {
namespace {

using M = BareNewlineMode;
using S = DataReader::Status;

struct Outcome {
  std::string content;
  DataReader::Status status;
  size_t consumed;  // total input consumed
  bool bare_lf;
};

Outcome run_reader(const std::string& input, M mode, size_t fragment) {
  DataReader reader(mode);
  Outcome o{"", S::NeedMore, 0, false};
  size_t pos = 0;
  while (pos < input.size() && o.status == S::NeedMore) {
    size_t n = std::min(fragment, input.size() - pos);
    std::string_view piece(input.data() + pos, n);
    while (!piece.empty()) {
      DataReader::Step s = reader.feed(piece, o.content);
      o.consumed += s.consumed;
      piece.remove_prefix(s.consumed);
      if (s.status != S::NeedMore) {
        o.status = s.status;
        break;
      }
    }
    pos += n;
  }
  o.bare_lf = reader.saw_bare_lf();
  return o;
}

struct DataCase {
  std::string name;
  std::string input;
  M mode;
  S status;
  std::string content;
  bool bare_lf;
};

TEST(DataReader, ParseMode) {
  EXPECT_EQ(parse_bare_newline_mode("normalize"), M::Normalize);
  EXPECT_EQ(parse_bare_newline_mode("yes"), M::Normalize);
  EXPECT_EQ(parse_bare_newline_mode("note"), M::Note);
  EXPECT_EQ(parse_bare_newline_mode("reject"), M::Reject);
  EXPECT_EQ(parse_bare_newline_mode("no"), M::No);
  EXPECT_EQ(parse_bare_newline_mode("Normalize"), std::nullopt);
  EXPECT_EQ(parse_bare_newline_mode(""), std::nullopt);
}

TEST(DataReader, TableAtEveryFragmentSize) {
  const std::string run_of_crs(1001, '\r');
  const DataCase cases[] = {
      // Standard input: the same in every mode.
      {"empty message", ".\r\n", M::Normalize, S::Done, "", false},
      {"simple", "a\r\nb\r\n.\r\n", M::Normalize, S::Done, "a\r\nb\r\n", false},
      {"dot stuffing", "..a\r\n..\r\n.\r\n", M::Normalize, S::Done, ".a\r\n.\r\n", false},
      {"dot mid line", "a.b\r\n.x\r\n.\r\n", M::Normalize, S::Done, "a.b\r\nx\r\n", false},
      {"incomplete", "a\r\n.\r", M::Normalize, S::NeedMore, "a\r\n", false},
      {"trailing data kept", "a\r\n.\r\nMAIL", M::Normalize, S::Done, "a\r\n", false},
      {"simple no", "a\r\nb\r\n.\r\n", M::No, S::Done, "a\r\nb\r\n", false},
      {"dot stuffing no", "..a\r\n..\r\n.\r\n", M::No, S::Done, ".a\r\n.\r\n", false},
      {"simple reject", "a\r\nb\r\n.\r\n", M::Reject, S::Done, "a\r\nb\r\n", false},

      // normalize: a bare LF is a line end, stored as CRLF; dot-unstuffing after it.
      {"bare lf lines", "a\nb\n\nc\r\n.\r\n", M::Normalize, S::Done, "a\r\nb\r\n\r\nc\r\n",
       true},
      {"bare lf at start", "\nx\r\n.\r\n", M::Normalize, S::Done, "\r\nx\r\n", true},
      {"unstuff after bare lf", "a\n..b\n.c\r\n.\r\n", M::Normalize, S::Done,
       "a\r\n.b\r\nc\r\n", true},
      {"note is normalize", "a\nb\r\n.\r\n", M::Note, S::Done, "a\r\nb\r\n", true},
      // ...and never ends the data: a "." line next to a bare LF is discarded.
      {"lf dot lf", "a\n.\nb\r\n.\r\n", M::Normalize, S::Done, "a\r\nb\r\n", true},
      {"crlf dot lf", "a\r\n.\nb\r\n.\r\n", M::Normalize, S::Done, "a\r\nb\r\n", true},
      {"lf dot crlf", "a\n.\r\nb\r\n.\r\n", M::Normalize, S::Done, "a\r\nb\r\n", true},
      // The second "." follows a bare LF line (the first "."): not an end either (Postfix).
      {"dot lf first", ".\n.\r\n", M::Normalize, S::NeedMore, "", true},
      {"lf dot crlf then end", "a\n.\r\n.\r\n", M::Normalize, S::Done, "a\r\n", true},
      {"never ends on lf", "a\n.\n", M::Normalize, S::NeedMore, "a\r\n", true},
      {"never ends on lf dot crlf", "a\n.\r\n", M::Normalize, S::NeedMore, "a\r\n", true},
      {"dot two crs", "a\r\n.\r\r\nb\r\n.\r\n", M::Normalize, S::Done, "a\r\nb\r\n", false},
      // Bare CR (Postfix): never a line end; CRs before a line end dropped, others a space.
      {"cr dot crlf", "a\r.\r\nb\r\n.\r\n", M::Normalize, S::Done, "a .\r\nb\r\n", false},
      {"crlf dot cr", "a\r\n.\rb\r\n.\r\n", M::Normalize, S::Done, "a\r\n b\r\n", false},
      {"cr dot cr", "a\r.\rb\r\n.\r\n", M::Normalize, S::Done, "a . b\r\n", false},
      {"crs before crlf", "a\r\r\r\nb\r\r\n.\r\n", M::Normalize, S::Done, "a\r\nb\r\n", false},
      {"cr at line start", "\r.x\r\n.\r\n", M::Normalize, S::Done, " .x\r\n", false},
      {"crs then bare lf", "a\r\r\nb\n.\r\n", M::Normalize, S::NeedMore, "a\r\nb\r\n", true},
      {"never ends on cr", "a\r.\r", M::Normalize, S::NeedMore, "a .", false},
      {"long cr run", "a" + run_of_crs + "\nb\r\n.\r\n", M::Normalize, S::Done,
       "a \r\nb\r\n", false},
      {"long cr run after dot", "." + run_of_crs + "\n.\r\n", M::Normalize, S::Done, " \r\n",
       false},

      // reject: read to the real end; nothing stored from the first bare LF on.
      {"reject lf dot lf", "a\n.\nMAIL FROM:<x@y>\r\nb\r\n.\r\n", M::Reject, S::Done, "a",
       true},
      {"reject crlf dot lf", "a\r\n.\nb\r\n.\r\nQUIT", M::Reject, S::Done, "a\r\n", true},
      {"reject bare cr is not refused", "a\rb\r\n.\r\n", M::Reject, S::Done, "a b\r\n", false},

      // no: bare LF and bare CR are content, never an end of data, no unstuffing after them.
      {"lf dot lf passes", "a\n.\nb\r\n.\r\n", M::No, S::Done, "a\n.\nb\r\n", false},
      {"cr dot crlf passes", "a\r.\r\nb\r\n.\r\n", M::No, S::Done, "a\r.\r\nb\r\n", false},
      {"lf dot crlf passes", "a\n.\r\nb\r\n.\r\n", M::No, S::Done, "a\n.\r\nb\r\n", false},
      {"crlf dot lf passes", "a\r\n.\nb\r\n.\r\n", M::No, S::Done, "a\r\n\nb\r\n", false},
      {"crlf dot cr passes", "a\r\n.\rb\r\n.\r\n", M::No, S::Done, "a\r\n\rb\r\n", false},
      {"no unstuff after lf", "a\n..b\r\n.\r\n", M::No, S::Done, "a\n..b\r\n", false},
      {"never ends on lf no", "a\n.\n", M::No, S::NeedMore, "a\n.\n", false},
      {"never ends on cr no", "a\r.\r", M::No, S::NeedMore, "a\r.", false},
  };
  for (const DataCase& c : cases) {
    Outcome whole = run_reader(c.input, c.mode, c.input.size());
    EXPECT_EQ(whole.status, c.status) << c.name;
    EXPECT_EQ(whole.content, c.content) << c.name;
    EXPECT_EQ(whole.bare_lf, c.bare_lf) << c.name;
    for (size_t fragment : {1, 2, 3, 5, 7, 64}) {
      Outcome part = run_reader(c.input, c.mode, fragment);
      EXPECT_EQ(part.status, whole.status) << c.name << " fragment " << fragment;
      EXPECT_EQ(part.content, whole.content) << c.name << " fragment " << fragment;
      EXPECT_EQ(part.consumed, whole.consumed) << c.name << " fragment " << fragment;
      EXPECT_EQ(part.bare_lf, whole.bare_lf) << c.name << " fragment " << fragment;
    }
  }
}

TEST(DataReader, StopsRightAfterTerminator) {
  for (M mode : {M::Normalize, M::Reject, M::No}) {
    Outcome o = run_reader("x\r\n.\r\nQUIT\r\n", mode, 100);
    EXPECT_EQ(o.consumed, 6u);
    EXPECT_EQ(o.status, S::Done);
  }
  // The normalized reader never ends at a lone "." line next to a bare LF, whatever follows.
  Outcome o = run_reader("x\n.\nQUIT\r\n", M::Normalize, 100);
  EXPECT_EQ(o.status, S::NeedMore);
  EXPECT_EQ(o.content, "x\r\nQUIT\r\n");
}

TEST(BdatNormalizer, AcrossChunks) {
  struct Case {
    std::vector<std::string> chunks;
    M mode;
    std::string content;
    bool bare_lf;
  };
  const Case cases[] = {
      {{"a\r\nb\r\n"}, M::Normalize, "a\r\nb\r\n", false},
      {{"a\r", "\nb"}, M::Normalize, "a\r\nb", false},
      {{"a\r", "b"}, M::Normalize, "a b", false},
      {{"a\r"}, M::Normalize, "a ", false},
      {{"a\nb"}, M::Normalize, "a\r\nb", true},
      {{"a\r\n", "\n"}, M::Normalize, "a\r\n\r\n", true},
      {{"", "\r\n\r\n"}, M::Normalize, "\r\n\r\n", false},
      {{"x\r\r\n"}, M::Normalize, "x\r\n", false},
      {{"\r\n.\n", "."}, M::Normalize, "\r\n.\r\n.", true},  // no end marker in BDAT
      {{"a\nb", "c\r\n"}, M::Reject, "a", true},
      {{"a\r", "\nb\rc"}, M::Reject, "a\r\nb c", false},
      {{"a\nb\r", "c"}, M::No, "a\nb\rc", false},
  };
  for (const Case& c : cases) {
    // Every split of the concatenated chunks that keeps the chunk boundaries gives the same.
    for (size_t fragment : {1, 2, 3, 1000}) {
      BdatNormalizer n(c.mode);
      std::string out;
      for (const std::string& chunk : c.chunks) {
        for (size_t pos = 0; pos < chunk.size(); pos += fragment) {
          n.feed(std::string_view(chunk).substr(pos, fragment), out);
        }
      }
      n.finish(out);
      EXPECT_EQ(out, c.content) << c.chunks[0] << " fragment " << fragment;
      EXPECT_EQ(n.saw_bare_lf(), c.bare_lf) << c.chunks[0];
    }
  }
}

TEST(HeaderScanner, MessageIdTable) {
  struct Case {
    std::string content;
    std::string id;
  };
  const Case cases[] = {
      {"Message-ID: <a@b>\r\n\r\nbody\r\n", "<a@b>"},
      {"Subject: x\r\nmessage-id:<a@b>\r\n\r\n", "<a@b>"},
      {"MESSAGE-ID:\r\n <folded@b>\r\nSubject: y\r\n\r\n", "<folded@b>"},
      {"Subject: x\r\n\r\nMessage-ID: <in-body@b>\r\n", ""},
      {"Message-ID: <first@b>\r\nMessage-ID: <second@b>\r\n\r\n", "<first@b>"},
      {"not a header line\r\nMessage-ID: <a@b>\r\n", ""},
      {"X-Message-ID: <x@b>\r\n\r\n", ""},
      {"Message-ID: <unterminated@b>", "<unterminated@b>"},
      {"Message-ID: <lf@b>\nSubject: x\n\n", "<lf@b>"},
  };
  for (const Case& c : cases) {
    for (size_t fragment : {1, 2, 3, 5, 7, 64, 1000}) {
      HeaderScanner h;
      for (size_t pos = 0; pos < c.content.size(); pos += fragment) {
        h.feed(std::string_view(c.content).substr(pos, fragment));
      }
      EXPECT_EQ(h.message_id(), c.id) << c.content << " fragment " << fragment;
    }
  }
}

}  // namespace
}  // namespace estafeta::smtp
