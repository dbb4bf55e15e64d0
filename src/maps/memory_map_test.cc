// Tests for texthash:, inline: and static: tables.
#include "maps/memory_map.h"

#include <gtest/gtest.h>

namespace estafeta::maps {
namespace {

TEST(TexthashMap, LookupsFoldKeysNotValues) {
  BuiltMap b = build_texthash_map("Key Value One\n  continued\n# c\nempty\n", "t", {});
  EXPECT_EQ(b.map->lookup("KEY"), LookupResult::found("Value One  continued"));
  EXPECT_EQ(b.map->lookup("empty"), LookupResult::not_found());
  EXPECT_EQ(b.warnings.size(), 1u);
  OpenOptions nofold{false, DuplicatePolicy::Warn};
  BuiltMap n = build_texthash_map("Key v\n", "t", nofold);
  EXPECT_EQ(n.map->lookup("key"), LookupResult::not_found());
  EXPECT_EQ(n.map->lookup("Key"), LookupResult::found("v"));
}

TEST(InlineRules, OneRulePerLine) {
  EXPECT_EQ(*inline_rules_text("{ {/a b/ x y}, {/c{1,2}/ z} }"), "/a b/ x y\n/c{1,2}/ z\n");
  EXPECT_EQ(*inline_rules_text("{{/a/ b}}"), "/a/ b\n");
  EXPECT_FALSE(inline_rules_text("{}").ok());
  EXPECT_FALSE(inline_rules_text("{ {/a/ b}, {} }").ok());
  EXPECT_FALSE(inline_rules_text("{ {/a/ b} ").ok());
  EXPECT_FALSE(inline_rules_text("/a/ b").ok());
  EXPECT_FALSE(inline_rules_text("{ {/a/\nb} }").ok());
}

TEST(InlineMap, Elements) {
  struct Case {
    const char* spec;
    std::vector<Entry> entries;
  } cases[] = {
      {"{a=b}", {{"a", "b"}}},
      {"{ a=b, { c = d e }, f= }", {{"a", "b"}, {"c", "d e"}, {"f", ""}}},
      {"{a=b c=d}", {{"a", "b"}, {"c", "d"}}},
      {"{ {x = {y}} }", {{"x", "{y}"}}},
  };
  for (const Case& c : cases) {
    Result<std::vector<Entry>> got = parse_inline_elements(c.spec);
    ASSERT_TRUE(got.ok()) << c.spec << ": " << got.error().message;
    EXPECT_EQ(*got, c.entries) << c.spec;
  }
  for (const char* bad : {"a=b", "{a}", "{}", "{=b}", "{a=b", "{ {a=b }"}) {
    EXPECT_FALSE(parse_inline_elements(bad).ok()) << bad;
  }
}

TEST(InlineMap, LaterDuplicateWinsAndKeysFold) {
  Result<std::unique_ptr<Map>> m = build_inline_map("{A=1, a=2, {B = x y}}", {});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)->lookup("a"), LookupResult::found("2"));
  EXPECT_EQ((*m)->lookup("b"), LookupResult::found("x y"));
  EXPECT_EQ((*m)->lookup("c"), LookupResult::not_found());
  EXPECT_FALSE(build_inline_map("{a}", {}).ok());
}

TEST(StaticMap, AlwaysFound) {
  Result<std::unique_ptr<Map>> m = build_static_map("{ text with spaces }");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)->lookup("anything"), LookupResult::found("text with spaces"));
  EXPECT_EQ((*build_static_map("OK"))->lookup(""), LookupResult::found("OK"));
  EXPECT_FALSE((*m)->entries().ok());
}

}  // namespace
}  // namespace estafeta::maps
