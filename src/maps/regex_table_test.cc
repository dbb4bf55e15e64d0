// Tests for the pcre:/regexp: rule parser and the regexp: (POSIX) table.
#include "maps/regex_table.h"

#include <gtest/gtest.h>

#include "maps/regexp_map.h"

namespace estafeta::maps {
namespace {

TEST(ResultTemplate, Table) {
  struct Case {
    const char* in;
    bool ok;
    size_t parts;
  } cases[] = {
      {"plain", true, 1}, {"$1", true, 1},    {"${1}0", true, 2},
      {"a$$b", true, 1},  {"$(2)x", true, 2}, {"$ 1", false, 0},
      {"$ab", false, 0},  {"${1", false, 0},  {"", true, 0},
  };
  for (const Case& c : cases) {
    auto r = parse_result_template(c.in);
    EXPECT_EQ(r.ok(), c.ok) << c.in;
    if (r.ok()) {
      EXPECT_EQ(r->size(), c.parts) << c.in;
    }
  }
}

TEST(ParseRegexRules, Diagnostics) {
  ParsedRegexRules p =
      parse_regex_rules("/^x$/\n/a/Q y\n/unterminated\nif /^f/ extra\nendif junk\nbogus line\n",
                        "r", RegexDialect::Posix);
  std::vector<std::string> want = {
      "regexp map r, line 1: no replacement text: using empty string",
      "regexp map r, line 2: unknown regexp option \"Q\": skipping this rule",
      "regexp map r, line 3: no closing regexp delimiter \"/\": skipping this rule",
      "regexp map r, line 4: ignoring extra text after IF",
      "regexp map r, line 6: ignoring unrecognized request",
  };
  EXPECT_EQ(p.warnings, want);
  EXPECT_EQ(p.rules.size(), 3u);
}

TEST(RegexpMap, MatchingAndSubstitution) {
  BuiltMap b = build_regexp_map(
      "/^(.*)@example\\.com$/ $1-at-ex\n"
      "/^FOO$/ caseins\n"
      "/^bar$/i exact-case\n"
      "!/abc/ notabc\n"
      "if /^y/\n"
      "/^y(q)?(z)$/ [$1][$2][$$]\n"
      "endif\n"
      "/^d(.)$/ $10\n"
      "/^e(.)$/ ${1}0\n",
      "r.re");
  struct Case {
    const char* key;
    std::optional<std::string> value;
  } cases[] = {
      {"Joe@EXAMPLE.com", "Joe-at-ex"},
      {"foo", "caseins"},
      {"bar", "exact-case"},
      {"BAR", "notabc"},
      {"abc", std::nullopt},
      {"yz", "notabc"},
  };
  for (const Case& c : cases) {
    LookupResult r = b.map->lookup(c.key);
    if (c.value) {
      EXPECT_EQ(r, LookupResult::found(*c.value)) << c.key;
    } else {
      EXPECT_EQ(r, LookupResult::not_found()) << c.key;
    }
  }
  EXPECT_EQ(b.warnings.back(),
            "regexp map r.re, line 8: out of range replacement index \"10\": skipping this rule");
}

TEST(RegexpMap, IfBlocksAndUnsetGroups) {
  BuiltMap b = build_regexp_map(
      "if /^f/\nif !/^fo/\n/^f(.*)/ not-fo-$1\nendif\n/^fo/ fo\nendif\n"
      "/^(a)(b)?c$/ [$1][$2]\n/^x/!/^xy/ x-not-xy\n",
      "r");
  EXPECT_EQ(b.map->lookup("fa"), LookupResult::found("not-fo-a"));
  EXPECT_EQ(b.map->lookup("foo"), LookupResult::found("fo"));
  EXPECT_EQ(b.map->lookup("ac"), LookupResult::found("[a][]"));
  EXPECT_EQ(b.map->lookup("abc"), LookupResult::found("[a][b]"));
  EXPECT_EQ(b.map->lookup("xa"), LookupResult::found("x-not-xy"));
  EXPECT_EQ(b.map->lookup("xya"), LookupResult::not_found());
  EXPECT_TRUE(b.warnings.empty());
}

TEST(RegexpMap, BadPatternIsSkipped) {
  BuiltMap b = build_regexp_map("/m(/ bad\n/ok/ ok\n", "r");
  EXPECT_EQ(b.map->lookup("ok"), LookupResult::found("ok"));
  ASSERT_EQ(b.warnings.size(), 1u);
  EXPECT_EQ(b.warnings[0].rfind("regexp map r, line 1: ", 0), 0u);
}

TEST(RegexpMap, StackedRepetitionsAreRejectedNotCompiled) {
  // Regression (maps_regexp_fuzz, oom_glibc_stacked_repetition): glibc regcomp needs
  // exponential memory for "z+++++...".
  BuiltMap b = build_regexp_map("/z" + std::string(40, '+') + "/ x\n/^a+?$/ ok\n", "r");
  ASSERT_EQ(b.warnings.size(), 1u);
  EXPECT_NE(b.warnings[0].find("too complex"), std::string::npos);
  EXPECT_EQ(b.map->lookup("a"), LookupResult::found("ok"));
}

}  // namespace
}  // namespace estafeta::maps
