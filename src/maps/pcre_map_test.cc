// Tests for pcre: tables (PCRE2).
#include "maps/pcre_map.h"

#include <gtest/gtest.h>

namespace estafeta::maps {
namespace {

TEST(PcreMap, FlagsSubstitutionAndIf) {
  BuiltMap b = build_pcre_map(
      "/^(\\w+)@example\\.com$/ user=$1\n"
      "/^Case$/i sensitive\n"
      "if !/^skip/\n"
      "/^(a)(b)?c$/ [$1][$2]\n"
      "endif\n"
      "/^x.y$/ dotall\n"
      "/^a.b$/s not-dotall\n"
      "/m(/ bad\n",
      "p.re");
  EXPECT_EQ(b.map->lookup("Joe@EXAMPLE.COM"), LookupResult::found("user=Joe"));
  EXPECT_EQ(b.map->lookup("Case"), LookupResult::found("sensitive"));
  EXPECT_EQ(b.map->lookup("case"), LookupResult::not_found());
  EXPECT_EQ(b.map->lookup("ac"), LookupResult::found("[a][]"));
  // pcre_table(5): '.' matches a newline unless 's' toggles DOTALL off (folded headers).
  EXPECT_EQ(b.map->lookup("x\ny"), LookupResult::found("dotall"));
  EXPECT_EQ(b.map->lookup("a\nb"), LookupResult::not_found());
  EXPECT_EQ(b.map->lookup("a-b"), LookupResult::found("not-dotall"));
  ASSERT_EQ(b.warnings.size(), 1u);
  EXPECT_EQ(b.warnings[0],
            "pcre map p.re, line 8: error in regex at offset 2: missing closing parenthesis");
}

TEST(PcreMap, UnknownFlag) {
  BuiltMap b = build_pcre_map("/a/! x\n/b/ y\n", "p");
  EXPECT_EQ(b.map->lookup("b"), LookupResult::found("y"));
  ASSERT_EQ(b.warnings.size(), 1u);
  EXPECT_EQ(b.warnings[0], "pcre map p, line 1: unknown regexp option \"!\": skipping this rule");
}

}  // namespace
}  // namespace estafeta::maps
