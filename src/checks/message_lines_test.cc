// Tests of the logical-header splitter, on the cases `postmap -h -b -q -` was seen to handle
// (Postfix 3.7.11).
#include "checks/message_lines.h"

#include <gtest/gtest.h>

#include <ostream>

namespace estafeta::checks {
namespace {}  // namespace

// Readable failures.
void PrintTo(const MessagePiece& p, std::ostream* os) {
  *os << (p.kind == MessagePiece::Kind::Header ? "H" : "B") << "(\"" << p.text << "\")";
}

namespace {

MessagePiece H(std::string text) { return {MessagePiece::Kind::Header, std::move(text)}; }
MessagePiece B(std::string text) { return {MessagePiece::Kind::BodyLine, std::move(text)}; }

struct Case {
  std::string message;
  std::vector<MessagePiece> pieces;
};

TEST(MessageLines, LikePostmap) {
  const Case cases[] = {
      {"Subject: hello\nX-Multi: a\n\tb\n  c\nX-No: c\n\nbody line\n\n  indented\nlast",
       {H("Subject: hello"), H("X-Multi: a\n\tb\n  c"), H("X-No: c"), B(""), B("body line"), B(""),
        B("  indented"), B("last")}},
      // No separator: an empty body line is put before the first body line.
      {"Subject: hello\nX-Multi: a\nnot header\nfoo: bar\n\nb\n",
       {H("Subject: hello"), H("X-Multi: a"), B(""), B("not header"), B("foo: bar"), B(""),
        B("b")}},
      {"Subject: hello\n", {H("Subject: hello")}},
      {"", {}},
      {"\n", {B("")}},
      {"From foo  Mon\nSubject: x\n", {B(""), B("From foo  Mon"), B("Subject: x")}},
      // Whitespace before the colon goes; after it stays.
      {"X-Foo \t : bar\nY:z\nX-Foo:  bar\n", {H("X-Foo: bar"), H("Y:z"), H("X-Foo:  bar")}},
      {"X-Foo :\n\tbar\n", {H("X-Foo:\n\tbar")}},
      {"X Y: z\n", {B(""), B("X Y: z")}},
      {" cont\nA: b\n", {B(""), B(" cont"), B("A: b")}},
      {":nolabel\n", {B(""), B(":nolabel")}},
      {"\xc3\x84: b\n", {B(""), B("\xc3\x84: b")}},
      {"X-Foo\x7f: b\n", {B(""), B("X-Foo\x7f: b")}},
      {"X-Foo \n", {B(""), B("X-Foo ")}},
      {"A: b\n\t\nC: d\n", {H("A: b\n\t"), H("C: d")}},
      {"A: b\n \n\nbody\n\t\n", {H("A: b\n "), B(""), B("body"), B("\t")}},
      // CR stays part of the line, as with postmap; so "\r" is no separator, and an empty
      // line comes first.
      {"Subject: hi\r\n\r\nbody\r\n", {H("Subject: hi\r"), B(""), B("\r"), B("body\r")}},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(split_message(c.message), c.pieces) << c.message;
  }
}

TEST(MessageLines, HeaderCompleteOnlyAtTheNextLine) {
  MessageLineSplitter s;
  EXPECT_TRUE(s.push_line("Subject: a").empty());
  EXPECT_TRUE(s.push_line(" b").empty());
  EXPECT_EQ(s.push_line("To: x"), std::vector<MessagePiece>{H("Subject: a\n b")});
  EXPECT_FALSE(s.in_body());
  EXPECT_EQ(s.push_line(""), (std::vector<MessagePiece>{H("To: x"), B("")}));
  EXPECT_TRUE(s.in_body());
  EXPECT_EQ(s.push_line("Subject: body"), std::vector<MessagePiece>{B("Subject: body")});
  EXPECT_TRUE(s.finish().empty());
}

TEST(MessageLines, LongHeaderIsTruncated) {
  MessageLineSplitter s(10);
  EXPECT_TRUE(s.push_line("Subject: 0123456789").empty());
  EXPECT_TRUE(s.push_line(" more").empty());
  EXPECT_EQ(s.finish(), std::vector<MessagePiece>{H("Subject: 0")});
}

TEST(MessageLines, HeaderStart) {
  EXPECT_TRUE(is_header_start("Subject: x"));
  EXPECT_TRUE(is_header_start("X-A:"));
  EXPECT_TRUE(is_header_start("X-A \t:"));
  EXPECT_FALSE(is_header_start("X-A"));
  EXPECT_FALSE(is_header_start(": x"));
  EXPECT_FALSE(is_header_start(" X: y"));
  EXPECT_FALSE(is_header_start("X Y: z"));
  EXPECT_FALSE(is_header_start(""));
}

}  // namespace
}  // namespace estafeta::checks
