// Tests for MapSet (open by spec list, report every failure, tri-state lookups) and
// LookupPool (lookups off the calling thread).
#include "maps/map_set.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <future>

#include "maps/lookup_pool.h"

namespace estafeta::maps {
namespace {

TEST(MapSet, OpensAndReportsEveryFailure) {
  char tmpl[] = "/tmp/mapset_test.XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  std::ofstream(dir + "/c.cidr") << "10.0.0.0/8 ten\nbogus\n";
  MapSetOpenResult r =
      MapSet::open({"cidr:" + dir + "/c.cidr", "static:OK", "hash:" + dir + "/missing",
                    "texthash:" + dir + "/nope", "dbm:/x", "static:OK"});
  EXPECT_EQ(r.errors.size(), 3u);
  EXPECT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.set->size(), 2u);
  EXPECT_EQ(r.set->lookup("cidr:" + dir + "/c.cidr", "10.1.1.1"), LookupResult::found("ten"));
  EXPECT_TRUE(r.set->lookup("hash:" + dir + "/missing", "x").is_temp_fail());
  EXPECT_EQ(r.set->lookup_first({"cidr:" + dir + "/c.cidr", "static:OK"}, "1.1.1.1"),
            LookupResult::found("OK"));
  std::filesystem::remove_all(dir);
}

TEST(MapSet, InlinePatternTables) {
  // Postfix 3.7's inline form: each rule in braces, in order; "$$" would be main.cf's.
  const std::string pcre =
      "pcre:{ {/^([^.\\/][^\\/]*)@example\\.org$/ ${1}/Maildir/}, {/x{2}/ XX} }";
  const std::string regexp = "regexp:{{/^a(b+)$/ got $1}}";
  MapSetOpenResult r = MapSet::open({pcre, regexp, "pcre:{ }", "pcre:{ {/a/ b}"});
  ASSERT_EQ(r.errors.size(), 2u) << r.errors[0];
  EXPECT_NE(r.errors[0].find("empty table"), std::string::npos) << r.errors[0];
  EXPECT_NE(r.errors[1].find("missing '}'"), std::string::npos) << r.errors[1];
  EXPECT_EQ(r.set->lookup(pcre, "ann@example.org"), LookupResult::found("ann/Maildir/"));
  EXPECT_EQ(r.set->lookup(pcre, ".ann@example.org"), LookupResult::not_found());
  EXPECT_EQ(r.set->lookup(pcre, "a/b@example.org"), LookupResult::not_found());
  EXPECT_EQ(r.set->lookup(pcre, "axxb"), LookupResult::found("XX"));
  EXPECT_EQ(r.set->lookup(regexp, "abbb"), LookupResult::found("got bbb"));
}

TEST(LookupPool, RunsLookupsAndDeliversResults) {
  MapSetOpenResult r = MapSet::open({"inline:{a=1, b=2}"});
  ASSERT_TRUE(r.ok());
  LookupPool pool(2);
  std::promise<LookupResult> pa;
  std::promise<LookupResult> pc;
  pool.submit(r.set, "inline:{a=1, b=2}", "a", [&](LookupResult x) { pa.set_value(x); });
  pool.submit(r.set, "inline:{a=1, b=2}", "c", [&](LookupResult x) { pc.set_value(x); });
  EXPECT_EQ(pa.get_future().get(), LookupResult::found("1"));
  EXPECT_EQ(pc.get_future().get(), LookupResult::not_found());
}

}  // namespace
}  // namespace estafeta::maps
