// Fault injection for the spool (LevelDB fault_injection_test style). A Filesystem wrapper
// records every call, can "crash" the process at the N-th call (that call and all later
// ones fail and reach no disk), and then drops everything that was not synced: file data
// past the last fdatasync, directory entries made since the last fsync of their directory.
// For every crash point we check: an acknowledged message is in active/ whole; no file in
// active/ is ever partial. We also check the order write -> fdatasync -> rename -> fsync.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <map>
#include <mutex>

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
        // The entry never reached the disk. (Whether the name reappears in incoming/ does
        // not matter: incoming/ holds nothing acknowledged.)
        std::filesystem::remove(path);
      } else {
        std::filesystem::resize_file(path, f.synced_size);
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
      files_[name] = File{dir_names_[dir], false, 0, 0};
    }
    return r;
  }
  Status write_all(int fd, std::string_view data) override {
    std::lock_guard lock(mu_);
    if (crashed()) return make_error("crashed");
    log_.push_back("write " + fd_names_[fd]);
    files_[fd_names_[fd]].size += data.size();
    return real_->write_all(fd, data);
  }
  Status sync_data(int fd) override {
    std::lock_guard lock(mu_);
    if (crashed()) return make_error("crashed");
    log_.push_back("sync_data " + fd_names_[fd]);
    File& f = files_[fd_names_[fd]];
    f.synced_size = f.size;
    return real_->sync_data(fd);
  }
  Status sync_dir(int dir) override {
    std::lock_guard lock(mu_);
    if (crashed()) return make_error("crashed");
    const std::string& d = dir_names_[dir];
    log_.push_back("sync_dir " + d);
    for (auto& [name, f] : files_) {
      if (f.dir == d) f.entry_synced = true;
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
    size_t synced_size;
    size_t size;
  };
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

TEST(SpoolFault, CrashAtEveryCallOneMessage) { crash_everywhere(1, 100); }
TEST(SpoolFault, CrashAtEveryCallLargeMessage) { crash_everywhere(1, 200 * 1024); }
TEST(SpoolFault, CrashAtEveryCallConcurrentMessages) { crash_everywhere(5, 100); }

}  // namespace
}  // namespace estafeta::queue
