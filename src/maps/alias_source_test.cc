// Tests for the aliases(5) source parser. Expected values are what Postfix's postalias
// stores for the same lines (checked with postalias -s).
#include "maps/alias_source.h"

#include <gtest/gtest.h>

namespace estafeta::maps {
namespace {

TEST(AliasSource, EntriesContinuationsAndComments) {
  AliasSource s = parse_alias_source(
      "# comment\n"
      "postmaster: root\n"
      "Multi: a, b,\n"
      "   c\n"
      "\td@example.com\n"
      "\n"
      "list: one\n"
      "  # an indented comment does not end the entry\n"
      "# nor does a comment\n"
      "\n"
      "  two\n"
      "tail: z   \n",
      "aliases");
  EXPECT_TRUE(s.warnings.empty());
  ASSERT_EQ(s.entries.size(), 4u);
  EXPECT_EQ(s.entries[0], (AliasEntry{"postmaster", "root", 2}));
  EXPECT_EQ(s.entries[1], (AliasEntry{"multi", "a, b, c d@example.com", 3}));
  EXPECT_EQ(s.entries[2], (AliasEntry{"list", "one two", 7}));
  EXPECT_EQ(s.entries[3], (AliasEntry{"tail", "z", 12}));
}

TEST(AliasSource, Names) {
  struct Case {
    const char* line;
    const char* name;  // nullptr: no entry
    const char* value;
  } cases[] = {
      {"\"a b\": x", "a b", "x"},
      {"\"quoted\\\"x\": y", "quoted\"x", "y"},
      {"c : spaced", "c", "spaced"},
      {"\"e\"x: r", "e x", "r"},
      {"w\\ x: u", "w x", "u"},
      {"f:g:h", "f", "g:h"},
      {"\"a:b\": c", "a:b", "c"},
      {"noval:", nullptr, nullptr},
      {": novalue", nullptr, nullptr},
      {"\"\": empty", nullptr, nullptr},
      {"bad line no colon", nullptr, nullptr},
      {"\"unterminated: q", nullptr, nullptr},
  };
  for (const Case& c : cases) {
    std::optional<Entry> e = parse_alias_line(c.line);
    if (c.name == nullptr) {
      EXPECT_FALSE(e) << c.line;
      continue;
    }
    ASSERT_TRUE(e) << c.line;
    EXPECT_EQ(e->key, c.name) << c.line;
    EXPECT_EQ(e->value, c.value) << c.line;
  }
}

TEST(AliasSource, ValuesAreNormalisedAsPostalias) {
  struct Case {
    const char* line;
    const char* value;
  } cases[] = {
      {"a:  x    y\t\tz  ", "x y z"},
      {"a: x,y ,  z", "x, y, z"},
      {"b: \"|cmd  a,b\" , /f", "\"|cmd  a,b\", /f"},
      {"c: :include:/etc/l,  user@EXAMPLE.com", ":include:/etc/l, user@EXAMPLE.com"},
      {"e: (comment, here) a <b@c>", "(comment, here) a <b@c>"},
      {"h: ,x,,", ", x, , "},
      {"i: <a@b>,<c@d>", "<a@b>, <c@d>"},
  };
  for (const Case& c : cases) {
    std::optional<Entry> e = parse_alias_line(c.line);
    ASSERT_TRUE(e) << c.line;
    EXPECT_EQ(e->value, c.value) << c.line;
  }
}

TEST(AliasSource, WarningsNameFileAndLine) {
  AliasSource s = parse_alias_source("ok: a\nbroken line\nUpper: b\n  orphan?\n", "/etc/aliases");
  ASSERT_EQ(s.warnings.size(), 1u);
  EXPECT_EQ(s.warnings[0], "/etc/aliases, line 2: need name:value pair");
  ASSERT_EQ(s.entries.size(), 2u);
  EXPECT_EQ(s.entries[1], (AliasEntry{"upper", "b orphan?", 3}));
  AliasSource exact = parse_alias_source("Upper: b\n", "x", false);
  ASSERT_EQ(exact.entries.size(), 1u);
  EXPECT_EQ(exact.entries[0].name, "Upper");
}

TEST(AliasSource, DuplicatesAreKeptInOrder) {
  AliasSource s = parse_alias_source("Dup: one\ndup: two\n", "a");
  ASSERT_EQ(s.entries.size(), 2u);
  EXPECT_EQ(s.entries[0].value, "one");
  EXPECT_EQ(s.entries[1].value, "two");
}

TEST(AliasSource, SplitTargets) {
  EXPECT_EQ(split_alias_targets("user, /file, \"|cmd a,b\", :include:/x, ,"),
            (std::vector<std::string>{"user", "/file", "\"|cmd a,b\"", ":include:/x"}));
  EXPECT_EQ(split_alias_targets("Name <a@b>, (x, y) c"),
            (std::vector<std::string>{"Name <a@b>", "(x, y) c"}));
  EXPECT_TRUE(split_alias_targets("  ").empty());
}

}  // namespace
}  // namespace estafeta::maps
