// The Maildir worker's batch path (task_child.h run_maildir_task with a publishers pool):
// every copy of a large batch, across the written-ahead chunks, gets its own bytes and its
// own result, whatever its neighbours did (outside the message, a blocked Maildir, a name
// already in new/, a failing rename); nothing is left in tmp/. And MaildirTmpFile's halves.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "delivery/maildir.h"
#include "delivery/task_child.h"
#include "delivery/task_threads.h"
#include "queue/group_sync.h"
#include "queue/test_util.h"

namespace estafeta::delivery {
namespace {

using queue::testing::list_names;
using queue::testing::read_file;
using queue::testing::TempDir;

int message_fd(const std::string& bytes) {
  const int fd = ::memfd_create("maildir-batch-test", MFD_CLOEXEC);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  return fd;
}

TEST(MaildirBatch, EachCopyOfALargeMixedBatchGetsItsOwnBytesAndResult) {
  TempDir tmp;
  const std::string base = tmp.path();
  // A Maildir whose path is blocked by a plain file: its copies cannot be written.
  std::ofstream(base + "/blocked") << "not a directory";
  // A Maildir whose new/ is a plain file: its copies are written but cannot be renamed.
  ASSERT_TRUE(link_into_maildir(base + "/norename", "seed", "x").ok());
  for (const std::string& name : list_names(base + "/norename/new")) {
    ::unlink((base + "/norename/new/" + name).c_str());
  }
  ASSERT_EQ(::rmdir((base + "/norename/new").c_str()), 0);
  std::ofstream(base + "/norename/new") << "not a directory";
  // A name already delivered: AlreadyDelivered, its first content kept.
  ASSERT_TRUE(link_into_maildir(base + "/m1", "taken", "first delivery\n").ok());

  constexpr size_t kCopies = 150;  // more than two chunks of copies written ahead
  enum class Expect { Delivered, Already, Deferred };
  DeliveryTask task;
  task.kind = TaskKind::MaildirBatch;
  std::string bytes;
  std::vector<Expect> expect;
  std::vector<std::string> contents;
  for (size_t i = 0; i < kCopies; ++i) {
    const std::string content = "copy " + std::to_string(i) + "\n" + std::string(i * 37, 'z');
    MaildirCopy c;
    c.maildir_name = "n" + std::to_string(i);
    c.offset = bytes.size();
    c.length = content.size();
    Expect e = Expect::Delivered;
    switch (i % 7) {
      case 0: c.path = base + "/m1/"; break;
      case 1: c.path = base + "/m2/"; break;
      case 2: c.path = base + "/blocked/Maildir/"; e = Expect::Deferred; break;
      case 3: c.path = base + "/m3/"; break;
      case 4: c.path = base + "/norename/"; e = Expect::Deferred; break;
      case 5:
        c.path = base + "/m2/";
        c.length = 1 << 30;  // outside the message
        e = Expect::Deferred;
        break;
      default: c.path = base + "/m1/"; break;
    }
    if (i == 77) {
      c.path = base + "/m1/";
      c.maildir_name = "taken";
      e = Expect::Already;
    }
    bytes += content;
    contents.push_back(content);
    expect.push_back(e);
    task.copies.push_back(std::move(c));
  }

  queue::GroupSync syncs;
  TaskThreads publishers(4);
  const int fd = message_fd(bytes);
  const TaskResult r = run_maildir_task(task, fd, syncs, &publishers);
  ::close(fd);
  ASSERT_EQ(r.parts.size(), kCopies) << r.text;
  for (size_t i = 0; i < kCopies; ++i) {
    const MaildirCopy& c = task.copies[i];
    const TaskResult& part = r.parts[i];
    switch (expect[i]) {
      case Expect::Delivered:
        EXPECT_EQ(part.status, TaskStatus::Delivered) << i << ": " << part.text;
        EXPECT_EQ(read_file(c.path + "new/" + c.maildir_name), contents[i]) << i;
        break;
      case Expect::Already:
        EXPECT_EQ(part.status, TaskStatus::AlreadyDelivered) << i << ": " << part.text;
        EXPECT_EQ(read_file(c.path + "new/" + c.maildir_name), "first delivery\n");
        break;
      case Expect::Deferred:
        EXPECT_EQ(part.status, TaskStatus::Deferred) << i << ": " << part.text;
        break;
    }
  }
  for (const char* dir : {"/m1", "/m2", "/m3", "/norename"}) {
    EXPECT_TRUE(list_names(base + dir + "/tmp").empty()) << dir;
  }
  // 150 copies: 7 groups; m1 has groups 0 and 6 (the taken name replaces copy 77's).
  EXPECT_EQ(list_names(base + "/m2/new").size(), (kCopies + 5) / 7);
  EXPECT_EQ(list_names(base + "/m3/new").size(), (kCopies + 3) / 7);
}

TEST(MaildirTmpFile, DroppedUnpublishedLeavesNothing) {
  TempDir tmp;
  const std::string maildir = tmp.path() + "/Maildir";
  {
    auto file = write_maildir_tmp(maildir, "n", "hello\n", /*start_writeback=*/true);
    ASSERT_TRUE(file.ok()) << file.error().message;
    EXPECT_EQ(list_names(maildir + "/tmp"), std::vector<std::string>{"n"});
  }
  EXPECT_TRUE(list_names(maildir + "/tmp").empty());
  EXPECT_TRUE(list_names(maildir + "/new").empty());
}

TEST(MaildirTmpFile, PublishMovesTheWholeFileIntoNewOnce) {
  TempDir tmp;
  const std::string maildir = tmp.path() + "/Maildir";
  auto file = write_maildir_tmp(maildir, "n", "hello\n", /*start_writeback=*/true);
  ASSERT_TRUE(file.ok());
  auto first = file->publish();
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(*first, MaildirOutcome::Delivered);
  EXPECT_EQ(read_file(maildir + "/new/n"), "hello\n");
  // A second attempt of the same delivery (a retry after a crash) finds the name taken.
  {
    auto again = write_maildir_tmp(maildir, "n", "other\n", /*start_writeback=*/false);
    ASSERT_TRUE(again.ok());
    auto second = again->publish();
    ASSERT_TRUE(second.ok());
    EXPECT_EQ(*second, MaildirOutcome::AlreadyDelivered);
  }  // dropped: its tmp/ file goes
  EXPECT_EQ(read_file(maildir + "/new/n"), "hello\n");
  EXPECT_TRUE(list_names(maildir + "/tmp").empty());
}

}  // namespace
}  // namespace estafeta::delivery
