// Tests of the shared virtual(5)-order address lookup (address_search.h): the key order,
// the local-domain keys asked only for a local domain (and the question asked lazily), the
// extension remembered when it was chopped off, pattern tables asked for the full address
// only, temporary failures never turned into "not found", and the two table orders.
#include "maps/address_search.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "maps/memory_map.h"
#include "maps/regexp_map.h"

namespace estafeta::maps {
namespace {

using Keys = std::vector<std::string>;

// A table that records the keys it was asked and knows a few.
using Entries = std::map<std::string, std::string, std::less<>>;

class RecordingMap : public Map {
 public:
  RecordingMap() = default;
  explicit RecordingMap(Entries entries) : entries_(std::move(entries)) {}
  LookupResult lookup(std::string_view key) const override {
    asked.emplace_back(key);
    auto it = entries_.find(key);
    return it == entries_.end() ? LookupResult::not_found() : LookupResult::found(it->second);
  }
  mutable Keys asked;

 private:
  Entries entries_;
};

class FailingMap : public Map {
 public:
  LookupResult lookup(std::string_view) const override {
    return LookupResult::temp_fail("db down");
  }
};

LookupStatus only_local_example(std::string_view domain) {
  return domain == "local.example" ? LookupStatus::Found : LookupStatus::NotFound;
}

TEST(FindAddress, KeyOrder) {
  RecordingMap t;
  find_address(SearchTables{&t}, "u+x@local.example", "+", only_local_example);
  EXPECT_EQ(t.asked, (Keys{"u+x@local.example", "u@local.example", "u+x", "u", "@local.example"}));
  t.asked.clear();
  find_address(SearchTables{&t}, "u+x@remote.example", "+", only_local_example);
  EXPECT_EQ(t.asked, (Keys{"u+x@remote.example", "u@remote.example", "@remote.example"}));
  t.asked.clear();
  find_address(SearchTables{&t}, "u+x", "+", nullptr);  // unqualified
  EXPECT_EQ(t.asked, (Keys{"u+x", "u"}));
  t.asked.clear();
  find_address(SearchTables{&t}, "u+x@local.example", "", only_local_example);  // no delimiter
  EXPECT_EQ(t.asked, (Keys{"u+x@local.example", "u+x", "@local.example"}));
  t.asked.clear();
  find_address(SearchTables{&t}, "u-x@local.example", "+-", nullptr);  // several delimiters
  EXPECT_EQ(t.asked, (Keys{"u-x@local.example", "u@local.example", "@local.example"}));
}

TEST(FindAddress, LocalDomainIsAskedOnlyWhenNeededAndItsFailureDefers) {
  RecordingMap t(Entries{{"a@d.example", "full"}, {"@d.example", "catchall"}});
  int asked = 0;
  DomainIsLocal failing = [&asked](std::string_view) {
    ++asked;
    return LookupStatus::TempFail;
  };
  EXPECT_EQ(find_address(SearchTables{&t}, "a@d.example", "+", failing).value, "full");
  EXPECT_EQ(asked, 0);
  AddressMatch m = find_address(SearchTables{&t}, "b@d.example", "+", failing);
  EXPECT_EQ(m.status, LookupStatus::TempFail);
  EXPECT_EQ(m.value, "local domain lookup failed");
  EXPECT_EQ(asked, 1);
}

TEST(FindAddress, ExtensionIsRememberedOnlyWhenChopped) {
  RecordingMap t(
      Entries{{"u@d.example", "v@e.example"}, {"w+x@d.example", "full"}, {"y", "local"}});
  AddressMatch m = find_address(SearchTables{&t}, "u+box@d.example", "+", nullptr);
  EXPECT_EQ(m.status, LookupStatus::Found);
  EXPECT_EQ(m.value, "v@e.example");
  EXPECT_EQ(m.extension, "+box");
  m = find_address(SearchTables{&t}, "w+x@d.example", "+", nullptr);
  EXPECT_EQ(m.value, "full");
  EXPECT_EQ(m.extension, "");
  m = find_address(SearchTables{&t}, "y+z@local.example", "+", only_local_example);
  EXPECT_EQ(m.value, "local");
  EXPECT_EQ(m.extension, "+z");
}

// Postfix: regexp: and pcre: tables see the full address, never "user@domain", "user" or
// "@domain" (a pattern that matches a partial key must not match through it).
TEST(FindAddress, PatternTablesAreAskedForTheFullAddressOnly) {
  BuiltMap regexp = build_regexp_map(
      "/^u@local\\.example$/ partial-user-at-domain\n"
      "/^u$/ partial-user\n"
      "/^@local\\.example$/ partial-domain\n"
      "/^v\\+x@local\\.example$/ full\n",
      "test.re");
  ASSERT_TRUE(regexp.map);
  const SearchTables tables = make_search_tables(
      {"regexp:/etc/test.re"}, [&](std::string_view) { return regexp.map.get(); });
  ASSERT_EQ(tables.size(), 1u);
  EXPECT_TRUE(tables[0].full_key_only);
  EXPECT_EQ(find_address(tables, "u+x@local.example", "+", only_local_example).status,
            LookupStatus::NotFound);
  AddressMatch m = find_address(tables, "v+x@local.example", "+", only_local_example);
  EXPECT_EQ(m.value, "full");
  EXPECT_EQ(m.extension, "");
  // The same rules as a fixed-key table answer the partial keys.
  RecordingMap fixed(Entries{{"u@local.example", "partial-user-at-domain"}});
  EXPECT_EQ(find_address(SearchTables{&fixed}, "u+x@local.example", "+", nullptr).value,
            "partial-user-at-domain");
  EXPECT_TRUE(is_pattern_table("regexp:/x"));
  EXPECT_TRUE(is_pattern_table("PCRE:/x"));
  EXPECT_TRUE(is_pattern_table("cidr:/x"));
  EXPECT_FALSE(is_pattern_table("hash:/x"));
  EXPECT_FALSE(make_search_tables({"texthash:/x"}, nullptr)[0].full_key_only);
}

TEST(FindAddress, TemporaryFailuresAreNeverNotFound) {
  RecordingMap known(Entries{{"a@d.example", "x"}});
  FailingMap failing;
  const SearchTables tables{&known, &failing};
  EXPECT_EQ(find_address(tables, "a@d.example", "+", nullptr).status, LookupStatus::Found);
  AddressMatch m = find_address(tables, "b@d.example", "+", nullptr);
  EXPECT_EQ(m.status, LookupStatus::TempFail);
  EXPECT_EQ(m.value, "db down");
  EXPECT_EQ(find_address(SearchTables{SearchTable{}}, "a@b", "+", nullptr).status,
            LookupStatus::TempFail);  // a table that could not be opened
  EXPECT_EQ(find_address(SearchTables{}, "a@b", "+", nullptr).status, LookupStatus::NotFound);
}

TEST(FindAddress, KeysFirstOrTablesFirst) {
  RecordingMap catchall(Entries{{"@d.example", "catchall"}});
  RecordingMap specific(Entries{{"a@d.example", "specific"}});
  const SearchTables tables{&catchall, &specific};
  EXPECT_EQ(find_address(tables, "a@d.example", "+", nullptr).value, "specific");
  EXPECT_EQ(find_address(tables, "a@d.example", "+", nullptr, TableOrder::TablesFirst).value,
            "catchall");
  EXPECT_EQ(find_address(tables, "b@d.example", "+", nullptr, TableOrder::TablesFirst).value,
            "catchall");
}

TEST(FindAddress, KeyLookupCallbacks) {
  Keys asked;
  KeyLookup every_key = [&asked](std::string_view key) {
    asked.emplace_back(key);
    return LookupResult::not_found();
  };
  find_address(every_key, "u+x@d.example", "+", nullptr);
  EXPECT_EQ(asked, (Keys{"u+x@d.example", "u@d.example", "@d.example"}));
  std::vector<bool> partial;
  KeyLookup told = [&partial](std::string_view, bool p) {
    partial.push_back(p);
    return LookupResult::not_found();
  };
  find_address(told, "u+x@d.example", "+", nullptr);
  EXPECT_EQ(partial, (std::vector<bool>{false, true, true}));
  EXPECT_EQ(find_address(KeyLookup(nullptr), "u@d", "+", nullptr).status, LookupStatus::NotFound);
}

}  // namespace
}  // namespace estafeta::maps
