// Tests of the restrictions' DNS answer cache (dns_answer_cache.h).
#include "policy/dns_answer_cache.h"

#include <gtest/gtest.h>

#include <string>

namespace estafeta::policy {
namespace {

using std::chrono::seconds;
using Clock = DnsAnswerCache::Clock;

const Clock::time_point kStart{seconds(1000)};

DnsAnswer listed(const std::string& address) {
  DnsAnswer answer;
  answer.status = DnsAnswer::Status::Ok;
  answer.values = {address};
  return answer;
}

DnsAnswer with_status(DnsAnswer::Status status) {
  DnsAnswer answer;
  answer.status = status;
  answer.reason = "Host not found";
  return answer;
}

TEST(DnsAnswerCache, KeepsAnAnswerUntilItsTtlRunsOut) {
  DnsAnswerCache cache;
  EXPECT_FALSE(cache.find(DnsType::A, "2.0.0.127.zone.test", kStart));
  cache.store(DnsType::A, "2.0.0.127.zone.test", listed("127.0.0.2"), 300, kStart);
  auto hit = cache.find(DnsType::A, "2.0.0.127.zone.test", kStart + seconds(299));
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->status, DnsAnswer::Status::Ok);
  EXPECT_EQ(hit->values, std::vector<std::string>{"127.0.0.2"});
  EXPECT_FALSE(cache.find(DnsType::A, "2.0.0.127.zone.test", kStart + seconds(300)));
  EXPECT_EQ(cache.size(), 0u);  // the expired entry was dropped
}

TEST(DnsAnswerCache, NegativeAnswersAreKeptToo) {
  DnsAnswerCache cache;
  cache.store(DnsType::A, "1.0.0.127.zone.test", with_status(DnsAnswer::Status::NotFound), 60,
              kStart);
  cache.store(DnsType::MX, "example.test", with_status(DnsAnswer::Status::NoData), 60, kStart);
  auto nx = cache.find(DnsType::A, "1.0.0.127.zone.test", kStart + seconds(10));
  ASSERT_TRUE(nx);
  EXPECT_EQ(nx->status, DnsAnswer::Status::NotFound);
  EXPECT_EQ(nx->reason, "Host not found");
  ASSERT_TRUE(cache.find(DnsType::MX, "example.test", kStart));
  EXPECT_EQ(cache.find(DnsType::MX, "example.test", kStart)->status, DnsAnswer::Status::NoData);
}

TEST(DnsAnswerCache, TheLifetimeIsCappedAtAnHour) {
  DnsAnswerCache cache;
  cache.store(DnsType::TXT, "2.0.0.127.zone.test", listed("listed"), 86400, kStart);
  EXPECT_TRUE(cache.find(DnsType::TXT, "2.0.0.127.zone.test", kStart + seconds(3599)));
  EXPECT_FALSE(cache.find(DnsType::TXT, "2.0.0.127.zone.test", kStart + seconds(3600)));
}

TEST(DnsAnswerCache, TemporaryFailuresAndZeroTtlsAreNeverKept) {
  DnsAnswerCache cache;
  cache.store(DnsType::A, "a.test", with_status(DnsAnswer::Status::TempFail), 300, kStart);
  cache.store(DnsType::A, "b.test", listed("127.0.0.2"), 0, kStart);
  EXPECT_FALSE(cache.find(DnsType::A, "a.test", kStart));
  EXPECT_FALSE(cache.find(DnsType::A, "b.test", kStart));
  EXPECT_EQ(cache.size(), 0u);
}

TEST(DnsAnswerCache, NamesAreCaseInsensitiveAndTypesApart) {
  DnsAnswerCache cache;
  cache.store(DnsType::A, "Host.Example.TEST", listed("192.0.2.1"), 300, kStart);
  EXPECT_TRUE(cache.find(DnsType::A, "host.example.test", kStart));
  EXPECT_TRUE(cache.find(DnsType::A, "HOST.EXAMPLE.TEST", kStart));
  EXPECT_FALSE(cache.find(DnsType::Address, "host.example.test", kStart));
  EXPECT_FALSE(cache.find(DnsType::MX, "host.example.test", kStart));
  // A new answer for the same query replaces the old one.
  cache.store(DnsType::A, "HOST.example.test", listed("192.0.2.9"), 300, kStart);
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.find(DnsType::A, "host.example.test", kStart)->values.at(0), "192.0.2.9");
}

TEST(DnsAnswerCache, AFullCacheEvictsAnExpiredEntryFirstThenTheOldest) {
  DnsAnswerCache cache(3);
  cache.store(DnsType::A, "old.test", listed("192.0.2.1"), 600, kStart);
  cache.store(DnsType::A, "short.test", listed("192.0.2.2"), 10, kStart + seconds(1));
  cache.store(DnsType::A, "new.test", listed("192.0.2.3"), 600, kStart + seconds(2));
  // short.test has expired: it goes, although old.test is older.
  cache.store(DnsType::A, "fourth.test", listed("192.0.2.4"), 600, kStart + seconds(20));
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_TRUE(cache.find(DnsType::A, "old.test", kStart + seconds(20)));
  EXPECT_FALSE(cache.find(DnsType::A, "short.test", kStart + seconds(20)));
  // Nothing expired: the oldest stored goes.
  cache.store(DnsType::A, "fifth.test", listed("192.0.2.5"), 600, kStart + seconds(21));
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_FALSE(cache.find(DnsType::A, "old.test", kStart + seconds(21)));
  EXPECT_TRUE(cache.find(DnsType::A, "new.test", kStart + seconds(21)));
  EXPECT_TRUE(cache.find(DnsType::A, "fourth.test", kStart + seconds(21)));
  EXPECT_TRUE(cache.find(DnsType::A, "fifth.test", kStart + seconds(21)));
}

}  // namespace
}  // namespace estafeta::policy
