// DATA automaton, BDAT bare-newline scanner and Message-ID capture: every smuggling variant,
// dot-unstuffing, and the same result at every fragment size.
#include "smtp/data_reader.h"

#include <gtest/gtest.h>

#include <string>

#include "smtp/header_scanner.h"

namespace estafeta::smtp {
namespace {

struct Outcome {
  std::string content;
  DataReader::Status status;
  size_t consumed;  // total input consumed
};

Outcome run_reader(const std::string& input, bool forbid, size_t fragment) {
  DataReader reader(forbid);
  Outcome o{"", DataReader::Status::NeedMore, 0};
  size_t pos = 0;
  while (pos < input.size()) {
    size_t n = std::min(fragment, input.size() - pos);
    std::string_view piece(input.data() + pos, n);
    while (!piece.empty()) {
      DataReader::Step s = reader.feed(piece, o.content);
      o.consumed += s.consumed;
      piece.remove_prefix(s.consumed);
      if (s.status != DataReader::Status::NeedMore) {
        o.status = s.status;
        return o;
      }
    }
    pos += n;
  }
  return o;
}

struct DataCase {
  std::string name;
  std::string input;
  bool forbid;
  DataReader::Status status;
  std::string content;  // checked only when status is Done or NeedMore
};

using S = DataReader::Status;

TEST(DataReader, TableAtEveryFragmentSize) {
  const DataCase cases[] = {
      {"empty message", ".\r\n", true, S::Done, ""},
      {"simple", "a\r\nb\r\n.\r\n", true, S::Done, "a\r\nb\r\n"},
      {"dot stuffing", "..a\r\n..\r\n.\r\n", true, S::Done, ".a\r\n.\r\n"},
      {"dot mid line", "a.b\r\n.x\r\n.\r\n", true, S::Done, "a.b\r\nx\r\n"},
      {"incomplete", "a\r\n.\r", true, S::NeedMore, "a\r\n"},
      {"trailing data kept", "a\r\n.\r\nMAIL", true, S::Done, "a\r\n"},
      // Smuggling variants, smtpd_forbid_bare_newline=yes: rejected at the first bare byte.
      {"lf dot lf", "a\n.\nMAIL FROM:<x@y>\r\n", true, S::BareLf, ""},
      {"cr dot crlf", "a\r.\r\nMAIL FROM:<x@y>\r\n", true, S::BareCr, ""},
      {"lf dot crlf", "a\n.\r\nMAIL FROM:<x@y>\r\n", true, S::BareLf, ""},
      {"crlf dot lf", "a\r\n.\nMAIL FROM:<x@y>\r\n", true, S::BareLf, ""},
      {"crlf dot cr", "a\r\n.\rMAIL FROM:<x@y>\r\n", true, S::BareCr, ""},
      {"cr dot cr", "a\r.\rMAIL\r\n", true, S::BareCr, ""},
      {"bare lf at start", "\n.\r\n", true, S::BareLf, ""},
      {"bare cr at start", "\r.\r\n", true, S::BareCr, ""},
      // smtpd_forbid_bare_newline=no: content, never an end of data.
      {"lf dot lf passes", "a\n.\nb\r\n.\r\n", false, S::Done, "a\n.\nb\r\n"},
      {"cr dot crlf passes", "a\r.\r\nb\r\n.\r\n", false, S::Done, "a\r.\r\nb\r\n"},
      {"lf dot crlf passes", "a\n.\r\nb\r\n.\r\n", false, S::Done, "a\n.\r\nb\r\n"},
      {"crlf dot lf passes", "a\r\n.\nb\r\n.\r\n", false, S::Done, "a\r\n\nb\r\n"},
      {"crlf dot cr passes", "a\r\n.\rb\r\n.\r\n", false, S::Done, "a\r\n\rb\r\n"},
      {"never ends on lf", "a\n.\n", false, S::NeedMore, "a\n.\n"},
      {"never ends on cr", "a\r.\r", false, S::NeedMore, "a\r."},
  };
  for (const DataCase& c : cases) {
    Outcome whole = run_reader(c.input, c.forbid, c.input.size());
    EXPECT_EQ(whole.status, c.status) << c.name;
    if (c.status == S::Done || c.status == S::NeedMore) {
      EXPECT_EQ(whole.content, c.content) << c.name;
    }
    for (size_t fragment : {1, 2, 3, 5, 7, 64}) {
      Outcome part = run_reader(c.input, c.forbid, fragment);
      EXPECT_EQ(part.status, whole.status) << c.name << " fragment " << fragment;
      EXPECT_EQ(part.content, whole.content) << c.name << " fragment " << fragment;
      EXPECT_EQ(part.consumed, whole.consumed) << c.name << " fragment " << fragment;
    }
  }
}

TEST(DataReader, StopsRightAfterTerminator) {
  Outcome o = run_reader("x\r\n.\r\nQUIT\r\n", true, 100);
  EXPECT_EQ(o.consumed, 6u);
}

TEST(BareNewlineScanner, AcrossChunks) {
  struct Case {
    std::vector<std::string> chunks;
    BareNewline found;
  };
  const Case cases[] = {
      {{"a\r\nb\r\n"}, BareNewline::None},
      {{"a\r", "\nb"}, BareNewline::None},
      {{"a\r", "b"}, BareNewline::Cr},
      {{"a\r"}, BareNewline::Cr},
      {{"a\nb"}, BareNewline::Lf},
      {{"a\r\n", "\n"}, BareNewline::Lf},
      {{"", "\r\n\r\n"}, BareNewline::None},
      {{"x\r\r\n"}, BareNewline::Cr},
  };
  for (const Case& c : cases) {
    BareNewlineScanner s;
    for (const std::string& chunk : c.chunks) s.feed(chunk);
    s.finish();
    EXPECT_EQ(s.found(), c.found) << c.chunks[0];
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
