// The privileged spawner end to end: real children, real files, in temporary directories.
// As root, tasks run as nobody (65534) and ownership is checked with stat; as another user,
// tasks run as that user (and tasks for anybody else are refused). Root-only cases skip
// themselves otherwise.
#include "delivery/privileged_delivery.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "delivery/fd_passing.h"
#include "delivery/maildir_worker.h"
#include "delivery/mbox_format.h"
#include "delivery/mbox_journal.h"
#include "delivery/spawner.h"
#include "queue/record.h"

namespace estafeta::delivery {
namespace {

namespace fs = std::filesystem;

constexpr uid_t kNobody = 65534;
constexpr gid_t kNogroup = 65534;

bool is_root() { return ::geteuid() == 0; }

// Who the tasks run as: nobody when the test is root, else the test's own user.
Credentials runner() {
  if (is_root()) return {kNobody, kNogroup, {kNogroup}, "nobody", "/nonexistent"};
  return {::getuid(), ::getgid(), {}, "me", "/"};
}

// A sealed memfd holding `content`; the caller closes it.
int message_fd(const std::string& content) {
  int fd = ::memfd_create("message", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
  EXPECT_EQ(::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL), 0);
  return fd;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct stat stat_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st;
}

class PrivilegedDeliveryTest : public testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/estafeta-privileged-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    ::chmod(root_.c_str(), 0755);
    dir_ = root_ + "/home";  // owned by the runner
    ASSERT_EQ(::mkdir(dir_.c_str(), 0755), 0);
    if (is_root()) {
      ASSERT_EQ(::chown(dir_.c_str(), kNobody, kNogroup), 0);
    }
    ::setenv("ESTAFETA_LEAK", "inherited", 1);  // the spawner has it; a command must not
    auto started = PrivilegedDelivery::start();
    ASSERT_TRUE(started.ok()) << started.error().message;
    spawner_ = std::move(*started);
    EXPECT_EQ(spawner_->privileged(), is_root());
  }

  void TearDown() override {
    spawner_.reset();
    fs::remove_all(root_);
  }

  // Replaces the spawner by one started with `policy`.
  void restart(TaskPolicy policy) {
    spawner_.reset();
    auto started = PrivilegedDelivery::start(std::move(policy));
    ASSERT_TRUE(started.ok()) << started.error().message;
    spawner_ = std::move(*started);
  }

  DeliveryTask task(TaskKind kind, std::string path) {
    DeliveryTask t;
    t.kind = kind;
    t.as = runner();
    t.path = std::move(path);
    return t;
  }

  TaskResult run(const DeliveryTask& t, const std::string& message) {
    int fd = message_fd(message);
    TaskResult r = spawner_->run(t, fd);
    ::close(fd);
    return r;
  }

  std::string root_, dir_;
  std::unique_ptr<PrivilegedDelivery> spawner_;
};

TEST_F(PrivilegedDeliveryTest, MaildirFileBelongsToTheRecipient) {
  DeliveryTask t = task(TaskKind::Maildir, dir_ + "/Maildir/");
  t.maildir_name = "1700000000.QABCR0.host";
  const std::string message = "Return-Path: <a@b>\nSubject: x\n\nbody\n";
  TaskResult r = run(t, message);
  ASSERT_EQ(r.status, TaskStatus::Delivered) << r.text;
  EXPECT_EQ(r.dsn, "2.0.0");
  const std::string file = dir_ + "/Maildir/new/" + t.maildir_name;
  EXPECT_EQ(slurp(file), message);
  struct stat st = stat_of(file);
  EXPECT_EQ(st.st_uid, runner().uid);
  EXPECT_EQ(st.st_gid, runner().gid);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  for (const char* sub : {"", "/new", "/tmp", "/cur"}) {
    struct stat d = stat_of(dir_ + "/Maildir" + sub);
    EXPECT_EQ(d.st_uid, runner().uid) << sub;
    EXPECT_EQ(d.st_mode & 07777, 0700u) << sub;
  }
  // The same name again: already there, not a second copy.
  r = run(t, message);
  EXPECT_EQ(r.status, TaskStatus::AlreadyDelivered) << r.text;
}

TEST_F(PrivilegedDeliveryTest, MaildirBatchWritesEveryCopyWithAResultEach) {
  DeliveryTask t = task(TaskKind::MaildirBatch, "");
  const std::string one = "Delivered-To: a@x\n\none\n", two = "Delivered-To: b@x\n\ntwo\n";
  // Copy 2 goes where a plain file blocks the Maildir: deferred alone.
  std::ofstream(dir_ + "/blocked") << "not a directory";
  t.copies = {{dir_ + "/a/Maildir/", "1.QR0.host", 0, one.size()},
              {dir_ + "/b/Maildir/", "1.QR1.host", one.size(), two.size()},
              {dir_ + "/blocked/Maildir/", "1.QR2.host", 0, one.size()},
              {dir_ + "/a/Maildir/", "1.QR3.host", one.size(), two.size()}};
  TaskResult r = run(t, one + two);
  ASSERT_EQ(r.parts.size(), 4u) << r.text;
  EXPECT_EQ(r.parts[0].status, TaskStatus::Delivered) << r.parts[0].text;
  EXPECT_EQ(r.parts[1].status, TaskStatus::Delivered) << r.parts[1].text;
  EXPECT_EQ(r.parts[2].status, TaskStatus::Deferred);
  EXPECT_EQ(r.parts[3].status, TaskStatus::Delivered) << r.parts[3].text;
  EXPECT_EQ(r.parts[0].text, "delivered to maildir");
  EXPECT_EQ(slurp(dir_ + "/a/Maildir/new/1.QR0.host"), one);
  EXPECT_EQ(slurp(dir_ + "/b/Maildir/new/1.QR1.host"), two);
  EXPECT_EQ(slurp(dir_ + "/a/Maildir/new/1.QR3.host"), two);
  EXPECT_EQ(stat_of(dir_ + "/a/Maildir/new/1.QR0.host").st_uid, runner().uid);
  // Again: the names are taken.
  r = run(t, one + two);
  ASSERT_EQ(r.parts.size(), 4u);
  EXPECT_EQ(r.parts[0].status, TaskStatus::AlreadyDelivered);
  // A copy outside the message is refused per copy, not for the batch.
  t.copies = {{dir_ + "/a/Maildir/", "1.QR4.host", 0, 1000}};
  r = run(t, one);
  ASSERT_EQ(r.parts.size(), 1u);
  EXPECT_EQ(r.parts[0].status, TaskStatus::Deferred);
  // An invalid batch is refused whole, without parts.
  t.copies = {{"relative/", "x", 0, 1}};
  r = run(t, one);
  EXPECT_EQ(r.status, TaskStatus::Deferred);
  EXPECT_TRUE(r.parts.empty());
}

TEST_F(PrivilegedDeliveryTest, MaildirCopiesAreSaidToBePublishedOnceInNewBeforeTheResult) {
  DeliveryTask t = task(TaskKind::MaildirBatch, "");
  const std::string one = "Delivered-To: a@x\n\none\n", two = "Delivered-To: b@x\n\ntwo\n";
  t.copies = {{dir_ + "/a/Maildir/", "2.QR0.host", 0, one.size()},
              {dir_ + "/b/Maildir/", "2.QR1.host", one.size(), two.size()}};
  int told = 0;
  bool in_new_when_told = false;
  const std::vector<TaskResult> results = spawner_->run_maildir_copies(t, one + two, [&] {
    ++told;
    in_new_when_told = fs::exists(dir_ + "/a/Maildir/new/2.QR0.host") &&
                       fs::exists(dir_ + "/b/Maildir/new/2.QR1.host");
  });
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].status, TaskStatus::Delivered) << results[0].text;
  EXPECT_EQ(results[1].status, TaskStatus::Delivered) << results[1].text;
  EXPECT_EQ(told, 1);
  EXPECT_TRUE(in_new_when_told);
  // Without a listener the reply in two steps is still one result per copy.
  t.copies = {{dir_ + "/a/Maildir/", "2.QR2.host", 0, one.size()}};
  const std::vector<TaskResult> again = spawner_->run_maildir_copies(t, one);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].status, TaskStatus::Delivered) << again[0].text;
}

TEST_F(PrivilegedDeliveryTest, MboxAppendsQuotedMessagesOwnedByTheRecipient) {
  DeliveryTask t = task(TaskKind::Mbox, dir_ + "/mbox");
  t.sender = "bob@example.org";
  t.arrival_sec = 1700000000;
  t.mbox_locks =
      unsigned(MboxLock::Fcntl) | unsigned(MboxLock::Dotlock) | unsigned(MboxLock::Flock);
  ASSERT_EQ(run(t, "Subject: one\n\nFrom here\n").status, TaskStatus::Delivered);
  t.sender = "MAILER-DAEMON";
  TaskResult r = run(t, "Subject: two\n\nno newline");
  ASSERT_EQ(r.status, TaskStatus::Delivered) << r.text;
  EXPECT_EQ(r.text, "delivered to mailbox");
  std::tm when{};
  const time_t arrival = 1700000000;
  ::localtime_r(&arrival, &when);
  std::string expected = mbox_from_line("bob@example.org", when) +
                         "Subject: one\n\n>From here\n\n" + mbox_from_line("MAILER-DAEMON", when) +
                         "Subject: two\n\nno newline\n\n";
  EXPECT_EQ(slurp(t.path), expected);
  struct stat st = stat_of(t.path);
  EXPECT_EQ(st.st_uid, runner().uid);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_FALSE(fs::exists(t.path + ".lock"));  // the dot-lock is gone
}

TEST_F(PrivilegedDeliveryTest, MboxRefusesSymlinksAndHardLinks) {
  const std::string target = dir_ + "/target";
  { std::ofstream(target) << "x"; }
  if (is_root()) {
    ASSERT_EQ(::chown(target.c_str(), kNobody, kNogroup), 0);
  }
  ASSERT_EQ(::symlink(target.c_str(), (dir_ + "/link").c_str()), 0);
  TaskResult r = run(task(TaskKind::Mbox, dir_ + "/link"), "m\n");
  EXPECT_EQ(r.status, TaskStatus::Deferred);
  EXPECT_EQ(r.dsn, "4.2.0");
  ASSERT_EQ(::link(target.c_str(), (dir_ + "/hard").c_str()), 0);
  r = run(task(TaskKind::Mbox, dir_ + "/hard"), "m\n");
  EXPECT_EQ(r.status, TaskStatus::Deferred) << r.text;
  EXPECT_EQ(slurp(target), "x");
}

TEST_F(PrivilegedDeliveryTest, MboxWriteFailureTruncatesBackToTheOldSize) {
  DeliveryTask t = task(TaskKind::Mbox, dir_ + "/mbox");
  t.file_size_limit = 4096;  // RLIMIT_FSIZE of the child: a bigger write fails with EFBIG
  ASSERT_EQ(run(t, "Subject: small\n\nhello\n").status, TaskStatus::Delivered);
  const std::string before = slurp(t.path);
  TaskResult r = run(t, "Subject: big\n\n" + std::string(10000, 'x') + "\n");
  EXPECT_EQ(r.status, TaskStatus::Deferred);
  EXPECT_EQ(r.dsn, "4.2.2") << r.text;
  EXPECT_EQ(r.error_code, EFBIG);
  EXPECT_EQ(slurp(t.path), before);  // no partial message
}

TEST_F(PrivilegedDeliveryTest, DotlockHeldByAnotherDefersAfterTheAttempts) {
  DeliveryTask t = task(TaskKind::Mbox, dir_ + "/mbox");
  t.mbox_locks = unsigned(MboxLock::Dotlock);
  t.lock_attempts = 2;
  t.lock_delay_seconds = 1;
  { std::ofstream(t.path + ".lock") << "held"; }
  const auto start = std::chrono::steady_clock::now();
  TaskResult r = run(t, "m\n");
  EXPECT_EQ(r.status, TaskStatus::Deferred);
  EXPECT_EQ(r.dsn, "4.2.0");
  EXPECT_NE(r.text.find("lock"), std::string::npos) << r.text;
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(900));
  EXPECT_TRUE(fs::exists(t.path + ".lock"));  // someone else's: left alone
  EXPECT_FALSE(fs::exists(t.path) && fs::file_size(t.path) > 0);
  // The same lock, now stale: removed and the delivery goes through.
  const timeval old[2] = {{1000000000, 0}, {1000000000, 0}};
  ASSERT_EQ(::utimes((t.path + ".lock").c_str(), old), 0);
  r = run(t, "m\n");
  EXPECT_EQ(r.status, TaskStatus::Delivered) << r.text;
  EXPECT_FALSE(fs::exists(t.path + ".lock"));
}

// A dead holder's dot-lock journal (delivery/mbox_journal.h), written as a delivery killed
// in the middle of its append leaves it.
void leave_dead_holders_lock(const DeliveryTask& t, const MboxJournal& journal) {
  { std::ofstream(t.path + ".lock") << encode_mbox_journal(journal); }
  if (is_root()) {
    ASSERT_EQ(::chown((t.path + ".lock").c_str(), t.as.uid, t.as.gid), 0);
  }
}

std::string this_boot() {
  std::string id = slurp("/proc/sys/kernel/random/boot_id");
  while (!id.empty() && id.back() == '\n') id.pop_back();
  return id;
}

// A pid that is surely not running: a child that has exited and been reaped.
pid_t dead_pid() {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  ::waitpid(pid, nullptr, 0);
  return pid;
}

TEST_F(PrivilegedDeliveryTest, InterruptedAppendIsCutBackByTheNextDelivery) {
  DeliveryTask t = task(TaskKind::Mbox, dir_ + "/mbox");
  t.mbox_locks = unsigned(MboxLock::Dotlock) | unsigned(MboxLock::Fcntl);
  t.lock_attempts = 1;
  ASSERT_EQ(run(t, "Subject: first\n\nbody\n").status, TaskStatus::Delivered);
  const std::string before = slurp(t.path);
  // A delivery killed half way: its journal says where it began and how long it was.
  { std::ofstream(t.path, std::ios::app) << "From killed@example Mon Jan  1 00:00:00 2024\nSubj"; }
  leave_dead_holders_lock(t, {this_boot(), dead_pid(), before.size(), 4000});
  TaskResult r = run(t, "Subject: second\n\nbody\n");
  ASSERT_EQ(r.status, TaskStatus::Delivered) << r.text;
  const std::string after = slurp(t.path);
  EXPECT_EQ(after.substr(0, before.size()), before);
  EXPECT_EQ(after.find("killed@example"), std::string::npos) << after;
  EXPECT_NE(after.find("Subject: second"), std::string::npos);
  EXPECT_FALSE(fs::exists(t.path + ".lock"));

  // In the same boot a complete but unreported append goes too (it is made again); after
  // a reboot a complete one stays (it may have been reported).
  const std::string two = slurp(t.path);
  const std::string whole = "From again@example Mon Jan  1 00:00:00 2024\nSubject: x\n\n";
  { std::ofstream(t.path, std::ios::app) << whole; }
  leave_dead_holders_lock(t, {this_boot(), dead_pid(), two.size(), whole.size()});
  ASSERT_EQ(run(t, "Subject: third\n\nbody\n").status, TaskStatus::Delivered);
  EXPECT_EQ(slurp(t.path).find("again@example"), std::string::npos);
  const std::string three = slurp(t.path);
  { std::ofstream(t.path, std::ios::app) << whole; }
  leave_dead_holders_lock(
      t, {"00000000-0000-0000-0000-000000000000", ::getpid(), three.size(), whole.size()});
  ASSERT_EQ(run(t, "Subject: fourth\n\nbody\n").status, TaskStatus::Delivered);
  EXPECT_NE(slurp(t.path).find("again@example"), std::string::npos);
}

// After a restart the same delivery may come again after its append was made but not
// reported: with check_already_delivered it finds its bytes there and appends nothing.
TEST_F(PrivilegedDeliveryTest, RepeatedDeliveryAfterARestartFindsItselfThere) {
  DeliveryTask t = task(TaskKind::Mbox, dir_ + "/mbox");
  t.sender = "a@example.org";
  t.arrival_sec = 1700000000;
  ASSERT_EQ(run(t, "Subject: one\n\nbody\n").status, TaskStatus::Delivered);
  ASSERT_EQ(run(t, "Subject: two\n\nbody\n").status, TaskStatus::Delivered);
  const std::string before = slurp(t.path);
  t.check_already_delivered = true;
  TaskResult r = run(t, "Subject: one\n\nbody\n");
  EXPECT_EQ(r.status, TaskStatus::AlreadyDelivered) << r.text;
  EXPECT_EQ(slurp(t.path), before);
  // Another message, or one that begins as a delivered one, is appended as usual.
  EXPECT_EQ(run(t, "Subject: three\n\nbody\n").status, TaskStatus::Delivered);
  EXPECT_EQ(run(t, "Subject: one\n\nbody\nmore\n").status, TaskStatus::Delivered);
}

// A holder killed while writing its journal over a longer line (the new line written, the
// file not yet cut to it) left the old line's tail behind: still its journal, taken over.
TEST_F(PrivilegedDeliveryTest, JournalWithAnOldLinesTailIsTakenOver) {
  DeliveryTask t = task(TaskKind::Mbox, dir_ + "/mbox");
  t.mbox_locks = unsigned(MboxLock::Dotlock);
  t.lock_attempts = 1;
  ASSERT_EQ(run(t, "Subject: first\n\nbody\n").status, TaskStatus::Delivered);
  const std::string before = slurp(t.path);
  { std::ofstream(t.path, std::ios::app) << "From killed@example Mon Jan  1 00:00:00 2024\nSu"; }
  leave_dead_holders_lock(t, {this_boot(), dead_pid(), before.size(), 4000});
  { std::ofstream(t.path + ".lock", std::ios::app) << "1048576 2301\n"; }
  TaskResult r = run(t, "Subject: second\n\nbody\n");
  ASSERT_EQ(r.status, TaskStatus::Delivered) << r.text;
  EXPECT_EQ(slurp(t.path).find("killed@example"), std::string::npos);
  EXPECT_FALSE(fs::exists(t.path + ".lock"));
}

// A live holder keeps a write lock on its lock file: even when the lock looks stale (older
// than stale_lock_time), it is not taken over while that lock is held.
TEST_F(PrivilegedDeliveryTest, AnOldLockOfALiveHolderIsNotTakenOver) {
  DeliveryTask t = task(TaskKind::Mbox, dir_ + "/mbox");
  t.mbox_locks = unsigned(MboxLock::Dotlock);
  t.lock_attempts = 1;
  leave_dead_holders_lock(t, {this_boot(), ::getpid(), std::nullopt, 0});
  const timeval old[2] = {{1000000000, 0}, {1000000000, 0}};
  ASSERT_EQ(::utimes((t.path + ".lock").c_str(), old), 0);
  const int held = ::open((t.path + ".lock").c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(held, 0);
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  ASSERT_EQ(::fcntl(held, F_OFD_SETLK, &fl), 0);
  TaskResult r = run(t, "m\n");
  EXPECT_EQ(r.status, TaskStatus::Deferred) << r.text;
  EXPECT_TRUE(fs::exists(t.path + ".lock"));
  ::close(held);  // the holder is gone: the old lock is taken over
  r = run(t, "m\n");
  EXPECT_EQ(r.status, TaskStatus::Delivered) << r.text;
  EXPECT_FALSE(fs::exists(t.path + ".lock"));
}

// While a delivery holds the dot-lock (here: waiting for the mailbox's fcntl lock, which the
// test holds), the lock file carries its write lock: what keeps takers out, however old.
TEST_F(PrivilegedDeliveryTest, AHolderKeepsAWriteLockOnItsDotlock) {
  DeliveryTask t = task(TaskKind::Mbox, dir_ + "/mbox");
  t.mbox_locks = unsigned(MboxLock::Dotlock) | unsigned(MboxLock::Fcntl);
  t.lock_attempts = 4;
  t.lock_delay_seconds = 1;
  { std::ofstream(t.path) << ""; }
  if (is_root()) {
    ASSERT_EQ(::chown(t.path.c_str(), t.as.uid, t.as.gid), 0);
  }
  const int mailbox = ::open(t.path.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(mailbox, 0);
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  ASSERT_EQ(::fcntl(mailbox, F_OFD_SETLK, &fl), 0);
  TaskResult r;
  std::thread delivery([&] { r = run(t, "m\n"); });
  const std::string lock = t.path + ".lock";
  for (int i = 0; i < 300 && !fs::exists(lock); ++i) ::usleep(10000);
  const int probe = ::open(lock.c_str(), O_RDWR | O_CLOEXEC);
  struct flock q {};
  q.l_type = F_WRLCK;
  q.l_whence = SEEK_SET;
  const bool asked = probe >= 0 && ::fcntl(probe, F_OFD_GETLK, &q) == 0;
  if (probe >= 0) ::close(probe);
  ::close(mailbox);  // the delivery goes on
  delivery.join();
  EXPECT_TRUE(asked);
  EXPECT_EQ(q.l_type, F_WRLCK);  // held by the delivery (F_UNLCK: nobody)
  EXPECT_EQ(r.status, TaskStatus::Delivered) << r.text;
  EXPECT_FALSE(fs::exists(lock));
}

TEST_F(PrivilegedDeliveryTest, JournalOfALiveHolderIsRespected) {
  DeliveryTask t = task(TaskKind::Mbox, dir_ + "/mbox");
  t.mbox_locks = unsigned(MboxLock::Dotlock);
  t.lock_attempts = 1;
  leave_dead_holders_lock(t, {this_boot(), ::getpid(), std::nullopt, 0});  // we are alive
  TaskResult r = run(t, "m\n");
  EXPECT_EQ(r.status, TaskStatus::Deferred) << r.text;
  EXPECT_NE(r.text.find("lock"), std::string::npos) << r.text;
  EXPECT_TRUE(fs::exists(t.path + ".lock"));
}

TEST_F(PrivilegedDeliveryTest, KernelLocksHeldByAnotherDefer) {
  DeliveryTask t = task(TaskKind::Mbox, dir_ + "/mbox");
  ASSERT_EQ(run(t, "first\n").status, TaskStatus::Delivered);
  const std::string before = slurp(t.path);
  t.lock_attempts = 2;
  t.lock_delay_seconds = 0;
  int fd = ::open(t.path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  ASSERT_EQ(::fcntl(fd, F_SETLK, &fl), 0);
  t.mbox_locks = unsigned(MboxLock::Fcntl);
  TaskResult r = run(t, "second\n");
  EXPECT_EQ(r.status, TaskStatus::Deferred) << r.text;
  EXPECT_NE(r.text.find("fcntl"), std::string::npos) << r.text;
  ASSERT_EQ(::flock(fd, LOCK_EX), 0);
  t.mbox_locks = unsigned(MboxLock::Flock);
  r = run(t, "second\n");
  EXPECT_EQ(r.status, TaskStatus::Deferred) << r.text;
  EXPECT_NE(r.text.find("flock"), std::string::npos) << r.text;
  ::close(fd);
  EXPECT_EQ(slurp(t.path), before);
  EXPECT_EQ(run(t, "second\n").status, TaskStatus::Delivered);
}

TEST_F(PrivilegedDeliveryTest, CommandRunsWithOnlyItsEnvironmentAndTheMessageOnStdin) {
  DeliveryTask t = task(TaskKind::Command, "");
  t.command =
      "id -u > out; id -g >> out; echo \"$HOME:$FOO:${ESTAFETA_LEAK-unset}\" >> out; cat > msg; "
      "pwd > dir";
  t.environment = {"HOME=/h", "FOO=bar baz"};
  t.working_directory = dir_;
  const std::string message = "Subject: s\n\n" + std::string(300000, 'm') + "\n";  // > a pipe
  TaskResult r = run(t, message);
  ASSERT_EQ(r.status, TaskStatus::Delivered) << r.text;
  EXPECT_EQ(r.text, "delivered to command: " + t.command);
  EXPECT_EQ(slurp(dir_ + "/out"), std::to_string(runner().uid) + "\n" +
                                      std::to_string(runner().gid) + "\n/h:bar baz:unset\n");
  EXPECT_EQ(slurp(dir_ + "/msg"), message);
  EXPECT_EQ(slurp(dir_ + "/dir"), dir_ + "\n");
  EXPECT_EQ(stat_of(dir_ + "/out").st_uid, runner().uid);
}

TEST_F(PrivilegedDeliveryTest, CommandExitStatusesAsSysexits) {
  DeliveryTask t = task(TaskKind::Command, "");
  t.command = "echo no such mailbox; exit 67";
  TaskResult r = run(t, "m\n");
  EXPECT_EQ(r.status, TaskStatus::Bounced);
  EXPECT_EQ(r.dsn, "5.1.1");
  EXPECT_EQ(r.text, "user unknown. Command output: no such mailbox");
  t.command = "exit 75";
  r = run(t, "m\n");
  EXPECT_EQ(r.status, TaskStatus::Deferred);
  EXPECT_EQ(r.dsn, "4.3.0");
  t.command = "exec true";  // does not read its input: EPIPE is no failure
  r = run(t, std::string(1 << 20, 'x'));
  EXPECT_EQ(r.status, TaskStatus::Delivered) << r.text;
  t.command = "kill -TERM $$";
  r = run(t, "m\n");
  EXPECT_EQ(r.status, TaskStatus::Deferred);
  EXPECT_NE(r.text.find("signal 15"), std::string::npos) << r.text;
}

bool process_gone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  std::string line;
  std::getline(stat, line);
  auto paren = line.rfind(')');
  return paren != std::string::npos && line.size() > paren + 2 && line[paren + 2] == 'Z';
}

TEST_F(PrivilegedDeliveryTest, CommandOverItsTimeLimitIsKilledWithItsGroup) {
  DeliveryTask t = task(TaskKind::Command, "");
  t.working_directory = dir_;
  t.command = "sleep 60 & echo $! > bg; echo started; sleep 60";
  t.time_limit_seconds = 1;
  const auto start = std::chrono::steady_clock::now();
  TaskResult r = run(t, "m\n");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  EXPECT_EQ(r.status, TaskStatus::Bounced);
  EXPECT_EQ(r.dsn, "5.3.0");
  EXPECT_EQ(r.text, "Command time limit exceeded: \"" + t.command + "\". Command output: started");
  const pid_t background = std::stoi(slurp(dir_ + "/bg"));
  for (int i = 0; i < 100 && !process_gone(background); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(process_gone(background));
}

TEST_F(PrivilegedDeliveryTest, ReadFileReadsOrSaysWhy) {
  DeliveryTask t = task(TaskKind::ReadFile, dir_ + "/.forward");
  { std::ofstream(t.path) << "alice, |procmail\n"; }
  TaskResult r = spawner_->run(t, -1);
  EXPECT_EQ(r.status, TaskStatus::Delivered) << r.text;
  EXPECT_EQ(r.content, "alice, |procmail\n");
  t.read_limit = 5;
  r = spawner_->run(t, -1);
  EXPECT_EQ(r.status, TaskStatus::Deferred);
  EXPECT_EQ(r.error_code, EFBIG);
  t.path = dir_ + "/missing";
  r = spawner_->run(t, -1);
  EXPECT_EQ(r.status, TaskStatus::Bounced);
  EXPECT_EQ(r.error_code, ENOENT);
  ASSERT_EQ(::symlink((dir_ + "/.forward").c_str(), (dir_ + "/link").c_str()), 0);
  t.path = dir_ + "/link";
  t.read_limit = 1 << 20;
  r = spawner_->run(t, -1);
  EXPECT_EQ(r.status, TaskStatus::Deferred);
  EXPECT_EQ(r.error_code, ELOOP);
  // Large content travels in the result memfd.
  t.path = dir_ + "/big";
  { std::ofstream(t.path) << std::string(900000, 'b'); }
  r = spawner_->run(t, -1);
  EXPECT_EQ(r.content.size(), 900000u);
}

TEST_F(PrivilegedDeliveryTest, RefusesRootAndInvalidTasks) {
  for (auto change :
       {+[](DeliveryTask& t) { t.as.uid = 0; }, +[](DeliveryTask& t) { t.as.gid = 0; },
        +[](DeliveryTask& t) { t.as.groups = {0}; },
        +[](DeliveryTask& t) { t.path = "relative/"; }}) {
    DeliveryTask t = task(TaskKind::Maildir, dir_ + "/Maildir/");
    t.maildir_name = "n";
    change(t);
    TaskResult r = run(t, "m\n");
    EXPECT_EQ(r.status, TaskStatus::Deferred);
    EXPECT_NE(r.text.find("delivery refused"), std::string::npos) << r.text;
  }
  EXPECT_FALSE(fs::exists(dir_ + "/Maildir"));
  DeliveryTask no_fd = task(TaskKind::Mbox, dir_ + "/mbox");
  EXPECT_NE(spawner_->run(no_fd, -1).text.find("no message descriptor"), std::string::npos);
}

TEST_F(PrivilegedDeliveryTest, UnprivilegedRefusesOtherUsers) {
  if (is_root()) GTEST_SKIP() << "as root every non-root user is allowed";
  DeliveryTask t = task(TaskKind::Mbox, dir_ + "/mbox");
  t.as.uid = ::getuid() + 1;
  TaskResult r = run(t, "m\n");
  EXPECT_EQ(r.status, TaskStatus::Deferred);
  EXPECT_NE(r.text.find("does not run as root"), std::string::npos) << r.text;
}

TEST_F(PrivilegedDeliveryTest, AsRootTheTaskHasExactlyTheRecipientsIds) {
  if (!is_root()) GTEST_SKIP() << "needs root";
  DeliveryTask t = task(TaskKind::Command, "");
  t.as.groups = {kNogroup, 100};  // "users" on Debian
  t.working_directory = dir_;
  t.command = "grep -E '^(Uid|Gid|Groups):' /proc/self/status > ids; id -u";
  ASSERT_EQ(run(t, "m\n").status, TaskStatus::Delivered);
  EXPECT_EQ(slurp(dir_ + "/ids"),
            "Uid:\t65534\t65534\t65534\t65534\nGid:\t65534\t65534\t65534\t65534\n"
            "Groups:\t100 65534 \n");
  // nobody cannot write into a root-only directory.
  const std::string closed = root_ + "/closed";
  ASSERT_EQ(::mkdir(closed.c_str(), 0700), 0);
  TaskResult r = run(task(TaskKind::Mbox, closed + "/mbox"), "m\n");
  EXPECT_EQ(r.status, TaskStatus::Deferred);
  EXPECT_EQ(r.error_code, EACCES);
  EXPECT_FALSE(fs::exists(closed + "/mbox"));
}

TEST_F(PrivilegedDeliveryTest, SpoolPrivilegesCreateTheMailboxForTheRecipient) {
  if (!is_root()) GTEST_SKIP() << "needs root";
  const std::string spool = root_ + "/spool";  // like /var/mail: not writable by nobody
  ASSERT_EQ(::mkdir(spool.c_str(), 0755), 0);
  DeliveryTask t = task(TaskKind::Mbox, spool + "/nobody");
  t.mbox_locks = unsigned(MboxLock::Dotlock) | unsigned(MboxLock::Fcntl);
  TaskResult r = run(t, "m\n");
  EXPECT_EQ(r.status, TaskStatus::Deferred);  // without them: EACCES
  t.create_with_spool_privileges = true;
  r = run(t, "m\n");  // a spawner not told of a spool directory refuses them
  EXPECT_EQ(r.status, TaskStatus::Deferred);
  EXPECT_NE(r.text.find("delivery refused"), std::string::npos) << r.text;
  EXPECT_FALSE(fs::exists(t.path));
  restart(TaskPolicy{{}, 1, spool});
  r = run(t, "m\n");
  ASSERT_EQ(r.status, TaskStatus::Delivered) << r.text;
  struct stat st = stat_of(t.path);
  EXPECT_EQ(st.st_uid, kNobody);
  EXPECT_EQ(st.st_gid, kNogroup);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_FALSE(fs::exists(t.path + ".lock"));
  ASSERT_EQ(run(t, "n\n").status, TaskStatus::Delivered);
  // A mailbox that belongs to someone else is not written.
  ASSERT_EQ(::chown(t.path.c_str(), 0, 0), 0);
  r = run(t, "o\n");
  EXPECT_EQ(r.status, TaskStatus::Deferred);
  EXPECT_NE(r.text.find("not owned"), std::string::npos) << r.text;
  // Empty, 0600 and the spool owner's: a delivery killed between creating it and handing
  // it over left it. It is handed over; with another mode it is not.
  ASSERT_EQ(::truncate(t.path.c_str(), 0), 0);
  ASSERT_EQ(::chmod(t.path.c_str(), 0644), 0);
  r = run(t, "p\n");
  EXPECT_EQ(r.status, TaskStatus::Deferred);
  EXPECT_NE(r.text.find("not owned"), std::string::npos) << r.text;
  EXPECT_EQ(stat_of(t.path).st_uid, 0u);
  EXPECT_EQ(stat_of(t.path).st_size, 0);
  ASSERT_EQ(::chmod(t.path.c_str(), 0600), 0);
  r = run(t, "q\n");
  ASSERT_EQ(r.status, TaskStatus::Delivered) << r.text;
  EXPECT_EQ(stat_of(t.path).st_uid, kNobody);
  ASSERT_EQ(::chown(t.path.c_str(), 0, 0), 0);
  // Only directly in the spool directory: elsewhere the task is refused, untouched.
  const std::string elsewhere = root_ + "/elsewhere";
  ASSERT_EQ(::mkdir(elsewhere.c_str(), 0755), 0);
  for (const std::string& path : {elsewhere + "/nobody", spool + "x/nobody"}) {
    DeliveryTask outside = t;
    outside.path = path;
    r = run(outside, "m\n");
    EXPECT_EQ(r.status, TaskStatus::Deferred) << path;
    EXPECT_NE(r.text.find("delivery refused"), std::string::npos) << r.text;
    EXPECT_FALSE(fs::exists(path));
  }
}

TEST_F(PrivilegedDeliveryTest, AWorldWritableSpoolIsWrittenWithTheRecipientsRightsOnly) {
  if (!is_root()) GTEST_SKIP() << "needs root";
  const std::string spool = root_ + "/spool";
  ASSERT_EQ(::mkdir(spool.c_str(), 0755), 0);
  ASSERT_EQ(::chmod(spool.c_str(), 01777), 0);
  restart(TaskPolicy{{}, 1, spool});
  DeliveryTask t = task(TaskKind::Mbox, spool + "/nobody");
  t.mbox_locks = unsigned(MboxLock::Dotlock);
  t.create_with_spool_privileges = true;
  // A root-only file where the mailbox goes: with the directory owner's (root's) rights it
  // would be opened; as the recipient it cannot be.
  { std::ofstream(t.path) << "root's\n"; }
  ASSERT_EQ(::chmod(t.path.c_str(), 0600), 0);
  TaskResult r = run(t, "m\n");
  EXPECT_EQ(r.status, TaskStatus::Deferred);
  EXPECT_EQ(r.error_code, EACCES) << r.text;
  EXPECT_EQ(slurp(t.path), "root's\n");
  // A new mailbox there is simply the recipient's.
  t.path = spool + "/other";
  r = run(t, "m\n");
  ASSERT_EQ(r.status, TaskStatus::Delivered) << r.text;
  EXPECT_EQ(stat_of(t.path).st_uid, kNobody);
  EXPECT_FALSE(fs::exists(t.path + ".lock"));
}

TEST_F(PrivilegedDeliveryTest, RefusesTheForbiddenAndTooSmallUids) {
  const uid_t uid = runner().uid;
  restart(TaskPolicy{{uid}, 1, ""});
  DeliveryTask t = task(TaskKind::Command, "");
  t.command = "touch " + dir_ + "/ran";
  TaskResult r = run(t, "m\n");
  EXPECT_EQ(r.status, TaskStatus::Deferred);
  EXPECT_NE(r.text.find("delivery refused"), std::string::npos) << r.text;
  restart(TaskPolicy{{}, uid + 1, ""});
  r = run(t, "m\n");
  EXPECT_EQ(r.status, TaskStatus::Deferred);
  EXPECT_NE(r.text.find("minimum uid"), std::string::npos) << r.text;
  EXPECT_FALSE(fs::exists(dir_ + "/ran"));
  restart(TaskPolicy{{uid + 1}, uid, ""});
  EXPECT_EQ(run(t, "m\n").status, TaskStatus::Delivered);
}

TEST_F(PrivilegedDeliveryTest, DevNullDiscards) {
  DeliveryTask t = task(TaskKind::Mbox, "/dev/null");
  t.mbox_locks = unsigned(MboxLock::Dotlock) | unsigned(MboxLock::Fcntl);
  TaskResult r = run(t, "m\n");
  EXPECT_EQ(r.status, TaskStatus::Delivered) << r.text;
  EXPECT_FALSE(fs::exists("/dev/null.lock"));
}

TEST_F(PrivilegedDeliveryTest, ConcurrentRunsGetTheirOwnResults) {
  constexpr int kThreads = 8, kEach = 6;
  std::atomic<int> delivered{0}, wrong{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      for (int j = 0; j < kEach; ++j) {
        DeliveryTask t = task(TaskKind::Command, "");
        // Each task's exit code and output are its own: a mixed-up reply shows.
        const int code = 64 + (i + j) % 15;
        t.command = "echo t" + std::to_string(i) + "-" + std::to_string(j) + "; exit " +
                    std::to_string(code);
        TaskResult r = run(t, "m\n");
        const std::string tag = "Command output: t" + std::to_string(i) + "-" + std::to_string(j);
        if (r.text.ends_with(tag)) {
          ++delivered;
        } else {
          ++wrong;
        }
        DeliveryTask m = task(TaskKind::Maildir, dir_ + "/Maildir/");
        m.maildir_name = "n" + std::to_string(i) + "." + std::to_string(j);
        if (run(m, "x\n").status != TaskStatus::Delivered) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(delivered, kThreads * kEach);
  EXPECT_EQ(wrong, 0);
  int files = 0;
  for (auto& e : fs::directory_iterator(dir_ + "/Maildir/new")) files += e.is_regular_file();
  EXPECT_EQ(files, kThreads * kEach);
}

// The spawner's children that are still processes (zombies included).
std::vector<pid_t> child_pids_of(pid_t parent) {
  std::vector<pid_t> pids;
  for (auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string line;
    std::getline(std::ifstream(e.path() / "stat"), line);
    auto paren = line.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream rest(line.substr(paren + 2));
    char state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent) pids.push_back(std::stoi(name));
  }
  return pids;
}

int children_of(pid_t parent) { return static_cast<int>(child_pids_of(parent).size()); }

// "Uid:" or "Gid:" of /proc/PID/status: real, effective, saved, file system.
std::string ids_line(pid_t pid, const std::string& which) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with(which)) return line.substr(which.size());
  }
  return "";
}

TEST_F(PrivilegedDeliveryTest, MaildirTasksShareOneLongLivedWorkerAsTheRecipient) {
  constexpr int kThreads = 4, kEach = 5;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      for (int j = 0; j < kEach; ++j) {
        DeliveryTask m = task(TaskKind::Maildir, dir_ + "/Maildir/");
        m.maildir_name = "w" + std::to_string(i) + "." + std::to_string(j);
        if (run(m, "x\n").status != TaskStatus::Delivered) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong, 0);
  int files = 0;
  for (auto& e : fs::directory_iterator(dir_ + "/Maildir/new")) files += e.is_regular_file();
  EXPECT_EQ(files, kThreads * kEach);
  // One worker served them all and stays for the next ones, as the recipient, never root.
  const std::vector<pid_t> workers = child_pids_of(spawner_->spawner_pid());
  ASSERT_EQ(workers.size(), 1u);
  const std::string uid = std::to_string(runner().uid), gid = std::to_string(runner().gid);
  EXPECT_EQ(ids_line(workers[0], "Uid:"), "\t" + uid + "\t" + uid + "\t" + uid + "\t" + uid);
  EXPECT_EQ(ids_line(workers[0], "Gid:"), "\t" + gid + "\t" + gid + "\t" + gid + "\t" + gid);
  // A worker that dies is replaced: the next task is delivered by a new one.
  ASSERT_EQ(::kill(workers[0], SIGKILL), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  DeliveryTask m = task(TaskKind::Maildir, dir_ + "/Maildir/");
  m.maildir_name = "after";
  EXPECT_EQ(run(m, "x\n").status, TaskStatus::Delivered);
  const std::vector<pid_t> now = child_pids_of(spawner_->spawner_pid());
  ASSERT_EQ(now.size(), 1u);  // the killed one reaped
  EXPECT_NE(now[0], workers[0]);
  // The worker ends with the spawner.
  spawner_.reset();
  bool gone = false;
  for (int i = 0; i < 50 && !gone; ++i) {
    std::ifstream stat("/proc/" + std::to_string(now[0]) + "/stat");
    std::string line;
    gone = !std::getline(stat, line) || line.find(") Z ") != std::string::npos;
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(gone);
}

// The agent talks to a Maildir worker directly: the worker checks every task as the spawner
// would, whatever the agent sends it.
TEST_F(PrivilegedDeliveryTest, AMaildirWorkerChecksEveryTaskItself) {
  spawner_.reset();  // only the worker below
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  TaskPolicy policy;
  policy.minimum_uid = runner().uid;
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(sv[0]);
    run_maildir_worker(sv[1], task(TaskKind::OpenMaildirWorker, ""), policy);
  }
  ::close(sv[1]);
  auto ask = [&](const DeliveryTask& t, uint64_t id) {
    const int fd = message_fd("x\n");
    EXPECT_TRUE(send_datagram(sv[0], encode_request({id, t}), fd).ok());
    ::close(fd);
    auto got = receive_datagram(sv[0], 64 * 1024);
    EXPECT_TRUE(got.ok() && got->has_value());
    if (!got.ok() || !got->has_value()) return TaskResult{};
    auto reply = decode_reply((*got)->bytes);
    EXPECT_TRUE(reply.ok());
    EXPECT_EQ(reply->id, id);
    return reply->result;
  };
  DeliveryTask good = task(TaskKind::Maildir, dir_ + "/Maildir/");
  good.maildir_name = "good";
  EXPECT_EQ(ask(good, 1).status, TaskStatus::Delivered);
  DeliveryTask other = good;  // another identity
  other.as.gid += 1;
  other.maildir_name = "other";
  EXPECT_NE(ask(other, 2).text.find("not this worker's task"), std::string::npos);
  DeliveryTask bad_path = good;
  bad_path.path = dir_ + "/../Maildir/";
  EXPECT_NE(ask(bad_path, 3).text.find("delivery refused"), std::string::npos);
  DeliveryTask mbox = task(TaskKind::Mbox, dir_ + "/mbox");
  EXPECT_NE(ask(mbox, 4).text.find("not this worker's task"), std::string::npos);
  // What the policy forbids is refused even for the worker's own identity.
  ::close(sv[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);  // EOF: the worker exits
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  policy.forbidden_uids = {runner().uid};
  const pid_t strict = ::fork();
  ASSERT_GE(strict, 0);
  if (strict == 0) {
    ::close(sv[0]);
    run_maildir_worker(sv[1], task(TaskKind::OpenMaildirWorker, ""), policy);
  }
  ::close(sv[1]);
  good.maildir_name = "forbidden";
  EXPECT_NE(ask(good, 5).text.find("mail system's own"), std::string::npos);
  ::close(sv[0]);
  ASSERT_EQ(::waitpid(strict, &status, 0), strict);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_ + "/Maildir/new"), fs::directory_iterator()),
            1);
}

// A request the worker cannot make sense of (no id to refuse it by), or an empty datagram
// (which recvmsg cannot tell from the end), ends the serving of every thread, not only of the
// one that read it: the worker exits and the agent sees EOF (it defers what is unanswered).
// With a thread left waiting in recvmsg the worker would live on, and the agent would wait
// for that request's answer for ever.
TEST_F(PrivilegedDeliveryTest, AMaildirWorkerGivenARequestBeyondRepairStopsEveryThread) {
  spawner_.reset();  // only the workers below
  int n = 0;
  for (const std::string& bad : {std::string("not a request"), std::string()}) {
    SCOPED_TRACE(bad.empty() ? "an empty datagram" : bad);
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(sv[0]);
      run_maildir_worker(sv[1], task(TaskKind::OpenMaildirWorker, ""), TaskPolicy{});
    }
    ::close(sv[1]);
    // One task answered: its thread started another to wait at the socket meanwhile.
    DeliveryTask good = task(TaskKind::Maildir, dir_ + "/Maildir/");
    good.maildir_name = "good" + std::to_string(++n);
    const int fd = message_fd("x\n");
    ASSERT_TRUE(send_datagram(sv[0], encode_request({1, good}), fd).ok());
    ::close(fd);
    auto answer = receive_datagram(sv[0], 64 * 1024);
    ASSERT_TRUE(answer.ok() && answer->has_value());
    ASSERT_TRUE(send_datagram(sv[0], bad, -1).ok());
    pollfd p{sv[0], POLLIN, 0};
    if (::poll(&p, 1, 20000) == 1) {
      auto end = receive_datagram(sv[0], 64 * 1024);
      EXPECT_TRUE(end.ok() && !end->has_value());  // EOF: every thread of the worker ended
    } else {
      ADD_FAILURE() << "the worker neither answered nor closed its socket";
    }
    int status = 0;
    pid_t reaped = 0;
    for (int i = 0; i < 200 && reaped == 0; ++i) {
      reaped = ::waitpid(pid, &status, WNOHANG);
      if (reaped == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (reaped == 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
    }
    EXPECT_EQ(reaped, pid) << "the worker did not exit";
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ::close(sv[0]);
  }
}

TEST_F(PrivilegedDeliveryTest, ChildrenAreReapedAndTheSpawnerExitsWithTheObject) {
  for (int i = 0; i < 5; ++i) {
    DeliveryTask t = task(TaskKind::Command, "");
    t.command = "true";
    ASSERT_EQ(run(t, "m\n").status, TaskStatus::Delivered);
  }
  const pid_t pid = spawner_->spawner_pid();
  EXPECT_EQ(children_of(pid), 0);  // no zombies
  spawner_.reset();
  EXPECT_NE(::kill(pid, 0), 0);  // exited and reaped
  EXPECT_EQ(errno, ESRCH);
}

TEST_F(PrivilegedDeliveryTest, OverLargeRequestsRunWithinTheMaxima) {
  // Once fatal to the link: more groups than the maximum, limits over their bounds.
  DeliveryTask t = task(TaskKind::Command, "");
  for (gid_t g = 0; g < 300; ++g) t.as.groups.push_back(is_root() ? kNogroup : ::getgid());
  t.time_limit_seconds = 100 * 24 * 3600;
  t.command = "true";
  TaskResult r = run(t, "m\n");
  EXPECT_EQ(r.status, TaskStatus::Delivered) << r.text;
  DeliveryTask next = task(TaskKind::Command, "");
  next.command = "true";
  EXPECT_EQ(run(next, "m\n").status, TaskStatus::Delivered);
}

// A field record as the codec frames it.
std::string field(char type, std::string_view payload) {
  std::string out;
  queue::put_record(out, type, payload);
  return out;
}

TEST(Spawner, AnUndecodableRequestIsRefusedAloneUnlessItHasNoId) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(sv[0]);
    ::_exit(run_spawner(sv[1], ::geteuid() == 0, {}));
  }
  ::close(sv[1]);
  auto reply = [&]() -> std::optional<TaskReply> {
    auto d = receive_datagram(sv[0], 64 * 1024);
    if (!d.ok() || !d->has_value()) return std::nullopt;
    if ((*d)->fd >= 0) ::close((*d)->fd);
    auto decoded = decode_reply((*d)->bytes);
    if (!decoded.ok()) return std::nullopt;
    return *decoded;
  };
  auto request = [](const std::string& fields) {
    std::string out;
    queue::put_record(out, 'T', field('v', "1") + fields);
    return out;
  };
  ASSERT_TRUE(
      send_datagram(sv[0], request(field('n', "5") + field('k', "X") + field('?', "x")), -1).ok());
  auto first = reply();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->id, 5u);
  EXPECT_EQ(first->result.status, TaskStatus::Deferred);
  EXPECT_EQ(first->result.dsn, "4.3.0");
  EXPECT_NE(first->result.text.find("delivery refused"), std::string::npos);
  // Still serving.
  TaskRequest read{6, {}};
  read.task.kind = TaskKind::ReadFile;
  read.task.as = runner();
  read.task.path = "/nonexistent/estafeta";
  ASSERT_TRUE(send_datagram(sv[0], encode_request(read), -1).ok());
  auto second = reply();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->id, 6u);
  // A request that is not one at all (no id to answer) ends it.
  ASSERT_TRUE(send_datagram(sv[0], request(field('k', "X") + field('?', "x")), -1).ok());
  EXPECT_FALSE(reply().has_value());
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status));
  ::close(sv[0]);
}

TEST_F(PrivilegedDeliveryTest, ADeadSpawnerDefersInsteadOfHanging) {
  DeliveryTask slow = task(TaskKind::Command, "");
  slow.command = "sleep 2";
  TaskResult in_flight;
  std::thread waiter([&] { in_flight = run(slow, "m\n"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_EQ(::kill(spawner_->spawner_pid(), SIGKILL), 0);
  waiter.join();
  EXPECT_EQ(in_flight.status, TaskStatus::Deferred);
  EXPECT_EQ(in_flight.dsn, "4.3.0");
  EXPECT_NE(in_flight.text.find("spawner"), std::string::npos) << in_flight.text;
  pollfd gone{spawner_->exit_fd(), 0, 0};  // the agent's signal to exit
  EXPECT_EQ(::poll(&gone, 1, 5000), 1);
  EXPECT_NE(gone.revents & (POLLHUP | POLLERR), 0);
  DeliveryTask t = task(TaskKind::Mbox, dir_ + "/mbox");
  TaskResult later = run(t, "m\n");
  EXPECT_EQ(later.status, TaskStatus::Deferred);
  EXPECT_FALSE(fs::exists(t.path));
}

}  // namespace
}  // namespace estafeta::delivery
