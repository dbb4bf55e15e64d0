// Tests for cidr: tables: pattern syntax, first match in file order, if/endif, negation.
#include "maps/cidr_map.h"

#include <gtest/gtest.h>

namespace estafeta::maps {
namespace {

const char kTable[] =
    "10.0.0.0/8 ten\n"
    "10.1.0.0/16 ten-one\n"  // unreachable: 10/8 comes first
    "1.2.3.4/24 bad\n"
    "192.168.1.1 exact\n"
    "[192.168.2.0]/24 br\n"
    "[192.168.3.0/24] br2\n"
    "2001:db8::/32 v6\n"
    "2001:DB8:0:0::1 v6exact\n"
    "if 172.16.0.0/12\n"
    "172.16.1.0/24 inside\n"
    "endif\n"
    "!10.0.0.0/8 notten\n"
    "0.0.0.0/0\n"
    "300.1.1.1 x\n"
    "1.2.3.0/33 x\n";

TEST(CidrMap, Lookups) {
  BuiltMap b = build_cidr_map(kTable, "c.cidr");
  struct Case {
    const char* key;
    std::optional<std::string> value;
  } cases[] = {
      {"10.1.2.3", "ten"},    {"192.168.1.1", "exact"},     {"192.168.1.2", "notten"},
      {"192.168.2.9", "br"},  {"192.168.3.9", "br2"},       {"2001:db8::1", "v6"},
      {"2001:0db8::1", "v6"}, {"172.16.1.5", "inside"},     {"172.16.2.5", "notten"},
      {"8.8.8.8", "notten"},  {"[10.1.1.1]", std::nullopt}, {"abc", std::nullopt},
      {"", std::nullopt},     {"2002::1", std::nullopt},
  };
  for (const Case& c : cases) {
    LookupResult r = b.map->lookup(c.key);
    if (c.value) {
      EXPECT_EQ(r, LookupResult::found(*c.value)) << c.key;
    } else {
      EXPECT_EQ(r, LookupResult::not_found()) << c.key;
    }
  }
  ASSERT_EQ(b.warnings.size(), 4u);
  EXPECT_EQ(b.warnings[0],
            "cidr map c.cidr, line 3: non-null host address bits in \"1.2.3.4/24\", perhaps you "
            "should use \"1.2.3.0/24\" instead: skipping this rule");
  EXPECT_EQ(b.warnings[1], "cidr map c.cidr, line 13: no lookup result: skipping this rule");
}

TEST(CidrMap, FirstMatchInFileOrderAcrossPrefixLengths) {
  BuiltMap b = build_cidr_map("10.1.2.0/24 narrow\n10.0.0.0/8 wide\n10.1.2.3 host\n", "c");
  EXPECT_EQ(b.map->lookup("10.1.2.3"), LookupResult::found("narrow"));
  EXPECT_EQ(b.map->lookup("10.9.2.3"), LookupResult::found("wide"));
}

TEST(CidrMap, NegationNeverMatchesOtherFamily) {
  BuiltMap b = build_cidr_map("!10.0.0.0/8 notten\nif !10.0.0.0/8\n::/0 v6\nendif\n", "c");
  EXPECT_EQ(b.map->lookup("2001:db8::1"), LookupResult::not_found());
  EXPECT_EQ(b.map->lookup("11.0.0.1"), LookupResult::found("notten"));
}

TEST(CidrMap, UnbalancedEndifAndMissingEndif) {
  BuiltMap b = build_cidr_map("endif\nif 10.0.0.0/8\n10.0.0.0/8 x\n", "c");
  EXPECT_EQ(b.map->lookup("10.0.0.1"), LookupResult::found("x"));
  ASSERT_EQ(b.warnings.size(), 2u);
  EXPECT_EQ(b.warnings[0], "cidr map c, line 1: ignoring ENDIF without matching IF");
  EXPECT_EQ(b.warnings[1], "cidr map c, line 2: IF has no matching ENDIF");
}

TEST(CidrPattern, Errors) {
  EXPECT_TRUE(parse_cidr_pattern("0.0.0.0/0").ok());
  EXPECT_TRUE(parse_cidr_pattern("::/0").ok());
  EXPECT_FALSE(parse_cidr_pattern("1.2.3.0/").ok());
  EXPECT_FALSE(parse_cidr_pattern("1.2.3.0/x").ok());
  EXPECT_FALSE(parse_cidr_pattern("[1.2.3.0").ok());
  EXPECT_FALSE(parse_cidr_pattern("::1/129").ok());
}

}  // namespace
}  // namespace estafeta::maps
