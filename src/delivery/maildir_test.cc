// Maildir writer tests: file names, CRLF -> LF with Return-Path/Delivered-To, delivery into
// a temporary Maildir created on demand with the right modes, and idempotent redelivery.
#include "delivery/maildir.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <thread>
#include <vector>

#include "queue/test_util.h"

namespace estafeta::delivery {
namespace {

using queue::testing::list_names;
using queue::testing::read_file;
using queue::testing::TempDir;

TEST(Maildir, FileName) {
  EXPECT_EQ(maildir_file_name(1700000000, "ABC123", 2, "mx.example.org"),
            "1700000000.QABC123R2.mx.example.org");
  EXPECT_EQ(maildir_file_name(1, "A", 0, "odd/host:name"), "1.QAR0.odd\\057host\\072name");
}

TEST(Maildir, MessageConversionTable) {
  struct Case {
    std::string content;
    std::string body;  // after the prepended lines
  };
  const std::vector<Case> cases = {
      {"", ""},
      {"a\r\nb\r\n", "a\nb\n"},
      {"Subject: x\r\n\r\nbody\r\n", "Subject: x\n\nbody\n"},
      {"no newline at end", "no newline at end"},
      {"bare\rcr\r\n", "bare\rcr\n"},
      {"\r\n\r\n", "\n\n"},
      {"split \r", "split \r"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(
        maildir_message("s@x", "r@localhost", c.content),
        "Return-Path: <s@x>\nX-Original-To: r@localhost\nDelivered-To: r@localhost\n" + c.body)
        << c.content;
  }
  EXPECT_EQ(maildir_message("", "r@l", "x\r\n"),
            "Return-Path: <>\nX-Original-To: r@l\nDelivered-To: r@l\nx\n");
}

// X-Original-To: the address the queue file keeps as the recipient's rfc822 ORCPT (the one
// the client gave, before virtual aliasing or canonical rewriting), else the recipient.
TEST(Maildir, DeliveryPrefixNamesTheOriginalRecipient) {
  struct Case {
    std::string_view orcpt, original;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"rfc822;alias@example.org", "alias@example.org"},
           {"RFC822;Alias@example.org", "Alias@example.org"},
           {"", "user@localhost"},
           {"rfc822;", "user@localhost"},
           {"x400;c=us", "user@localhost"},
           {"rfc822;a\r\nX-Evil: 1", "user@localhost"},
       }) {
    EXPECT_EQ(delivery_prefix("s@x", "user@localhost", c.orcpt),
              "Return-Path: <s@x>\nX-Original-To: " + std::string(c.original) +
                  "\nDelivered-To: user@localhost\n")
        << c.orcpt;
  }
  EXPECT_EQ(maildir_message("s@x", "u@l", "b\r\n", "rfc822;o@l"),
            "Return-Path: <s@x>\nX-Original-To: o@l\nDelivered-To: u@l\nb\n");
}

TEST(Maildir, DeliversAndCreatesDirectories) {
  TempDir tmp;
  queue::GroupSync syncs;
  const std::string maildir = tmp.path() + "/mail/bob/Maildir";
  auto r = deliver_to_maildir(maildir, "1.QAR0.h", "hello\n", syncs);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, MaildirOutcome::Delivered);
  EXPECT_EQ(read_file(maildir + "/new/1.QAR0.h"), "hello\n");
  EXPECT_TRUE(list_names(maildir + "/tmp").empty());
  for (const char* sub : {"", "/tmp", "/new", "/cur"}) {
    struct stat st {};
    ASSERT_EQ(::stat((maildir + sub).c_str(), &st), 0) << sub;
    EXPECT_EQ(st.st_mode & 0777, 0700u) << sub;
  }
  struct stat st {};
  ASSERT_EQ(::stat((maildir + "/new/1.QAR0.h").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

// Regression: the first deliveries into a new Maildir ran concurrently; one created tmp/,
// another wrote into it and found no new/ yet (ENOENT) and the message waited for a rescan.
TEST(Maildir, ConcurrentFirstDeliveriesAllLand) {
  for (int round = 0; round < 20; ++round) {
    TempDir tmp;
    queue::GroupSync syncs;
    const std::string maildir = tmp.path() + "/mail/carol/Maildir";
    constexpr int kThreads = 8;
    std::vector<std::thread> threads;
    std::atomic<int> delivered{0};
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        auto r = deliver_to_maildir(maildir, "1.QAR" + std::to_string(i) + ".h", "x\n", syncs);
        if (r.ok() && *r == MaildirOutcome::Delivered) ++delivered;
      });
    }
    for (auto& t : threads) t.join();
    ASSERT_EQ(delivered.load(), kThreads) << "round " << round;
    EXPECT_EQ(list_names(maildir + "/new").size(), size_t(kThreads));
  }
}

TEST(Maildir, SecondDeliveryOfTheSameNameIsAbsorbed) {
  TempDir tmp;
  queue::GroupSync syncs;
  const std::string maildir = tmp.path() + "/Maildir";
  ASSERT_TRUE(deliver_to_maildir(maildir, "n", "first\n", syncs).ok());
  auto r = deliver_to_maildir(maildir, "n", "first\n", syncs);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, MaildirOutcome::AlreadyDelivered);
  EXPECT_EQ(list_names(maildir + "/new"), std::vector<std::string>{"n"});
  EXPECT_TRUE(list_names(maildir + "/tmp").empty());
}

TEST(Maildir, UnwritableSpoolIsAnError) {
  queue::GroupSync syncs;
  auto r = deliver_to_maildir("/proc/estafeta-no-such/Maildir", "n", "x", syncs);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().code, 0) << r.error().message;  // the errno, for the dsn (4.2.2, ...)
}

}  // namespace
}  // namespace estafeta::delivery
