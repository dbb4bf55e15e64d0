// Tests for the DRAC grant store (daemon/drac_store.h): files in a temporary directory, time
// from a FakeClock; Redis only as "down" (a closed port): the shared variant runs against a
// real redis-server in tests/integration/test_drac.py.
#include "daemon/drac_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace estafeta::daemon {
namespace {

using std::chrono::seconds;

class DracStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/drac_store_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    clock_ = std::make_shared<FakeClock>(Clock::TimePoint(seconds(1700000000)));
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  std::unique_ptr<DracStore> store(std::string redis = "") {
    DracOptions options;
    options.directory = root_ + "/drac";
    options.timeout = seconds(1800);
    options.redis_server = std::move(redis);
    options.redis_timeout = std::chrono::milliseconds(200);
    auto s = DracStore::create(options, clock_);
    EXPECT_TRUE(s.ok());
    return std::move(*s);
  }

  DracLog collect() {
    return [this](std::string_view kind, const std::string& text) {
      records_.push_back(std::string(kind) + ": " + text);
    };
  }

  std::string root_;
  std::shared_ptr<FakeClock> clock_;
  std::vector<std::string> records_;
};

TEST_F(DracStoreTest, AGrantPermitsUntilItExpires) {
  auto s = store();
  EXPECT_FALSE(s->granted("192.0.2.1", collect()));
  ASSERT_TRUE(s->add("192.0.2.1", collect()).ok());
  EXPECT_TRUE(std::filesystem::exists(root_ + "/drac/192.0.2.1"));
  EXPECT_TRUE(s->granted("192.0.2.1", collect()));
  EXPECT_TRUE(s->granted("::ffff:192.0.2.1", collect()));
  EXPECT_FALSE(s->granted("192.0.2.2", collect()));
  clock_->advance(seconds(1799));
  EXPECT_TRUE(s->granted("192.0.2.1", collect()));
  clock_->advance(seconds(1));
  EXPECT_FALSE(s->granted("192.0.2.1", collect()));
  EXPECT_TRUE(records_.empty());
}

TEST_F(DracStoreTest, AnotherAddRenewsTheGrant) {
  auto s = store();
  ASSERT_TRUE(s->add("2001:db8::7", collect()).ok());
  clock_->advance(seconds(1000));
  ASSERT_TRUE(s->add("2001:DB8:0::7", collect()).ok());
  clock_->advance(seconds(1000));
  EXPECT_TRUE(s->granted("2001:db8::7", collect()));
}

TEST_F(DracStoreTest, RefusesWhatIsNotAnAddress) {
  auto s = store();
  EXPECT_FALSE(s->add("../x", collect()).ok());
  EXPECT_FALSE(s->add("mail.example.com", collect()).ok());
  EXPECT_FALSE(s->granted("../x", collect()));
  EXPECT_FALSE(std::filesystem::exists(root_ + "/x"));
}

TEST_F(DracStoreTest, ListsAndExpires) {
  auto s = store();
  ASSERT_TRUE(s->add("192.0.2.9", collect()).ok());
  clock_->advance(seconds(1000));
  ASSERT_TRUE(s->add("192.0.2.1", collect()).ok());
  std::ofstream(root_ + "/drac/README") << "not a grant\n";
  std::ofstream(root_ + "/drac/192.0.2.5") << "garbage\n";
  clock_->advance(seconds(900));
  auto grants = s->list();
  ASSERT_TRUE(grants.ok());
  ASSERT_EQ(grants->size(), 2u);
  EXPECT_EQ((*grants)[0].address, "192.0.2.1");
  EXPECT_TRUE((*grants)[0].active);
  EXPECT_EQ((*grants)[1].address, "192.0.2.9");
  EXPECT_FALSE((*grants)[1].active);
  auto removed = s->expire();
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 2u);  // the expired grant and the unreadable one
  EXPECT_TRUE(std::filesystem::exists(root_ + "/drac/192.0.2.1"));
  EXPECT_FALSE(std::filesystem::exists(root_ + "/drac/192.0.2.9"));
  EXPECT_TRUE(std::filesystem::exists(root_ + "/drac/README"));
}

TEST_F(DracStoreTest, NoDirectoryMeansNoGrants) {
  auto s = store();
  EXPECT_FALSE(s->granted("192.0.2.1", collect()));
  EXPECT_TRUE(s->list().ok());
  EXPECT_EQ(*s->expire(), 0u);
}

TEST_F(DracStoreTest, RedisDownFallsBackToTheDirectoryWithOneWarning) {
  // Port 1 on loopback: nothing listens there (connect is refused at once).
  auto s = store("127.0.0.1:1");
  EXPECT_TRUE(s->remote());
  ASSERT_TRUE(s->add("192.0.2.1", collect()).ok());
  ASSERT_EQ(records_.size(), 1u);
  EXPECT_TRUE(records_[0].starts_with("warning: DRAC grant not shared")) << records_[0];
  records_.clear();
  EXPECT_TRUE(s->granted("192.0.2.1", collect()));
  EXPECT_FALSE(s->granted("192.0.2.2", collect()));
  EXPECT_TRUE(s->granted("192.0.2.1", collect()));
  EXPECT_TRUE(records_.empty()) << records_[0];  // already known to be down: no new warning
}

TEST(DracStoreCreate, RefusesABadRedisServer) {
  DracOptions options;
  options.directory = "/nonexistent";
  options.redis_server = "127.0.0.1:notaport";
  EXPECT_FALSE(DracStore::create(options, std::make_shared<SystemClock>()).ok());
}

}  // namespace
}  // namespace estafeta::daemon
