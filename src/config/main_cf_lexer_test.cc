// Table-driven tests of the main.cf logical-line lexer (comments, continuations, blank
// lines, CRLF, leading white space) and of "name = value" parsing.
#include "config/main_cf_lexer.h"

#include <gtest/gtest.h>

#include "config/main_cf.h"

namespace estafeta::config {
namespace {

struct LexCase {
  const char* input;
  std::vector<std::pair<int, std::string>> expected;  // line, text
  size_t warnings;
};

TEST(MainCfLexer, Table) {
  const LexCase cases[] = {
      {"", {}, 0},
      {"a = b", {{1, "a = b"}}, 0},
      {"a = b\n", {{1, "a = b"}}, 0},
      {"a = b\r\nc = d\r\n", {{1, "a = b"}, {2, "c = d"}}, 0},
      {"# comment\na = b\n", {{2, "a = b"}}, 0},
      {"   # indented comment\na = b\n", {{2, "a = b"}}, 0},
      {"a = b # not a comment\n", {{1, "a = b # not a comment"}}, 0},
      {"a = b,\n  c,\n\td\n", {{1, "a = b, c, d"}}, 0},
      {"a = b,\n\n  c\n", {{1, "a = b, c"}}, 0},       // blank line does not end it
      {"a = b,\n# x\n  c\n", {{1, "a = b, c"}}, 0},    // nor does a comment line
      {"a = b,\n  # x\n  c\n", {{1, "a = b, c"}}, 0},  // indented comment too
      {"a = b\n \t \nc = d\n", {{1, "a = b"}, {3, "c = d"}}, 0},
      {"  a = b\nc = d\n", {{1, "a = b"}, {2, "c = d"}}, 1},  // nothing to continue
      {"a = b\r\n  c\r\n", {{1, "a = b c"}}, 0},
      {"a = b   \n", {{1, "a = b"}}, 0},
      {"no newline at end", {{1, "no newline at end"}}, 0},
  };
  for (const LexCase& c : cases) {
    LexedText out = split_logical_lines(c.input);
    std::vector<std::pair<int, std::string>> got;
    for (const LogicalLine& l : out.lines) {
      got.emplace_back(l.line, l.text);
    }
    EXPECT_EQ(got, c.expected) << "input: " << c.input;
    EXPECT_EQ(out.warnings.size(), c.warnings) << "input: " << c.input;
  }
}

TEST(MainCf, Assignments) {
  MainCfText t = parse_main_cf("a=b\nempty =\n  \nx_1 = y = z\n", "main.cf");
  ASSERT_EQ(t.assignments.size(), 3u);
  EXPECT_TRUE(t.diagnostics.empty());
  EXPECT_EQ(t.assignments[0].name, "a");
  EXPECT_EQ(t.assignments[0].value, "b");
  EXPECT_EQ(t.assignments[1].name, "empty");
  EXPECT_EQ(t.assignments[1].value, "");
  EXPECT_EQ(t.assignments[2].name, "x_1");
  EXPECT_EQ(t.assignments[2].value, "y = z");
  EXPECT_EQ(t.assignments[2].line, 4);
}

TEST(MainCf, SyntaxErrorsCarryFileAndLine) {
  struct Case {
    const char* input;
    const char* diagnostic;
  };
  const Case cases[] = {
      {"a = b\njunk line\n", "main.cf:2: error: missing '=' after parameter name: \"junk line\""},
      {"\n\nbad-name = 1\n", "main.cf:3: error: bad parameter name: \"bad-name\""},
      {"= 1\n", "main.cf:1: error: bad parameter name: \"\""},
  };
  for (const Case& c : cases) {
    MainCfText t = parse_main_cf(c.input, "main.cf");
    ASSERT_EQ(t.diagnostics.size(), 1u) << c.input;
    EXPECT_EQ(t.diagnostics[0].to_string(), c.diagnostic);
  }
}

}  // namespace
}  // namespace estafeta::config
