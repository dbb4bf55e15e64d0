// Tests for the Postfix logical-line reader, including every fragmentation of the input.
#include "maps/line_reader.h"

#include <gtest/gtest.h>

namespace estafeta::maps {
namespace {

const char kText[] =
    "# comment\n"
    "key1 value\n"
    "  continued\n"
    "   # comment inside a continuation is skipped\n"
    "\n"
    "key2\tv2\r\n"
    "\t\n"
    "key3 last";

std::vector<LogicalLine> expected() {
  return {{2, "key1 value  continued"}, {6, "key2\tv2\r"}, {8, "key3 last"}};
}

TEST(LogicalLineReader, WholeText) {
  SplitLines s = split_logical_lines(kText, "t");
  EXPECT_EQ(s.lines, expected());
  EXPECT_TRUE(s.warnings.empty());
}

TEST(LogicalLineReader, EveryFragmentSize) {
  std::string text(kText);
  for (size_t step : {1, 2, 3, 5, 7, 13, 64}) {
    LogicalLineReader r("t");
    std::vector<LogicalLine> got;
    for (size_t i = 0; i < text.size(); i += step) {
      r.feed(std::string_view(text).substr(i, step));
      for (auto& l : r.take_lines()) got.push_back(std::move(l));
    }
    r.finish();
    for (auto& l : r.take_lines()) got.push_back(std::move(l));
    EXPECT_EQ(got, expected()) << "step " << step;
  }
}

TEST(LogicalLineReader, LeadingWhitespaceLineIsDroppedWithWarning) {
  SplitLines s = split_logical_lines("  orphan\n   more\nkey v\n", "f");
  ASSERT_EQ(s.lines.size(), 1u);
  EXPECT_EQ(s.lines[0], (LogicalLine{3, "key v"}));
  ASSERT_EQ(s.warnings.size(), 1u);
  EXPECT_NE(s.warnings[0].find("f, line 1: logical line must not start with whitespace"),
            std::string::npos);
}

TEST(LogicalLineReader, NulTruncatesWithWarning) {
  SplitLines s = split_logical_lines(std::string("a b\0c\n", 6), "f");
  ASSERT_EQ(s.lines.size(), 1u);
  EXPECT_EQ(s.lines[0].text, "a b");
  EXPECT_EQ(s.warnings.size(), 1u);
}

}  // namespace
}  // namespace estafeta::maps
