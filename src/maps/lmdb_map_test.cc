// Tests for lmdb: tables: atomic write, lookups with and without NUL, listing.
#include "maps/lmdb_map.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>

namespace estafeta::maps {
namespace {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/maps_test.XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(LmdbMap, WriteThenRead) {
  TempDir dir;
  std::string db = dir.path() + "/t.lmdb";
  ASSERT_TRUE(write_lmdb_file(db, {{"beta", "two"}, {"alpha", "one"}, {"e", ""}}).ok());
  Result<std::unique_ptr<Map>> m = open_lmdb_map(db, true);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ((*m)->lookup("ALPHA"), LookupResult::found("one"));
  EXPECT_EQ((*m)->lookup("e"), LookupResult::found(""));
  EXPECT_EQ((*m)->lookup("gamma"), LookupResult::not_found());
  Result<std::vector<Entry>> all = (*m)->entries();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, (std::vector<Entry>{{"alpha", "one"}, {"beta", "two"}, {"e", ""}}));
  // No temporary file is left behind.
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1u);
}

TEST(LmdbMap, ReplaceKeepsOldReaderConsistent) {
  TempDir dir;
  std::string db = dir.path() + "/t.lmdb";
  ASSERT_TRUE(write_lmdb_file(db, {{"k", "old"}}).ok());
  Result<std::unique_ptr<Map>> old_reader = open_lmdb_map(db, true);
  ASSERT_TRUE(old_reader.ok());
  ASSERT_TRUE(write_lmdb_file(db, {{"k", "new"}}).ok());
  // The old reader still sees the complete old table (the file was replaced, not edited).
  EXPECT_EQ((*old_reader)->lookup("k"), LookupResult::found("old"));
  EXPECT_EQ((*open_lmdb_map(db, true))->lookup("k"), LookupResult::found("new"));
}

TEST(LmdbMap, MissingFileIsAnError) {
  EXPECT_FALSE(open_lmdb_map("/nonexistent/x.lmdb", true).ok());
  Result<std::vector<Entry>> none = read_lmdb_entries("/nonexistent/x.lmdb", true);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(LmdbMap, LargeTableGrowsMapSize) {
  TempDir dir;
  std::string db = dir.path() + "/big.lmdb";
  std::vector<Entry> entries;
  for (int i = 0; i < 50000; ++i) {
    entries.push_back(Entry{"key" + std::to_string(i), std::string(100, 'v')});
  }
  ASSERT_TRUE(write_lmdb_file(db, entries).ok());
  EXPECT_EQ((*open_lmdb_map(db, true))->lookup("key49999"),
            LookupResult::found(std::string(100, 'v')));
}

}  // namespace
}  // namespace estafeta::maps
