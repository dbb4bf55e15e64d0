// Spool tests in a temporary directory: begin/append/commit, the file in active/ decodes to
// the same envelope and content, concurrent commits from many threads, leftovers removed
// from incoming/, uncommitted messages removed, wake-up datagrams, queue id format.
#include "queue/spool.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "queue/filesystem.h"
#include "queue/queue_file.h"
#include "queue/test_util.h"

namespace estafeta::queue {
namespace {

using testing::list_names;
using testing::read_file;
using testing::TempDir;

message::Envelope envelope(std::string sender = "alice@example.org") {
  message::Envelope e;
  e.sender = std::move(sender);
  e.recipients = {{"bob@localhost", "", ""}, {"carol@localhost", "", "NEVER"}};
  e.helo = "client.example";
  e.protocol = "ESMTP";
  e.client_address = "127.0.0.1";
  e.client_hostname = "localhost";
  return e;
}

std::unique_ptr<Spool> open_spool(const Spool::Options& o) {
  auto s = Spool::open(o);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
  return s.ok() ? std::move(*s) : nullptr;
}

std::unique_ptr<Spool> open_spool(const std::string& dir) {
  return open_spool(Spool::Options{.queue_directory = dir, .sync_threads = 4});
}

Result<std::string> commit_and_wait(Spool& spool, std::unique_ptr<IncomingMessage> m) {
  std::promise<Result<std::string>> p;
  auto f = p.get_future();
  spool.commit(std::move(m), [&p](Result<std::string> r) { p.set_value(std::move(r)); });
  return f.get();
}

TEST(Spool, OpenCreatesDirectories) {
  TempDir tmp;
  auto spool = open_spool(tmp.path() + "/q");
  ASSERT_NE(spool, nullptr);
  auto names = list_names(tmp.path() + "/q");
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names,
            (std::vector<std::string>{"active", "deferred", "hold", "incoming", "pid", "public"}));
}

TEST(Spool, BeginAppendCommitDecodesToTheSameMessage) {
  TempDir tmp;
  auto spool = open_spool(tmp.path());
  ASSERT_NE(spool, nullptr);
  auto m = spool->begin(envelope());
  ASSERT_TRUE(m.ok()) << m.error().message;
  const std::string id = (*m)->queue_id();
  EXPECT_EQ(list_names(tmp.path() + "/incoming"), std::vector<std::string>{id});
  const std::string content = "Received: from client\r\nSubject: x\r\n\r\nhello\r\n";
  ASSERT_TRUE((*m)->append(content.substr(0, 10)).ok());
  ASSERT_TRUE((*m)->append(content.substr(10)).ok());
  EXPECT_EQ((*m)->size(), content.size());
  auto r = commit_and_wait(*spool, std::move(*m));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, id);
  EXPECT_TRUE(list_names(tmp.path() + "/incoming").empty());
  auto f = decode_queue_file(read_file(tmp.path() + "/active/" + id));
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->envelope.queue_id, id);
  EXPECT_GT(f->envelope.arrival_us, 0);
  EXPECT_EQ(f->envelope.sender, "alice@example.org");
  ASSERT_EQ(f->envelope.recipients.size(), 2u);
  EXPECT_EQ(f->envelope.recipients[1].notify, "NEVER");
  EXPECT_EQ(f->envelope.helo, "client.example");
  EXPECT_EQ(f->content, content);
}

TEST(Spool, PrecreatedFilesAreUsedAndRemovedWhenTheSpoolCloses) {
  TempDir tmp;
  auto spool = open_spool(Spool::Options{.queue_directory = tmp.path(), .precreated_files = 3});
  ASSERT_NE(spool, nullptr);
  // The pool fills in the background (no timing assumption: poll until it has).
  while (list_names(tmp.path() + "/incoming").size() < 3) std::this_thread::yield();
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {  // more than the pool holds: begin() also creates
    auto m = spool->begin(envelope());
    ASSERT_TRUE(m.ok()) << m.error().message;
    ASSERT_TRUE((*m)->append("Subject: pooled\r\n\r\nbody\r\n").ok());
    auto r = commit_and_wait(*spool, std::move(*m));
    ASSERT_TRUE(r.ok()) << r.error().message;
    ids.push_back(*r);
  }
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(std::unique(ids.begin(), ids.end()), ids.end());
  // Acknowledged messages in pre-created files reach active/ after the acknowledgement (the
  // publisher); closing the spool waits for it.
  spool.reset();
  for (const auto& id : ids) {
    auto f = decode_queue_file(read_file(tmp.path() + "/active/" + id));
    ASSERT_TRUE(f.ok()) << f.error().message;
    EXPECT_EQ(f->envelope.queue_id, id);
    EXPECT_EQ(f->content, "Subject: pooled\r\n\r\nbody\r\n");
  }
  EXPECT_TRUE(list_names(tmp.path() + "/incoming").empty());
}

// Polls until `pooled` files are in the spool's pool; false after a generous bound.
bool wait_for_pool(const Spool& spool, size_t pooled) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (spool.pooled_files() != pooled) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// A pid that no process has: a child's, after it exited and was reaped.
int dead_pid() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  int status = 0;
  ::waitpid(child, &status, 0);
  return child;
}

// A whole queue file for `id`, as a writer leaves it after its data sync.
std::string whole_queue_file(const std::string& id, const std::string& content) {
  message::Envelope e = envelope();
  e.queue_id = id;
  const std::string head = encode_envelope(e) + encode_content(content);
  return head + encode_end_after(head, content.size());
}

// Spool::open after a writer died: its whole file (perhaps acknowledged) is published into
// active/, its incomplete one removed; a live writer's files are left alone; a name that is
// no queue id is removed.
TEST(Spool, OpenPublishesWhatADeadWriterLeftWholeAndRemovesTheRest) {
  TempDir tmp;
  ASSERT_NE(open_spool(tmp.path()), nullptr);  // the directories
  const int dead = dead_pid();
  const std::string whole = Spool::make_queue_id(1000, dead);
  const std::string partial = Spool::make_queue_id(1001, dead);
  // A live writer: its lock (pid/spool.<pid>) is held, here by this test for a pid of its
  // choice. A dead writer's lock file is not held (or missing).
  const int live = dead + 1;
  const int lock = ::open((tmp.path() + "/pid/spool." + std::to_string(live)).c_str(),
                          O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(lock, 0);
  ASSERT_EQ(::flock(lock, LOCK_EX | LOCK_NB), 0);
  std::ofstream(tmp.path() + "/pid/spool." + std::to_string(dead)) << "";
  const std::string live_partial = Spool::make_queue_id(1002, live);
  const std::string full = whole_queue_file(whole, "Subject: left\r\n\r\nbody\r\n");
  std::ofstream(tmp.path() + "/incoming/" + whole, std::ios::binary) << full;
  std::ofstream(tmp.path() + "/incoming/" + partial, std::ios::binary)
      << full.substr(0, full.size() - 10);
  std::ofstream(tmp.path() + "/incoming/" + live_partial, std::ios::binary) << full.substr(0, 20);
  std::ofstream(tmp.path() + "/incoming/not-a-queue-id") << "x";
  std::vector<std::string> warnings;
  {
    auto spool = open_spool(
        Spool::Options{.queue_directory = tmp.path(),
                       .warn = [&warnings](const std::string& text) { warnings.push_back(text); }});
    ASSERT_NE(spool, nullptr);
  }
  ::close(lock);
  EXPECT_EQ(read_file(tmp.path() + "/active/" + whole), full);
  EXPECT_EQ(list_names(tmp.path() + "/incoming"), std::vector<std::string>{live_partial});
  EXPECT_TRUE(warnings.empty());
  // The dead writer's lock file is gone, the live one's stays; the Spool removed its own.
  EXPECT_EQ(list_names(tmp.path() + "/pid"),
            std::vector<std::string>{"spool." + std::to_string(live)});
}

// A queue id used twice (the clock went back onto a reused pid): the acknowledged message
// never replaces the queued one, and is never dropped: it stays in incoming/, and the
// postmaster is told.
TEST(Spool, AcknowledgedFileNeverReplacesAnotherWithItsId) {
  TempDir tmp;
  std::vector<std::string> warnings;
  std::mutex warnings_mutex;
  std::string id;
  {
    auto spool = open_spool(Spool::Options{
        .queue_directory = tmp.path(), .precreated_files = 2, .warn = [&](const std::string& text) {
          std::lock_guard lock(warnings_mutex);
          warnings.push_back(text);
        }});
    ASSERT_NE(spool, nullptr);
    ASSERT_TRUE(wait_for_pool(*spool, 2));
    // The decoys: another message under each pooled id, queued after the pool was filled.
    for (const auto& name : list_names(tmp.path() + "/incoming")) {
      std::ofstream(tmp.path() + "/active/" + name, std::ios::binary) << "decoy";
    }
    auto m = spool->begin(envelope());
    ASSERT_TRUE(m.ok());
    id = (*m)->queue_id();
    ASSERT_TRUE((*m)->append("Subject: mine\r\n\r\nbody\r\n").ok());
    auto r = commit_and_wait(*spool, std::move(*m));
    ASSERT_TRUE(r.ok()) << r.error().message;  // acknowledged: its data and name are stable
  }
  EXPECT_EQ(read_file(tmp.path() + "/active/" + id), "decoy");
  auto kept = decode_queue_file(read_file(tmp.path() + "/incoming/" + id));
  ASSERT_TRUE(kept.ok()) << kept.error().message;
  EXPECT_EQ(kept->content, "Subject: mine\r\n\r\nbody\r\n");
  std::lock_guard lock(warnings_mutex);
  ASSERT_FALSE(warnings.empty());
  EXPECT_NE(warnings[0].find("is another file"), std::string::npos) << warnings[0];
}

// A pre-created file whose name is removed from outside while it is written is not
// acknowledged: its data would be stable under no name.
TEST(Spool, FileRemovedWhileWrittenIsNotAcknowledged) {
  TempDir tmp;
  auto spool = open_spool(Spool::Options{.queue_directory = tmp.path(), .precreated_files = 2});
  ASSERT_NE(spool, nullptr);
  ASSERT_TRUE(wait_for_pool(*spool, 2));
  auto m = spool->begin(envelope());
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(::unlink((tmp.path() + "/incoming/" + (*m)->queue_id()).c_str()), 0);
  ASSERT_TRUE((*m)->append("Subject: gone\r\n\r\nbody\r\n").ok());
  auto r = commit_and_wait(*spool, std::move(*m));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ENOENT);
}

TEST(Spool, PoolIsRefilledOnlyOnceDownToHalf) {
  TempDir tmp;
  auto spool = open_spool(Spool::Options{.queue_directory = tmp.path(), .precreated_files = 4});
  ASSERT_NE(spool, nullptr);
  ASSERT_TRUE(wait_for_pool(*spool, 4));
  // One taken: 3 left, above half: the pre-creation thread is not woken (begin() decides
  // that itself, so this needs no waiting).
  auto first = spool->begin(envelope());
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(spool->pool_refill_requests(), 0u);
  EXPECT_EQ(spool->pooled_files(), 3u);
  // A second one: 2 left, half: the pool is filled up to 4 again.
  auto second = spool->begin(envelope());
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(spool->pool_refill_requests(), 1u);
  EXPECT_TRUE(wait_for_pool(*spool, 4));
  EXPECT_EQ(list_names(tmp.path() + "/incoming").size(), 6u);  // 4 pooled, 2 open
}

TEST(Spool, LeftoverFreeDirectoryOfTheFirstReleaseIsRemoved) {
  TempDir tmp;
  // The first release kept finished queue files in free/ for reuse; they hold nothing
  // acknowledged.
  ASSERT_EQ(::mkdir((tmp.path() + "/free").c_str(), 0700), 0);
  for (int i = 0; i < 3; ++i) {
    std::ofstream(tmp.path() + "/free/" + Spool::make_queue_id(1000 + i, 1)) << "old";
  }
  auto spool = open_spool(tmp.path());
  ASSERT_NE(spool, nullptr);
  EXPECT_FALSE(std::filesystem::exists(tmp.path() + "/free"));
}

TEST(Spool, LargeMessageWrittenInBlocks) {
  TempDir tmp;
  auto spool = open_spool(tmp.path());
  ASSERT_NE(spool, nullptr);
  auto m = spool->begin(envelope());
  ASSERT_TRUE(m.ok());
  std::string content;
  for (int i = 0; content.size() < 300 * 1024; ++i) content += "line " + std::to_string(i) + "\r\n";
  for (size_t i = 0; i < content.size(); i += 1000) {
    ASSERT_TRUE((*m)->append(std::string_view(content).substr(i, 1000)).ok());
  }
  auto r = commit_and_wait(*spool, std::move(*m));
  ASSERT_TRUE(r.ok());
  auto f = decode_queue_file(read_file(tmp.path() + "/active/" + *r));
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->content, content);
}

TEST(Spool, UncommittedMessageIsRemoved) {
  TempDir tmp;
  auto spool = open_spool(tmp.path());
  ASSERT_NE(spool, nullptr);
  {
    auto m = spool->begin(envelope());
    ASSERT_TRUE(m.ok());
    ASSERT_TRUE((*m)->append("partial").ok());
  }
  EXPECT_TRUE(list_names(tmp.path() + "/incoming").empty());
  EXPECT_TRUE(list_names(tmp.path() + "/active").empty());
}

TEST(Spool, ConcurrentCommitsFromManyThreads) {
  TempDir tmp;
  auto spool = open_spool(Spool::Options{.queue_directory = tmp.path(), .sync_threads = 8});
  ASSERT_NE(spool, nullptr);
  constexpr int kThreads = 12;
  constexpr int kPerThread = 40;
  std::mutex mu;
  std::vector<std::string> ids;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::future<Result<std::string>>> pending;
      for (int i = 0; i < kPerThread; ++i) {
        auto m = spool->begin(envelope(fmt::format("s{}-{}@example.org", t, i)));
        if (!m.ok() || !(*m)->append(fmt::format("Subject: {} {}\r\n\r\nx\r\n", t, i)).ok()) {
          ++failures;
          continue;
        }
        auto p = std::make_shared<std::promise<Result<std::string>>>();
        pending.push_back(p->get_future());
        spool->commit(std::move(*m), [p](Result<std::string> r) { p->set_value(std::move(r)); });
      }
      for (auto& f : pending) {
        auto r = f.get();
        if (!r.ok()) {
          ++failures;
          continue;
        }
        std::lock_guard lock(mu);
        ids.push_back(*r);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  ASSERT_EQ(ids.size(), size_t(kThreads * kPerThread));
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());
  EXPECT_EQ(list_names(tmp.path() + "/active").size(), ids.size());
  for (const auto& id : ids) {
    auto f = decode_queue_file(read_file(tmp.path() + "/active/" + id));
    ASSERT_TRUE(f.ok()) << id << ": " << f.error().message;
    EXPECT_EQ(f->envelope.queue_id, id);
  }
}

// A Filesystem whose first fsync of active/ waits until the test releases it, so that other
// commits are certainly queued behind it.
class HeldDirectorySync : public Filesystem {
 public:
  HeldDirectorySync() : real_(make_posix_filesystem()) {}
  std::atomic<bool> release{false};
  std::atomic<int> active_syncs{0};

  Status make_dir(const std::string& p, int m) override { return real_->make_dir(p, m); }
  Status remove_dir(const std::string& p) override { return real_->remove_dir(p); }
  Result<int> open_dir(const std::string& p) override {
    auto r = real_->open_dir(p);
    if (r.ok() && p.ends_with("/active")) active_dir_ = *r;
    return r;
  }
  Result<std::vector<std::string>> list_dir(int d) override { return real_->list_dir(d); }
  Result<int> create_file(int d, const std::string& n) override { return real_->create_file(d, n); }
  Status write_all(int fd, std::string_view data) override { return real_->write_all(fd, data); }
  Status sync_data(int fd) override { return real_->sync_data(fd); }
  Result<int> open_read(int d, const std::string& n) override { return real_->open_read(d, n); }
  Result<Appender> open_append(int d, const std::string& n) override {
    return real_->open_append(d, n);
  }
  Result<std::string> read_at(int fd, uint64_t o, size_t m) override {
    return real_->read_at(fd, o, m);
  }
  Result<uint64_t> file_size(int fd) override { return real_->file_size(fd); }
  Status truncate(int fd, uint64_t size) override { return real_->truncate(fd, size); }
  Result<int64_t> modified_time(int d, const std::string& n) override {
    return real_->modified_time(d, n);
  }
  Status set_modified_time(int d, const std::string& n, int64_t t) override {
    return real_->set_modified_time(d, n, t);
  }
  Status sync_dir(int d) override {
    if (d == active_dir_ && active_syncs++ == 0) {
      while (!release.load()) std::this_thread::yield();
    }
    return real_->sync_dir(d);
  }
  Result<FileIdentity> identify(int dir, const std::string& name) override {
    return real_->identify(dir, name);
  }
  Result<FileIdentity> identify_open(int fd) override { return real_->identify_open(fd); }
  Status link(int fd, const std::string& f, int td, const std::string& t) override {
    return real_->link(fd, f, td, t);
  }
  Status rename(int fd, const std::string& f, int td, const std::string& t) override {
    return real_->rename(fd, f, td, t);
  }
  Status unlink(int d, const std::string& n) override { return real_->unlink(d, n); }
  bool exists(int d, const std::string& n) override { return real_->exists(d, n); }
  void close(int fd) override { real_->close(fd); }

 private:
  std::unique_ptr<Filesystem> real_;
  int active_dir_ = -1;
};

// Group commit, deterministically: commits whose renames happen while an fsync of active/
// runs are all covered by one next fsync. Without batching: one fsync per commit (9 here).
TEST(Spool, CommitsQueuedBehindADirectorySyncShareTheNextOne) {
  TempDir tmp;
  HeldDirectorySync fs;
  constexpr int kCommits = 8;
  auto spool = open_spool(Spool::Options{.queue_directory = tmp.path(),
                                         .sync_threads = kCommits + 1,
                                         .filesystem = &fs,
                                         .send_wakeups = false});
  ASSERT_NE(spool, nullptr);
  std::vector<std::future<Result<std::string>>> results;
  auto commit_one = [&](int i) {
    auto m = spool->begin(envelope(fmt::format("g{}@example.org", i)));
    ASSERT_TRUE(m.ok());
    ASSERT_TRUE((*m)->append("Subject: g\r\n\r\nx\r\n").ok());
    auto p = std::make_shared<std::promise<Result<std::string>>>();
    results.push_back(p->get_future());
    spool->commit(std::move(*m), [p](Result<std::string> r) { p->set_value(r); });
  };
  commit_one(0);  // its fsync of active/ is held
  while (fs.active_syncs.load() == 0) std::this_thread::yield();
  for (int i = 1; i <= kCommits; ++i) commit_one(i);
  // Every later commit has renamed its file into active/ and waits for a sync.
  while (spool->directory_sync_callers() < kCommits + 1) std::this_thread::yield();
  fs.release = true;
  for (auto& r : results) EXPECT_TRUE(r.get().ok());
  EXPECT_EQ(fs.active_syncs.load(), 2);
  EXPECT_EQ(spool->directory_syncs(), 2u);
}

TEST(Spool, QueueIdFormat) {
  const std::string id = Spool::make_queue_id(0x123456789ABCDEFll, 4242);
  EXPECT_EQ(id, "456789ABCDEF001092");
  EXPECT_EQ(Spool::queue_id_pid(id), 4242);
  EXPECT_EQ(Spool::queue_id_pid("456789abcdef001092"), -1);  // uppercase only
  EXPECT_EQ(Spool::queue_id_pid("short"), -1);
}

TEST(Spool, CommitSendsWakeUpDatagram) {
  TempDir tmp;
  auto spool = open_spool(tmp.path());
  ASSERT_NE(spool, nullptr);
  int s = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(s, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string path = tmp.path() + "/public/qmgr";
  ASSERT_LT(path.size(), sizeof addr.sun_path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  auto m = spool->begin(envelope());
  ASSERT_TRUE(m.ok());
  auto r = commit_and_wait(*spool, std::move(*m));
  ASSERT_TRUE(r.ok());
  char buf[64];
  ssize_t n = ::recv(s, buf, sizeof buf, 0);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, size_t(n)), *r);
  ::close(s);
}

TEST(Spool, DestructorFinishesQueuedWork) {
  TempDir tmp;
  std::atomic<int> done{0};
  {
    auto spool = open_spool(Spool::Options{.queue_directory = tmp.path(), .sync_threads = 2});
    ASSERT_NE(spool, nullptr);
    for (int i = 0; i < 20; ++i) {
      auto m = spool->begin(envelope());
      ASSERT_TRUE(m.ok());
      spool->commit(std::move(*m), [&done](Result<std::string> r) { done += r.ok(); });
    }
  }
  EXPECT_EQ(done.load(), 20);
  EXPECT_EQ(list_names(tmp.path() + "/active").size(), 20u);
}

// header_checks actions go after the content; HOLD commits into hold/ (either route: a
// pre-created file too), and the queue manager is not woken for it.
TEST(Spool, ContentActionsAreRecordedAndHoldCommitsIntoHold) {
  TempDir tmp;
  auto spool = open_spool(Spool::Options{.queue_directory = tmp.path(), .precreated_files = 2});
  ASSERT_NE(spool, nullptr);
  while (spool->pooled_files() < 2) std::this_thread::yield();
  message::ContentActions actions;
  actions.hold = true;
  actions.filter = "virtual:";
  actions.bcc = {"audit@localhost"};
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {  // two pre-created files, then one begin() creates
    auto m = spool->begin(envelope());
    ASSERT_TRUE(m.ok()) << m.error().message;
    ASSERT_TRUE((*m)->append(std::string(70000, 'x') + "\r\n").ok());  // a flushed block first
    (*m)->set_content_actions(actions);
    auto r = commit_and_wait(*spool, std::move(*m));
    ASSERT_TRUE(r.ok()) << r.error().message;
    ids.push_back(*r);
  }
  spool.reset();
  std::sort(ids.begin(), ids.end());
  auto held = list_names(tmp.path() + "/hold");
  std::sort(held.begin(), held.end());
  EXPECT_EQ(held, ids);
  EXPECT_TRUE(list_names(tmp.path() + "/active").empty());
  for (const auto& id : ids) {
    auto f = decode_queue_file(read_file(tmp.path() + "/hold/" + id));
    ASSERT_TRUE(f.ok()) << f.error().message;
    EXPECT_EQ(f->envelope.actions, actions);
    EXPECT_EQ(f->envelope.recipients.size(), 3u);
    EXPECT_EQ(f->content.size(), 70002u);
  }
}

// A whole held file that a dead writer left in incoming/ goes into hold/, not active/.
TEST(Spool, OpenMovesAWholeHeldFileIntoHold) {
  TempDir tmp;
  ASSERT_NE(open_spool(tmp.path()), nullptr);  // the directories
  const std::string id = Spool::make_queue_id(1000, dead_pid());
  message::Envelope e = envelope();
  e.queue_id = id;
  const std::string content = "Subject: x\r\n\r\nbody\r\n";
  std::string file = encode_envelope(e) + encode_content(content);
  const uint64_t at = file.size();
  message::ContentActions actions;
  actions.hold = true;
  file += encode_extracted(actions);
  file += encode_end_after(file, content.size(), at);
  ASSERT_TRUE(decode_queue_file(file).ok());
  std::ofstream(tmp.path() + "/incoming/" + id, std::ios::binary) << file;
  ASSERT_NE(open_spool(tmp.path()), nullptr);
  EXPECT_EQ(list_names(tmp.path() + "/hold"), std::vector<std::string>{id});
  EXPECT_TRUE(list_names(tmp.path() + "/active").empty());
  EXPECT_TRUE(list_names(tmp.path() + "/incoming").empty());
}

}  // namespace
}  // namespace estafeta::queue
