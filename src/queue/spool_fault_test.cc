// Fault injection for the spool and the queue store (LevelDB fault_injection_test style). A
// Filesystem wrapper records every call, can "crash" the process at the N-th call (that
// call and all later ones fail and reach no disk), and then drops everything that was not
// synced: file content back to what the last fdatasync made stable, directory entries
// created or renamed in since the last fsync of their directory gone, entries removed or
// renamed away since then back. For every crash point we check, on the receiving side: an
// acknowledged message is in active/ whole once a Spool has reopened the queue (its
// clean-up publishes whole files left in incoming/), any other file there is whole too
// (never a partial message), and the order of both routes (write -> fdatasync -> rename ->
// fsync; for a pre-created file fsync of incoming/ -> write -> fdatasync -> link -> fsync
// -> unlink); on the delivery
// side (status records, moves, removals through QueueStore): no message is ever lost, it is
// in exactly one queue, and its status log shows whole entries only, every entry that
// record() reported durable among them.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <thread>

#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

#include "message/write_failure.h"
#include "queue/filesystem.h"
#include "queue/queue_file.h"
#include "queue/queue_store.h"
#include "queue/spool.h"
#include "queue/test_util.h"

namespace estafeta::queue {
namespace {

using testing::list_names;
using testing::read_file;
using testing::TempDir;

class FaultInjectionFilesystem : public Filesystem {
 public:
  explicit FaultInjectionFilesystem(std::string root)
      : real_(make_posix_filesystem()), root_(std::move(root)) {}

  /// Calls numbered >= n (counting from now) fail: the process "died" before them.
  void crash_at(int n) {
    std::lock_guard lock(mu_);
    calls_ = 0;
    crash_at_ = n;
    crash_happened_ = false;
  }
  /// Whether any call reached the crash point (false: it lies past the last call).
  bool crash_happened() {
    std::lock_guard lock(mu_);
    return crash_happened_;
  }
  std::vector<std::string> log() {
    std::lock_guard lock(mu_);
    return log_;
  }
  /// Files that exist before the test's operations begin are stable as they are.
  void treat_existing_as_durable(const std::string& dir) {
    std::lock_guard lock(mu_);
    for (const auto& name : list_names(root_ + "/" + dir)) {
      files_[dir + "/" + name] = File{true, read_file(root_ + "/" + dir + "/" + name), false};
    }
  }
  /// What happens to an entry removed (unlinked, renamed away) since its directory's last
  /// fsync: either outcome is possible after a power loss.
  enum class Removals { kComeBack, kPersist };
  /// The power went out: undo everything not on stable storage (real files, real dirs):
  /// content back to the last fdatasync, entries created or renamed since their directory's
  /// last fsync gone, entries removed since then back (or, with kPersist, gone too).
  void drop_unsynced(Removals removals = Removals::kComeBack) {
    std::lock_guard lock(mu_);
    for (auto& [key, f] : files_) {
      const std::string path = root_ + "/" + key;
      if (f.removed && removals == Removals::kPersist) continue;  // stays removed
      if (!f.entry_synced) {
        // The entry never reached the disk. (Whether the name reappears in incoming/ does
        // not matter: it holds nothing acknowledged.)
        std::filesystem::remove(path);
      } else {
        std::ofstream(path, std::ios::binary | std::ios::trunc) << f.durable;
      }
    }
    files_.clear();
  }

  Status make_dir(const std::string& path, int mode) override {
    return real_->make_dir(path, mode);
  }
  Status remove_dir(const std::string& path) override { return real_->remove_dir(path); }
  Result<int> open_dir(const std::string& path) override {
    auto r = real_->open_dir(path);
    std::lock_guard lock(mu_);
    if (r.ok()) dir_names_[*r] = std::filesystem::path(path).filename().string();
    return r;
  }
  Result<std::vector<std::string>> list_dir(int dir) override { return real_->list_dir(dir); }
  Result<int> create_file(int dir, const std::string& name) override {
    std::lock_guard lock(mu_);
    if (crashed()) return make_error("crashed");
    log_.push_back("create " + key(dir, name));
    auto r = real_->create_file(dir, name);
    if (r.ok()) {
      fd_keys_[*r] = key(dir, name);
      files_[key(dir, name)] = File{false, "", false};
    }
    return r;
  }
  Result<Appender> open_append(int dir, const std::string& name) override {
    std::lock_guard lock(mu_);
    if (crashed()) return make_error("crashed");
    auto r = real_->open_append(dir, name);
    if (r.ok()) {
      fd_keys_[r->fd] = key(dir, name);
      if (r->created) files_[key(dir, name)] = File{false, "", false};
    }
    return r;
  }
  Result<int> open_read(int dir, const std::string& name) override {
    std::lock_guard lock(mu_);
    if (crashed()) return make_error("crashed");
    return real_->open_read(dir, name);
  }
  Result<std::string> read_at(int fd, uint64_t offset, size_t max) override {
    return real_->read_at(fd, offset, max);
  }
  Result<uint64_t> file_size(int fd) override { return real_->file_size(fd); }
  Result<int64_t> modified_time(int dir, const std::string& name) override {
    return real_->modified_time(dir, name);
  }
  Status set_modified_time(int dir, const std::string& name, int64_t time_us) override {
    return real_->set_modified_time(dir, name, time_us);
  }
  Status write_all(int fd, std::string_view data) override {
    std::lock_guard lock(mu_);
    if (crashed()) return make_error("crashed");
    log_.push_back("write " + fd_keys_[fd]);
    return real_->write_all(fd, data);
  }
  Status truncate(int fd, uint64_t size) override {
    std::lock_guard lock(mu_);
    if (crashed()) return make_error("crashed");
    log_.push_back("truncate " + fd_keys_[fd]);
    return real_->truncate(fd, size);
  }
  Status sync_data(int fd) override {
    std::lock_guard lock(mu_);
    if (crashed()) return make_error("crashed");
    log_.push_back("sync_data " + fd_keys_[fd]);
    files_[fd_keys_[fd]].durable = read_file(root_ + "/" + fd_keys_[fd]);
    return real_->sync_data(fd);
  }
  Status sync_dir(int dir) override {
    std::lock_guard lock(mu_);
    if (crashed()) return make_error("crashed");
    const std::string& d = dir_names_[dir];
    log_.push_back("sync_dir " + d);
    for (auto it = files_.begin(); it != files_.end();) {
      if (it->first.starts_with(d + "/")) {
        if (it->second.removed) {
          it = files_.erase(it);  // the removal is durable: nothing to bring back
          continue;
        }
        it->second.entry_synced = true;
      }
      ++it;
    }
    return real_->sync_dir(dir);
  }
  Status rename(int from_dir, const std::string& from, int to_dir, const std::string& to) override {
    std::lock_guard lock(mu_);
    if (crashed()) return make_error("crashed");
    log_.push_back("rename " + key(from_dir, from) + " " + dir_names_[to_dir]);
    Status s = real_->rename(from_dir, from, to_dir, to);
    if (s.ok()) {
      auto old = files_.find(key(from_dir, from));
      File moved = old == files_.end() ? File{true, read_file(root_ + "/" + key(to_dir, to)), false}
                                       : old->second;
      // The new name is not durable until its directory is synced; until the old
      // directory is, the old name may come back (modelled as a removal).
      if (old != files_.end() && old->second.entry_synced) {
        old->second.removed = true;
      } else if (old != files_.end()) {
        files_.erase(old);
      }
      moved.entry_synced = false;
      moved.removed = false;
      files_[key(to_dir, to)] = moved;
    }
    return s;
  }
  Result<FileIdentity> identify(int dir, const std::string& name) override {
    return real_->identify(dir, name);
  }
  Result<FileIdentity> identify_open(int fd) override { return real_->identify_open(fd); }
  Status link(int from_dir, const std::string& from, int to_dir, const std::string& to) override {
    std::lock_guard lock(mu_);
    if (crashed()) return make_error("crashed");
    log_.push_back("link " + key(from_dir, from) + " " + dir_names_[to_dir]);
    Status s = real_->link(from_dir, from, to_dir, to);
    if (s.ok()) {
      // A new name for the same inode: its content is as durable as the old name's; the
      // name itself is not durable until its directory is synced.
      auto old = files_.find(key(from_dir, from));
      File linked = old == files_.end()
                        ? File{true, read_file(root_ + "/" + key(to_dir, to)), false}
                        : old->second;
      linked.entry_synced = false;
      linked.removed = false;
      files_[key(to_dir, to)] = linked;
    }
    return s;
  }
  Status unlink(int dir, const std::string& name) override {
    std::lock_guard lock(mu_);
    if (crashed()) return make_error("crashed");
    log_.push_back("unlink " + key(dir, name));
    auto it = files_.find(key(dir, name));
    if (it != files_.end()) {
      // Until the directory is synced the name may come back (with its durable content).
      if (it->second.entry_synced) {
        it->second.removed = true;
      } else {
        files_.erase(it);
      }
    }
    return real_->unlink(dir, name);
  }
  bool exists(int dir, const std::string& name) override { return real_->exists(dir, name); }
  void close(int fd) override {
    std::lock_guard lock(mu_);
    fd_keys_.erase(fd);
    real_->close(fd);
  }

 private:
  struct File {
    bool entry_synced;
    std::string durable;  // the content a power loss leaves
    bool removed;         // unlinked or renamed away, not yet synced: comes back after a crash
  };
  std::string key(int dir, const std::string& name) { return dir_names_[dir] + "/" + name; }
  bool crashed() {
    const bool now = crash_at_ >= 0 && calls_++ >= crash_at_;
    if (now) crash_happened_ = true;
    return now;
  }

  std::unique_ptr<Filesystem> real_;
  std::string root_;
  std::mutex mu_;
  int calls_ = 0;
  int crash_at_ = -1;
  bool crash_happened_ = false;
  std::vector<std::string> log_;
  std::map<int, std::string> dir_names_;
  std::map<int, std::string> fd_keys_;
  std::map<std::string, File> files_;  // by "dir/name"
};

message::Envelope envelope() {
  message::Envelope e;
  e.sender = "a@example.org";
  e.recipients = {{"b@localhost", "", ""}};
  return e;
}

TEST(SpoolFault, OrderIsWriteSyncRenameDirSync) {
  TempDir tmp;
  FaultInjectionFilesystem fs(tmp.path());
  Spool::Options o{tmp.path(), 1, &fs, false};
  auto spool = Spool::open(o);
  ASSERT_TRUE(spool.ok());
  auto m = (*spool)->begin(envelope());
  ASSERT_TRUE(m.ok());
  const std::string id = (*m)->queue_id();
  ASSERT_TRUE((*m)->append(std::string(70 * 1024, 'x')).ok());  // one block written early
  std::promise<bool> p;
  (*spool)->commit(std::move(*m), [&p](Result<std::string> r) { p.set_value(r.ok()); });
  ASSERT_TRUE(p.get_future().get());
  const std::string file = "incoming/" + id;
  EXPECT_EQ(fs.log(), (std::vector<std::string>{"sync_dir incoming", "create " + file,
                                                "write " + file,
                                                "write " + file, "sync_data " + file,
                                                "rename " + file + " active", "sync_dir active"}));
}

// A pre-created file: its name in incoming/ is synced before it is handed out, so the commit
// acknowledges after the data sync alone; then the publisher links it into active/, syncs
// active/, and only then unlinks the incoming/ name.
TEST(SpoolFault, PrecreatedOrderIsNameSyncWriteSyncThenLinkDirSyncUnlink) {
  TempDir tmp;
  FaultInjectionFilesystem fs(tmp.path());
  Spool::Options o{tmp.path(), 1, &fs, false, 2};
  std::string id;
  {
    auto spool = Spool::open(o);
    ASSERT_TRUE(spool.ok());
    while ((*spool)->pooled_files() < 2) std::this_thread::yield();
    auto m = (*spool)->begin(envelope());
    ASSERT_TRUE(m.ok());
    id = (*m)->queue_id();
    ASSERT_TRUE((*m)->append(std::string(70 * 1024, 'x')).ok());
    std::promise<bool> p;
    (*spool)->commit(std::move(*m), [&p](Result<std::string> r) { p.set_value(r.ok()); });
    ASSERT_TRUE(p.get_future().get());
  }  // closing waits for the publisher
  const std::string file = "incoming/" + id;
  std::vector<std::string> of_this_file;
  bool created = false, name_synced = false;
  for (const std::string& call : fs.log()) {
    if (call == "create " + file) {
      created = true;
      continue;
    }
    if (call == "sync_dir incoming" && created && of_this_file.empty()) name_synced = true;
    if (call.find(id) != std::string::npos || call == "sync_dir active") {
      of_this_file.push_back(call);
    }
  }
  EXPECT_TRUE(name_synced) << "no fsync of incoming/ between the file's creation and its use";
  EXPECT_EQ(of_this_file,
            (std::vector<std::string>{"write " + file, "write " + file, "sync_data " + file,
                                      "link " + file + " active", "sync_dir active",
                                      "unlink " + file}));
  auto f = decode_queue_file(read_file(tmp.path() + "/active/" + id));
  EXPECT_TRUE(f.ok());
}

// Crash at every call of one commit (and of several concurrent ones), then lose what was
// not synced; then a Spool opens the queue as after a restart (its clean-up publishes
// whole files left in incoming/). Acknowledged -> in active/ and whole. Never a partial
// file in active/. With `precreated` files, the commits take the pre-created route.
void crash_everywhere(int messages, size_t content_size, int precreated,
                      FaultInjectionFilesystem::Removals removals) {
  for (int crash_point = 0;; ++crash_point) {
    TempDir tmp;
    FaultInjectionFilesystem fs(tmp.path());
    std::vector<std::pair<std::string, std::string>> acknowledged;  // id, content
    {
      Spool::Options o{tmp.path(), 3, &fs, false, precreated};
      auto spool = Spool::open(o);
      ASSERT_TRUE(spool.ok());
      while ((*spool)->pooled_files() < size_t(precreated)) std::this_thread::yield();
      fs.crash_at(crash_point);
      std::vector<std::future<Result<std::string>>> results;
      std::vector<std::string> contents;
      for (int i = 0; i < messages; ++i) {
        auto m = (*spool)->begin(envelope());
        if (!m.ok()) continue;
        std::string content =
            "Subject: " + std::to_string(i) + "\r\n\r\n" + std::string(content_size, char('a' + i));
        if (!(*m)->append(content).ok()) continue;
        auto p = std::make_shared<std::promise<Result<std::string>>>();
        results.push_back(p->get_future());
        contents.push_back(content);
        (*spool)->commit(std::move(*m), [p](Result<std::string> r) { p->set_value(r); });
      }
      for (size_t i = 0; i < results.size(); ++i) {
        auto r = results[i].get();
        if (r.ok()) acknowledged.emplace_back(*r, contents[i]);
      }
      // The spool's threads end (the publisher after its last attempt) before the power
      // goes: nothing may reach the disk after the drop.
      spool->reset();
      fs.drop_unsynced(removals);
    }
    const bool crashed = fs.crash_happened();
    // The restart. The files left in incoming/ are this test process's own (a live pid):
    // made a minute old, they count as stranded, as a dead writer's would.
    for (const auto& name : list_names(tmp.path() + "/incoming")) {
      const std::string path = tmp.path() + "/incoming/" + name;
      std::filesystem::last_write_time(
          path, std::filesystem::last_write_time(path) - std::chrono::minutes(2));
    }
    {
      auto restarted = Spool::open(Spool::Options{tmp.path(), 1, nullptr, false});
      ASSERT_TRUE(restarted.ok()) << restarted.error().message;
    }
    for (const auto& [id, content] : acknowledged) {
      auto f = decode_queue_file(read_file(tmp.path() + "/active/" + id));
      ASSERT_TRUE(f.ok()) << "crash point " << crash_point << ": acknowledged " << id
                          << " lost: " << f.error().message;
      EXPECT_EQ(f->content, content);
    }
    for (const auto& name : list_names(tmp.path() + "/active")) {
      auto f = decode_queue_file(read_file(tmp.path() + "/active/" + name));
      EXPECT_TRUE(f.ok()) << "crash point " << crash_point << ": partial file " << name;
    }
    if (!crashed) {  // the crash point lies past the last call (publication included)
      EXPECT_EQ(acknowledged.size(), size_t(messages));
      break;
    }
    ASSERT_LT(crash_point, 1000);
  }
}

// Each case twice: unsynced removals come back after the crash, or they stay.
void crash_everywhere(int messages, size_t content_size, int precreated = 0) {
  using Removals = FaultInjectionFilesystem::Removals;
  for (Removals removals : {Removals::kComeBack, Removals::kPersist}) {
    SCOPED_TRACE(removals == Removals::kPersist ? "removals persist" : "removals come back");
    crash_everywhere(messages, content_size, precreated, removals);
  }
}

TEST(SpoolFault, CrashAtEveryCallOneMessage) { crash_everywhere(1, 100); }
TEST(SpoolFault, CrashAtEveryCallLargeMessage) { crash_everywhere(1, 200 * 1024); }
TEST(SpoolFault, CrashAtEveryCallConcurrentMessages) { crash_everywhere(5, 100); }
TEST(SpoolFault, CrashAtEveryCallPrecreatedOneMessage) { crash_everywhere(1, 100, 4); }
TEST(SpoolFault, CrashAtEveryCallPrecreatedLargeMessage) { crash_everywhere(1, 200 * 1024, 4); }
TEST(SpoolFault, CrashAtEveryCallPrecreatedConcurrentMessages) { crash_everywhere(5, 100, 8); }

// The delivery side: a queued message gets status records, moves to deferred/, more
// records, then is removed, with a crash at every call. The message is never lost before
// its removal was asked for, and every record() that returned ok is in its status log
// after the crash. (A crash between a rename and the syncs of both directories may leave
// the file under both names, since POSIX promises no crash atomicity for rename: the queue
// manager keeps one at start-up. Both names are one message with one status log.)
TEST(QueueStoreFault, CrashAtEveryCallOfStatusMoveAndRemove) {
  for (int crash_point = 0;; ++crash_point) {
    TempDir tmp;
    FaultInjectionFilesystem fs(tmp.path());
    message::Envelope e = envelope();
    e.queue_id = Spool::make_queue_id(5000, 77);
    e.recipients.push_back({"c@localhost", "", ""});
    ASSERT_EQ(::mkdir((tmp.path() + "/active").c_str(), 0700), 0);
    {
      const std::string head = encode_envelope(e) + encode_content("x\r\n");
      std::ofstream(tmp.path() + "/active/" + e.queue_id, std::ios::binary)
          << head + encode_end_after(head, 3);
    }
    fs.treat_existing_as_durable("active");
    size_t durable_entries = 0;  // entries record() reported durable
    bool removal_asked = false;
    bool completed = false;
    {
      auto store = QueueStore::open({.queue_directory = tmp.path(), .filesystem = &fs});
      ASSERT_TRUE(store.ok());
      fs.crash_at(crash_point);
      QueueStore& q = **store;
      const StatusEntry deferred{StatusKind::kDeferred, 1, 1, "4.4.1", "x", "later"};
      const StatusEntry delivered{StatusKind::kDelivered, 0, 2, "2.0.0", "local", "ok"};
      [&] {
        if (!q.record(e.queue_id, {delivered, deferred}).ok()) return;
        durable_entries = 2;
        if (!q.move(e.queue_id, QueueName::kActive, QueueName::kDeferred).ok()) return;
        if (!q.sync(QueueName::kDeferred).ok()) return;
        const StatusEntry done{StatusKind::kDelivered, 1, 3, "2.0.0", "x", "ok"};
        if (!q.record(e.queue_id, {done}).ok()) return;
        durable_entries = 3;
        removal_asked = true;
        if (!q.remove(QueueName::kDeferred, e.queue_id).ok()) return;
        completed = q.sync(QueueName::kDeferred).ok();
      }();
      fs.drop_unsynced();
    }
    auto store = QueueStore::open({.queue_directory = tmp.path()});
    ASSERT_TRUE(store.ok());
    auto in_active = (*store)->read_envelope(QueueName::kActive, e.queue_id);
    auto in_deferred = (*store)->read_envelope(QueueName::kDeferred, e.queue_id);
    const auto& found = in_active.ok() ? in_active : in_deferred;
    if (!found.ok()) {
      EXPECT_TRUE(removal_asked) << "crash point " << crash_point << ": lost";
      EXPECT_EQ(in_active.failure, ReadFailure::kGone);
      EXPECT_EQ(in_deferred.failure, ReadFailure::kGone);
    } else {
      EXPECT_GE(found.value->status.entries.size(), durable_entries)
          << "crash point " << crash_point << ": a durable status entry was lost";
      EXPECT_LE(found.value->status.entries.size(), 3u);
      if (durable_entries >= 2) {
        EXPECT_TRUE(found.value->recipients[0].done);
      }
    }
    if (completed) {
      EXPECT_FALSE(found.ok()) << "removed and synced, yet back";
      break;  // the crash point is past the last call
    }
    ASSERT_LT(crash_point, 200);
  }
}

// A full disk (or quota): creating or writing a queue file fails with `code`, as the kernel
// reports it; every other call is real.
class FullFilesystem : public FaultInjectionFilesystem {
 public:
  enum class Fails { Create, Write };
  FullFilesystem(std::string root, Fails fails, int code)
      : FaultInjectionFilesystem(std::move(root)), fails_(fails), code_(code) {}
  Result<int> create_file(int dir, const std::string& name) override {
    if (fails_ == Fails::Create) {
      return make_error("openat: " + std::string(std::strerror(code_)), code_);
    }
    return FaultInjectionFilesystem::create_file(dir, name);
  }
  Status write_all(int fd, std::string_view data) override {
    if (fails_ == Fails::Write) {
      return make_error("write: " + std::string(std::strerror(code_)), code_);
    }
    return FaultInjectionFilesystem::write_all(fd, data);
  }

 private:
  Fails fails_;
  int code_;
};

// The errno of a failed write reaches the commit's result (and from there smtpd's reply:
// 452 4.3.1 for a full disk, not 451 4.3.0); a failed create reaches begin()'s.
TEST(SpoolFault, ErrnoOfAFullDiskReachesTheCommit) {
  const struct {
    FullFilesystem::Fails fails;
    int code;
    int reply_code;
  } cases[] = {
      {FullFilesystem::Fails::Write, ENOSPC, 452},
      {FullFilesystem::Fails::Write, EDQUOT, 452},
      {FullFilesystem::Fails::Write, EIO, 451},
      {FullFilesystem::Fails::Create, ENOSPC, 452},
      {FullFilesystem::Fails::Create, EACCES, 451},
  };
  for (const auto& c : cases) {
    TempDir tmp;
    FullFilesystem fs(tmp.path(), c.fails, c.code);
    Spool::Options o{tmp.path(), 1, &fs, false};
    auto spool = Spool::open(o);
    ASSERT_TRUE(spool.ok());
    auto m = (*spool)->begin(envelope());
    Error error;
    if (c.fails == FullFilesystem::Fails::Create) {
      ASSERT_FALSE(m.ok());
      error = m.error();
    } else {
      ASSERT_TRUE(m.ok());
      ASSERT_TRUE((*m)->append("Subject: x\r\n\r\nhello\r\n").ok());  // buffered
      std::promise<Result<std::string>> p;
      (*spool)->commit(std::move(*m), [&p](Result<std::string> r) { p.set_value(r); });
      auto r = p.get_future().get();
      ASSERT_FALSE(r.ok());
      error = r.error();
      EXPECT_TRUE(list_names(tmp.path() + "/active").empty());
    }
    EXPECT_EQ(error.code, c.code) << error.message;
    EXPECT_EQ(message::queue_write_failure(error.code).reply_code, c.reply_code) << error.message;
  }
}

// The POSIX file system keeps errno in the Error (the code the replies are chosen by).
TEST(SpoolFault, PosixFilesystemErrorsCarryErrno) {
  TempDir tmp;
  auto fs = make_posix_filesystem();
  auto missing = fs->open_dir(tmp.path() + "/no/such/dir");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ENOENT) << missing.error().message;

  auto dir = fs->open_dir(tmp.path());
  ASSERT_TRUE(dir.ok());
  auto first = fs->create_file(*dir, "f");
  ASSERT_TRUE(first.ok());
  auto second = fs->create_file(*dir, "f");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, EEXIST) << second.error().message;
  fs->close(*first);
  fs->close(*dir);

  // A write to /dev/full fails as a write to a full disk does.
  int full = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
  if (full < 0) GTEST_SKIP() << "no /dev/full here";
  Status s = fs->write_all(full, "x");
  ::close(full);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ENOSPC) << s.error().message;
  EXPECT_NE(s.error().message.find(std::strerror(ENOSPC)), std::string::npos);
}

}  // namespace
}  // namespace estafeta::queue
