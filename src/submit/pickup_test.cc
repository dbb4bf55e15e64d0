// Tests for the maildrop directory and the pickup service against the real file system: a
// ready file is queued and removed; a file being written is left; malformed, linked,
// symlinked, oversized and refused submissions are moved aside, never queued, never fatal.
#include "submit/pickup.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "log/memory_sink.h"
#include "maps/map_set.h"
#include "queue/queue_store.h"
#include "queue/test_util.h"
#include "submit/drop_file.h"
#include "submit/maildrop.h"

namespace estafeta::submit {
namespace {

using queue::testing::list_names;
using queue::testing::TempDir;

class PickupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string maildrop = dir_.path() + "/maildrop";
    ASSERT_EQ(::mkdir(maildrop.c_str(), 0700), 0);
    ASSERT_EQ(::chmod(maildrop.c_str(), 03733), 0);
    queue::Spool::Options spool_options;
    spool_options.queue_directory = dir_.path();
    spool_options.sync_threads = 1;
    spool_options.send_wakeups = false;
    auto spool = queue::Spool::open(spool_options);
    ASSERT_TRUE(spool.ok());
    spool_ = std::move(*spool);
    tables_ = maps::MapSet::open({"static:anyone", "static:*"}).set;
  }

  Pickup make_pickup(SubmitPolicy policy) {
    PickupOptions options;
    options.queue_directory = dir_.path();
    options.myorigin = "example.org";
    options.myhostname = "mail.example.org";
    options.message_size_limit = 4096;
    options.maildrop_group = ::getegid();
    return Pickup(options, std::move(policy), *spool_, log_);
  }

  SubmitPolicy open_policy() const {
    return SubmitPolicy({{}, {tables_->find("static:anyone")}, {tables_->find("static:*")}});
  }

  static DropRequest request() {
    DropRequest r;
    r.recipients = {"bob"};
    r.content = "Subject: hello\n\nbody\n";
    return r;
  }

  std::vector<std::string> active() const { return list_names(dir_.path() + "/active"); }
  std::vector<std::string> maildrop() const { return list_names(dir_.path() + "/maildrop"); }
  std::vector<std::string> corrupt() const { return list_names(dir_.path() + "/corrupt"); }
  std::string maildrop_path(const std::string& name) const {
    return dir_.path() + "/maildrop/" + name;
  }

  TempDir dir_;
  std::unique_ptr<queue::Spool> spool_;
  std::shared_ptr<const maps::MapSet> tables_;
  std::shared_ptr<log::MemorySink> sink_ = std::make_shared<log::MemorySink>();
  log::Logger log_{sink_, "estafeta/pickup"};
};

TEST_F(PickupTest, ReadyFileIsQueuedThenRemoved) {
  auto written = write_drop_file(dir_.path(), encode_drop_file(request()));
  ASSERT_TRUE(written.ok()) << written.error().message;
  struct stat st {};
  ASSERT_EQ(::stat(maildrop_path(*written).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  Pickup pickup = make_pickup(open_policy());
  auto scanned = pickup.scan();
  ASSERT_TRUE(scanned.ok());
  EXPECT_EQ(*scanned, 1);
  EXPECT_TRUE(maildrop().empty());
  ASSERT_EQ(active().size(), 1u);
  auto store = queue::QueueStore::open({dir_.path()});
  ASSERT_TRUE(store.ok());
  auto read = (*store)->read_message(queue::QueueName::kActive, active()[0]);
  ASSERT_TRUE(read.value) << read.reason;
  const auto& envelope = read.value->file.envelope;
  const passwd* me = ::getpwuid(::geteuid());
  ASSERT_NE(me, nullptr);
  EXPECT_EQ(envelope.sender, std::string(me->pw_name) + "@example.org");  // the file's owner
  EXPECT_EQ(envelope.recipients.at(0).address, "bob@example.org");
  EXPECT_NE(read.value->file.content.find("(Estafeta, from userid "), std::string::npos);
  EXPECT_NE(read.value->file.content.find("Subject: hello\r\n"), std::string::npos);
}

TEST_F(PickupTest, FileBeingWrittenIsLeft) {
  const int fd = ::open(maildrop_path("0001").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  ASSERT_GE(fd, 0);
  const std::string bytes = encode_drop_file(request());
  ASSERT_EQ(::write(fd, bytes.data(), bytes.size()), ssize_t(bytes.size()));
  ::close(fd);
  Pickup pickup = make_pickup(open_policy());
  EXPECT_EQ(*pickup.scan(), 0);
  EXPECT_EQ(maildrop(), std::vector<std::string>{"0001"});
  EXPECT_TRUE(active().empty());
}

TEST_F(PickupTest, BadFilesAreMovedAsideNotQueued) {
  auto ready = [&](const std::string& name, const std::string& bytes) {
    const int fd = ::open(maildrop_path(name).c_str(), O_WRONLY | O_CREAT | O_EXCL, 0640);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, bytes.data(), bytes.size()), ssize_t(bytes.size()));
    ::fchmod(fd, 0640);
    ::close(fd);
  };
  ready("01-garbage", "From: me\n\nnot a drop file\n");
  ready("02-truncated", encode_drop_file(request()).substr(0, 20));
  ready("03-large", encode_drop_file([] {
          DropRequest r = request();
          r.content.assign(1 << 20, 'x');
          return r;
        }()));
  ready("04-linked", encode_drop_file(request()));
  ASSERT_EQ(::link(maildrop_path("04-linked").c_str(), (dir_.path() + "/elsewhere").c_str()), 0);
  ASSERT_EQ(::symlink("/etc/passwd", maildrop_path("05-symlink").c_str()), 0);
  DropRequest no_recipients = request();
  no_recipients.recipients.clear();
  ready("06-no-recipients", encode_drop_file(no_recipients));
  ASSERT_EQ(::mkfifo(maildrop_path("07-fifo").c_str(), 0640), 0);
  Pickup pickup = make_pickup(open_policy());
  auto scanned = pickup.scan();
  ASSERT_TRUE(scanned.ok());
  EXPECT_EQ(*scanned, 0);
  EXPECT_TRUE(active().empty());
  EXPECT_TRUE(maildrop().empty());
  EXPECT_EQ(corrupt().size(), 7u);
  int warnings = 0;
  for (const auto& line : sink_->lines()) {
    if (line.find("warning: maildrop/0") != std::string::npos &&
        line.find("moved to corrupt/") != std::string::npos) {
      ++warnings;
    }
  }
  EXPECT_EQ(warnings, 7);
}

TEST_F(PickupTest, SenderPolicyRefusesForgedSender) {
  auto set = maps::MapSet::open({"static:anyone", "inline:{ root=root@example.org }"});
  ASSERT_TRUE(set.ok());
  SubmitPolicy strict({{}, {set.set->find("static:anyone")},
                       {set.set->find("inline:{ root=root@example.org }")}});
  DropRequest forged = request();
  forged.sender = "ceo@bank.example";
  ASSERT_TRUE(write_drop_file(dir_.path(), encode_drop_file(forged)).ok());
  DropRequest own = request();
  own.sender = "root";  // qualified: root@example.org
  ASSERT_TRUE(write_drop_file(dir_.path(), encode_drop_file(own)).ok());
  Pickup pickup = make_pickup(strict);
  // Tests run as root in CI; under another user the login differs and both are refused.
  if (::geteuid() != 0) GTEST_SKIP() << "needs to run as root (the policy names root)";
  EXPECT_EQ(*pickup.scan(), 1);
  EXPECT_EQ(corrupt().size(), 1u);
  EXPECT_EQ(active().size(), 1u);
}

}  // namespace
}  // namespace estafeta::submit
