// Fault injection for the spool (LevelDB fault_injection_test style). A Filesystem wrapper
// records every call, can "crash" the process at the N-th call (that call and all later
// ones fail and reach no disk), and then drops everything that was not synced: file content
// back to what the last fdatasync (or a write_back followed by a directory sync's cache
// flush) made stable, directory entries made since the last fsync of their directory. A
// crash inside a directory sync models the worst torn case: its entries reached the disk,
// its cache flush did not. For every crash point we check: an acknowledged message is in
// active/ whole; any other file there is rejected by the decoder or names another queue id
// (stale content of a reused file), never a partial or mixed message. We also check the
// order write -> fdatasync -> rename -> fsync.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

#include "queue/filesystem.h"
#include "queue/queue_file.h"
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
  }
  std::vector<std::string> log() {
    std::lock_guard lock(mu_);
    return log_;
  }
  /// The power went out: undo everything not on stable storage (real files, real dirs).
  void drop_unsynced() {
    std::lock_guard lock(mu_);
    for (auto& [name, f] : files_) {
      std::string path = root_ + "/" + f.dir + "/" + name;
      if (!f.entry_synced) {
        // The entry never reached the disk. (Whether the name reappears in incoming/ or
        // free/ does not matter: neither holds anything acknowledged.)
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
    auto r = real_->create_file(dir, name);
    if (r.ok()) {
      fd_names_[*r] = name;
      files_[name] = File{dir_names_[dir], false, "", std::nullopt};
    }
    return r;
  }
  Result<Reused> reuse_file(int from_dir, const std::string& from, int to_dir,
                            const std::string& to) override {
    std::lock_guard lock(mu_);
    if (crashed()) return make_error("crashed");
    log_.push_back("reuse " + to);
    // The old file is stable as it is: it was there before the test began.
    const std::string old_content = read_file(root_ + "/" + dir_names_[from_dir] + "/" + from);
    auto r = real_->reuse_file(from_dir, from, to_dir, to);
    if (r.ok()) {
      fd_names_[r->fd] = to;
      files_[to] = File{dir_names_[to_dir], false, old_content, std::nullopt};
    }
    return r;
  }
  Status write_all(int fd, std::string_view data) override {
    std::lock_guard lock(mu_);
    if (crashed()) return make_error("crashed");
    log_.push_back("write " + fd_names_[fd]);
    return real_->write_all(fd, data);
  }
  Status sync_data(int fd) override {
    std::lock_guard lock(mu_);
    if (crashed()) return make_error("crashed");
    log_.push_back("sync_data " + fd_names_[fd]);
    File& f = files_[fd_names_[fd]];
    f.durable = current_content(fd_names_[fd]);
    return real_->sync_data(fd);
  }
  Status write_back(int fd) override {
    std::lock_guard lock(mu_);
    if (crashed()) return make_error("crashed");
    log_.push_back("write_back " + fd_names_[fd]);
    File& f = files_[fd_names_[fd]];
    f.written_back = current_content(fd_names_[fd]);  // on the device, not yet flushed
    return real_->write_back(fd);
  }
  Status sync_dir(int dir) override {
    std::lock_guard lock(mu_);
    const int call = calls_++;
    if (crash_at_ >= 0 && call > crash_at_) return make_error("crashed");
    const std::string& d = dir_names_[dir];
    log_.push_back("sync_dir " + d);
    for (auto& [name, f] : files_) {
      if (f.dir == d) f.entry_synced = true;
    }
    // Torn: the crash came after the directory blocks were written, before the flush.
    if (call == crash_at_) return make_error("crashed");
    for (auto& [name, f] : files_) {  // the cache flush: every completed write is stable
      if (f.written_back) f.durable = *std::exchange(f.written_back, std::nullopt);
    }
    return real_->sync_dir(dir);
  }
  Status rename(int from_dir, const std::string& from, int to_dir, const std::string& to) override {
    std::lock_guard lock(mu_);
    if (crashed()) return make_error("crashed");
    log_.push_back("rename " + from + " " + dir_names_[to_dir]);
    Status s = real_->rename(from_dir, from, to_dir, to);
    if (s.ok()) {
      File f = files_[from];
      files_.erase(from);
      f.dir = dir_names_[to_dir];
      f.entry_synced = false;
      files_[to] = f;
    }
    return s;
  }
  Status unlink(int dir, const std::string& name) override {
    std::lock_guard lock(mu_);
    if (crashed()) return make_error("crashed");
    files_.erase(name);  // XXX: an unsynced unlink would come back; harmless for incoming/
    return real_->unlink(dir, name);
  }
  bool exists(int dir, const std::string& name) override { return real_->exists(dir, name); }
  void close(int fd) override {
    std::lock_guard lock(mu_);
    fd_names_.erase(fd);
    real_->close(fd);
  }

 private:
  struct File {
    std::string dir;
    bool entry_synced;
    std::string durable;                      // the content a power loss leaves
    std::optional<std::string> written_back;  // written to the device, not yet flushed
  };
  std::string current_content(const std::string& name) {
    return read_file(root_ + "/" + files_[name].dir + "/" + name);
  }
  bool crashed() { return crash_at_ >= 0 && calls_++ >= crash_at_; }

  std::unique_ptr<Filesystem> real_;
  std::string root_;
  std::mutex mu_;
  int calls_ = 0;
  int crash_at_ = -1;
  std::vector<std::string> log_;
  std::map<int, std::string> dir_names_;
  std::map<int, std::string> fd_names_;
  std::map<std::string, File> files_;
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
  EXPECT_EQ(fs.log(), (std::vector<std::string>{"sync_dir incoming", "write " + id, "write " + id,
                                                "sync_data " + id, "rename " + id + " active",
                                                "sync_dir active"}));
}

// Crash at every call of one commit (and of several concurrent ones), then lose what was
// not synced. Acknowledged -> present and whole. Never a partial file in active/.
void crash_everywhere(int messages, size_t content_size) {
  for (int crash_point = 0;; ++crash_point) {
    TempDir tmp;
    FaultInjectionFilesystem fs(tmp.path());
    std::vector<std::pair<std::string, std::string>> acknowledged;  // id, content
    {
      Spool::Options o{tmp.path(), 3, &fs, false};
      auto spool = Spool::open(o);
      ASSERT_TRUE(spool.ok());
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
      fs.drop_unsynced();
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
    if (acknowledged.size() == size_t(messages)) break;  // crash point past the last call
    ASSERT_LT(crash_point, 1000);
  }
}

// The same with every queue file reused from free/ (old, longer messages there), so that
// commits take the write_back path: a crash may now leave a new name in active/ over old
// bytes, which must be rejected (checksum) or name its own, other queue id, never decode
// as a message that was not committed under that name.
void crash_everywhere_reusing(int messages) {
  for (int crash_point = 0;; ++crash_point) {
    TempDir tmp;
    ASSERT_EQ(::mkdir((tmp.path() + "/free").c_str(), 0700), 0);
    for (int i = 0; i < messages; ++i) {
      message::Envelope old = envelope();
      old.queue_id = Spool::make_queue_id(1000 + i, 1);
      old.arrival_us = 1000 + i;
      const std::string head =
          encode_envelope(old) + encode_content("Subject: old\r\n\r\n" + std::string(3000, 'o'));
      std::ofstream(tmp.path() + "/free/" + old.queue_id, std::ios::binary)
          << head + encode_end_after(head);
    }
    FaultInjectionFilesystem fs(tmp.path());
    std::map<std::string, std::string> committed;  // every commit attempted: id -> content
    std::vector<std::string> acknowledged;
    {
      Spool::Options o{tmp.path(), 3, &fs, false, messages};
      auto spool = Spool::open(o);
      ASSERT_TRUE(spool.ok());
      while (!list_names(tmp.path() + "/free").empty()) std::this_thread::yield();  // pool full
      fs.crash_at(crash_point);
      std::vector<std::pair<std::string, std::future<Result<std::string>>>> results;
      for (int i = 0; i < messages; ++i) {
        auto m = (*spool)->begin(envelope());
        if (!m.ok()) continue;
        std::string content = "Subject: " + std::to_string(i) + "\r\n\r\n" + std::string(100, 'n');
        if (!(*m)->append(content).ok()) continue;
        committed[(*m)->queue_id()] = content;
        auto p = std::make_shared<std::promise<Result<std::string>>>();
        results.emplace_back((*m)->queue_id(), p->get_future());
        (*spool)->commit(std::move(*m), [p](Result<std::string> r) { p->set_value(r); });
      }
      for (auto& [id, result] : results) {
        if (result.get().ok()) acknowledged.push_back(id);
      }
      fs.drop_unsynced();
    }
    for (const auto& id : acknowledged) {
      auto f = decode_queue_file(read_file(tmp.path() + "/active/" + id));
      ASSERT_TRUE(f.ok()) << "crash point " << crash_point << ": acknowledged " << id
                          << " lost: " << f.error().message;
      EXPECT_EQ(f->envelope.queue_id, id);
      EXPECT_EQ(f->content, committed[id]);
    }
    for (const auto& name : list_names(tmp.path() + "/active")) {
      auto f = decode_queue_file(read_file(tmp.path() + "/active/" + name));
      if (!f.ok() || f->envelope.queue_id != name) continue;  // rejected, or stale: not delivered
      EXPECT_EQ(f->content, committed[name]) << "crash point " << crash_point << ": " << name;
    }
    if (acknowledged.size() == size_t(messages)) {
      const std::vector<std::string> log = fs.log();
      EXPECT_NE(std::find(log.begin(), log.end(), "write_back " + acknowledged[0]), log.end())
          << "the reused files were not merely written back";
      break;  // crash point past the last call
    }
    ASSERT_LT(crash_point, 1000);
  }
}

TEST(SpoolFault, CrashAtEveryCallOneMessage) { crash_everywhere(1, 100); }
TEST(SpoolFault, CrashAtEveryCallLargeMessage) { crash_everywhere(1, 200 * 1024); }
TEST(SpoolFault, CrashAtEveryCallConcurrentMessages) { crash_everywhere(5, 100); }
TEST(SpoolFault, CrashAtEveryCallReusedFileOneMessage) { crash_everywhere_reusing(1); }
TEST(SpoolFault, CrashAtEveryCallReusedFilesConcurrentMessages) { crash_everywhere_reusing(5); }

}  // namespace
}  // namespace estafeta::queue
