// Tests for "type:name" parsing.
#include "maps/map_spec.h"

#include <gtest/gtest.h>

#include "maps/remote_config.h"

namespace estafeta::maps {
namespace {

TEST(MapSpec, Table) {
  struct Case {
    const char* in;
    bool ok;
    MapType type;
    const char* name;
  } cases[] = {
      {"hash:/etc/postfix/virtual", true, MapType::Lmdb, "/etc/postfix/virtual"},
      {"BTREE:/x", true, MapType::Lmdb, "/x"},
      {"lmdb:/x", true, MapType::Lmdb, "/x"},
      {"cidr:/etc/c", true, MapType::Cidr, "/etc/c"},
      {"inline:{a=b:c}", true, MapType::Inline, "{a=b:c}"},
      {"static:OK", true, MapType::Static, "OK"},
      {"dbm:/x", false, MapType::Texthash, ""},
      {"/etc/x", false, MapType::Texthash, ""},
      {"cidr:", false, MapType::Texthash, ""},
  };
  for (const Case& c : cases) {
    Result<MapSpec> r = parse_map_spec(c.in);
    EXPECT_EQ(r.ok(), c.ok) << c.in;
    if (r.ok()) {
      EXPECT_EQ(r->type, c.type) << c.in;
      EXPECT_EQ(r->name, c.name) << c.in;
    }
  }
  Result<MapSpec> d = parse_map_spec("/etc/x", "hash");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->type, MapType::Lmdb);
}

TEST(RemoteConfig, ParseAndExpand) {
  auto cfg =
      parse_remote_config("# c\nhosts = h:1\nquery = SELECT\n  x\n", "f", {"hosts", "query"});
  ASSERT_TRUE(cfg.ok());
  EXPECT_EQ(cfg->at("query"), "SELECT  x");
  EXPECT_FALSE(parse_remote_config("bogus = 1\n", "f", {"hosts"}).ok());
  auto esc = [](std::string_view s) { return "<" + std::string(s) + ">"; };
  EXPECT_EQ(*expand_query("%s|%u|%d|%%", "a@b", esc), "<a@b>|<a>|<b>|%");
  EXPECT_FALSE(expand_query("%x", "a", esc).ok());
  EXPECT_EQ(*parse_timeout_seconds("0.25"), 0.25);
  EXPECT_FALSE(parse_timeout_seconds("-1").ok());
}

}  // namespace
}  // namespace estafeta::maps
