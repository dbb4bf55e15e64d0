// Tests for the liveness locks (pid/spool.<pid>): taken locked, released, stale files of a
// dead pid replaced or removed, and a checker never taking a live writer for dead.
#include "queue/liveness_lock.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "queue/test_util.h"

namespace estafeta::queue {
namespace {

using testing::list_names;
using testing::TempDir;

class LivenessLockTest : public ::testing::Test {
 protected:
  void SetUp() override { std::filesystem::create_directory(tmp_.path() + "/pid"); }

  std::string own_path() const { return liveness_lock_path(tmp_.path(), ::getpid()); }

  // Whether some open file description holds the flock on `path` (as a checker sees it).
  static bool locked_by_someone(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return false;
    const bool locked = ::flock(fd, LOCK_EX | LOCK_NB) != 0;
    ::close(fd);
    return locked;
  }

  TempDir tmp_;
};

TEST_F(LivenessLockTest, TakenLockedAndRemovedOnRelease) {
  {
    auto lock = LivenessLock::take(tmp_.path());
    ASSERT_TRUE(lock.ok()) << lock.error().message;
    EXPECT_TRUE(lock->held());
    EXPECT_TRUE(locked_by_someone(own_path()));
    // No temporary file is left behind.
    EXPECT_EQ(list_names(tmp_.path() + "/pid"),
              std::vector<std::string>{"spool." + std::to_string(::getpid())});
  }
  EXPECT_TRUE(list_names(tmp_.path() + "/pid").empty());
}

TEST_F(LivenessLockTest, StaleFileOfThisPidIsReplaced) {
  std::ofstream(own_path()) << "left by a dead process that had this pid";
  auto lock = LivenessLock::take(tmp_.path());
  ASSERT_TRUE(lock.ok());
  EXPECT_TRUE(lock->held());
  EXPECT_TRUE(locked_by_someone(own_path()));
}

TEST_F(LivenessLockTest, SecondLockOfThisProcessHoldsNothingAndTheFirstKeepsTheName) {
  auto first = LivenessLock::take(tmp_.path());
  ASSERT_TRUE(first.ok());
  {
    auto second = LivenessLock::take(tmp_.path());
    ASSERT_TRUE(second.ok());
    EXPECT_FALSE(second->held());
  }
  EXPECT_TRUE(first->held());
  EXPECT_TRUE(locked_by_someone(own_path()));
  EXPECT_EQ(list_names(tmp_.path() + "/pid").size(), 1u);
}

TEST_F(LivenessLockTest, WriterAliveWhileItsLockIsHeld) {
  const int other_pid = ::getpid() + 1;
  const std::string path = liveness_lock_path(tmp_.path(), other_pid);
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  EXPECT_TRUE(writer_alive(tmp_.path(), other_pid));
  EXPECT_TRUE(std::filesystem::exists(path));
  ::close(fd);  // the process dies: the kernel lets the lock go
  EXPECT_FALSE(writer_alive(tmp_.path(), other_pid));
  EXPECT_FALSE(std::filesystem::exists(path));  // the dead writer's file is removed
  EXPECT_FALSE(writer_alive(tmp_.path(), other_pid));  // no file at all: gone
  EXPECT_TRUE(writer_alive(tmp_.path(), ::getpid()));  // this process, lock or not
}

TEST_F(LivenessLockTest, StaleLocksAndAbandonedTemporaryFilesAreRemoved) {
  const std::string dir = tmp_.path() + "/pid/";
  std::ofstream(dir + "spool.999999") << "";
  std::ofstream(dir + ".spool.999999.abcdef") << "";  // its maker died before linking it
  const int held = ::open((dir + ".spool.4.ghijkl").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(held, 0);
  ASSERT_EQ(::flock(held, LOCK_EX | LOCK_NB), 0);  // being made right now
  remove_stale_liveness_locks(tmp_.path());
  EXPECT_EQ(list_names(tmp_.path() + "/pid"), std::vector<std::string>{".spool.4.ghijkl"});
  ::close(held);
}

// The race the locks exist to survive: a writer takes its lock while other processes check
// lock files (every Spool::open does). A checker must never find the writer's file unlocked,
// remove it, and so take the live writer for dead; the writer must always end up holding
// its named file. The child takes and releases its lock again and again while this process
// checks it as fast as it can.
TEST_F(LivenessLockTest, ChecksRacingATakerNeverTakeItForDead) {
  constexpr int kRounds = 10000;
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    int failures = 0;
    const std::string path = liveness_lock_path(tmp_.path(), ::getpid());
    for (int i = 0; i < kRounds; ++i) {
      auto lock = LivenessLock::take(tmp_.path());
      if (!lock.ok() || !lock->held() || !std::filesystem::exists(path)) ++failures;
    }
    ::_exit(failures > 100 ? 100 : failures);
  }
  int status = 0;
  int checks = 0;
  while (::waitpid(child, &status, WNOHANG) == 0) {
    (void)writer_alive(tmp_.path(), child);
    remove_stale_liveness_locks(tmp_.path());
    ++checks;
  }
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "rounds without a held lock, " << checks << " checks";
}

}  // namespace
}  // namespace estafeta::queue
