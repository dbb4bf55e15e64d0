// Tests for the postmap source format: splitting, folding, duplicates, diagnostics.
#include "maps/source_table.h"

#include <gtest/gtest.h>

namespace estafeta::maps {
namespace {

TEST(SplitSourceLine, Table) {
  struct Case {
    const char* in;
    std::optional<Entry> out;
  } cases[] = {
      {"key value", Entry{"key", "value"}},
      {"key   value with  spaces  ", Entry{"key", "value with  spaces"}},
      {"key\tv", Entry{"key", "v"}},
      {"novalue", std::nullopt},
      {"novalue   ", std::nullopt},
  };
  for (const Case& c : cases) EXPECT_EQ(split_source_line(c.in), c.out) << c.in;
}

TEST(ParseSourceTable, FoldsWarnsAndKeepsFirstDuplicate) {
  SourceTable t = parse_source_table("Foo Bar\nnovalue\nfoo dup\nalias: x\n", "t.txt", {});
  ASSERT_EQ(t.entries.size(), 2u);
  EXPECT_EQ(t.entries[0].key, "foo");
  EXPECT_EQ(t.entries[0].value, "Bar");
  EXPECT_EQ(t.entries[1].key, "alias:");
  ASSERT_EQ(t.warnings.size(), 3u);
  EXPECT_EQ(t.warnings[0],
            "t.txt, line 2: expected format: key whitespace value -- ignoring this line");
  EXPECT_EQ(t.warnings[1], "t.txt, line 3: duplicate entry: \"foo\"");
}

TEST(ParseSourceTable, DuplicatePolicies) {
  OpenOptions replace{true, DuplicatePolicy::Replace};
  SourceTable r = parse_source_table("a 1\na 2\n", "t", replace);
  EXPECT_EQ(r.entries[0].value, "2");
  EXPECT_TRUE(r.warnings.empty());
  OpenOptions ignore{true, DuplicatePolicy::Ignore};
  SourceTable i = parse_source_table("a 1\na 2\n", "t", ignore);
  EXPECT_EQ(i.entries[0].value, "1");
  EXPECT_TRUE(i.warnings.empty());
  OpenOptions nofold{false, DuplicatePolicy::Warn};
  SourceTable n = parse_source_table("A 1\na 2\n", "t", nofold);
  EXPECT_EQ(n.entries.size(), 2u);
}

}  // namespace
}  // namespace estafeta::maps
