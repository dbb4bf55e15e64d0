// Tests for unix:passwd.byname and unix:group.byname against the system's databases
// (root, nobody and the root group exist on every Debian system).
#include "maps/unix_map.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "maps/open_map.h"

namespace estafeta::maps {
namespace {

std::unique_ptr<Map> open_spec(const char* spec, OpenOptions options = {}) {
  Result<OpenedMap> opened = open_map(spec, options);
  EXPECT_TRUE(opened.ok()) << spec;
  return opened.ok() ? std::move(opened->map) : nullptr;
}

// The value found for `key`, or "(not found)".
std::string value_of(const Map& map, std::string_view key) {
  LookupResult r = map.lookup(key);
  return r.is_found() ? r.value : "(not found)";
}

TEST(UnixMap, PasswdByName) {
  auto map = open_spec("unix:passwd.byname");
  ASSERT_TRUE(map);
  std::string root = value_of(*map, "root");
  EXPECT_TRUE(root.starts_with("root:x:0:0:root:/root:")) << root;
  EXPECT_EQ(std::count(root.begin(), root.end(), ':'), 6) << root;
  EXPECT_TRUE(value_of(*map, "nobody").starts_with("nobody:x:65534:65534:"));
  EXPECT_EQ(map->lookup("no-such-user-estafeta"), LookupResult::not_found());
  EXPECT_EQ(map->lookup(""), LookupResult::not_found());
  EXPECT_EQ(map->lookup(std::string_view("root\0x", 6)), LookupResult::not_found());
  EXPECT_FALSE(map->entries().ok());
}

TEST(UnixMap, KeysFoldUnlessTold) {
  EXPECT_TRUE(open_spec("unix:passwd.byname")->lookup("ROOT").is_found());
  OpenOptions exact;
  exact.fold_keys = false;
  EXPECT_EQ(open_spec("unix:passwd.byname", exact)->lookup("ROOT"), LookupResult::not_found());
  EXPECT_TRUE(open_spec("unix:passwd.byname", exact)->lookup("root").is_found());
}

TEST(UnixMap, GroupByName) {
  auto map = open_spec("unix:group.byname");
  ASSERT_TRUE(map);
  EXPECT_TRUE(value_of(*map, "root").starts_with("root:x:0:")) << value_of(*map, "root");
  EXPECT_EQ(map->lookup("no-such-group-estafeta"), LookupResult::not_found());
}

TEST(UnixMap, UnknownTableIsAnOpenError) {
  Result<OpenedMap> opened = open_map("unix:shadow.byname", OpenOptions{});
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.error().message.find("unix:shadow.byname"), std::string::npos);
}

}  // namespace
}  // namespace estafeta::maps
