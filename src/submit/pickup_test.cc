// Tests for the maildrop directory and the pickup service against the real file system: a
// ready file is queued and removed; a file being written is left; malformed, linked,
// symlinked, oversized and refused submissions are moved aside, never queued, never fatal;
// a message the cleanup stage refuses permanently bounces to its sender, one refused
// temporarily stays in maildrop/ until the next rescan.
#include "submit/pickup.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "log/memory_sink.h"
#include "maps/map_set.h"
#include "maps/regexp_map.h"
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
    return Pickup(options(), std::move(policy), *spool_, log_);
  }

  PickupOptions options() const {
    PickupOptions options;
    options.queue_directory = dir_.path();
    options.myorigin = "example.org";
    options.myhostname = "mail.example.org";
    options.message_size_limit = 4096;
    options.maildrop_group = ::getegid();
    options.notices.myhostname = "mail.example.org";
    return options;
  }

  // The queue file active/<id>.
  queue::QueueFile queued(const std::string& id) const {
    auto store = queue::QueueStore::open({dir_.path()});
    EXPECT_TRUE(store.ok());
    auto read = (*store)->read_message(queue::QueueName::kActive, id);
    EXPECT_TRUE(read.value) << read.reason;
    return read.value ? read.value->file : queue::QueueFile{};
  }

  // A pickup whose header_checks are the regexp `rules`, with `r` dropped for it.
  Pickup pickup_with_header_checks(std::string_view rules, const DropRequest& r) {
    header_checks_ = maps::build_regexp_map(rules, "header_checks");
    EXPECT_TRUE(header_checks_.map);
    PickupOptions o = options();
    o.content.header_checks = {header_checks_.map.get()};
    EXPECT_TRUE(write_drop_file(dir_.path(), encode_drop_file(r)).ok());
    return Pickup(o, open_policy(), *spool_, log_);
  }

  int log_lines_with(std::string_view text) const {
    int n = 0;
    for (const auto& line : sink_->lines()) n += line.find(text) != std::string::npos;
    return n;
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
  maps::BuiltMap header_checks_;
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

// smtputf8_autodetect_classes: a UTF-8 header value or address flags the message as SMTPUTF8
// for the origins listed (files of the trusted user are forwards).
TEST_F(PickupTest, Smtputf8AutodetectByOriginClass) {
  auto queue_one = [&](PickupOptions o, DropRequest r) {
    for (const auto& name : active()) ::unlink((dir_.path() + "/active/" + name).c_str());
    EXPECT_TRUE(write_drop_file(dir_.path(), encode_drop_file(r)).ok());
    Pickup pickup(o, open_policy(), *spool_, log_);
    EXPECT_EQ(*pickup.scan(), 1);
    EXPECT_EQ(active().size(), 1u);
    return queued(active().at(0)).envelope.smtputf8;
  };
  DropRequest utf8_subject = request();
  utf8_subject.content = "Subject: caf\xc3\xa9\n\nbody\n";
  DropRequest utf8_body = request();
  utf8_body.content = "Subject: hello\n\ncaf\xc3\xa9\n";
  DropRequest utf8_recipient = request();
  utf8_recipient.recipients = {"j\xc3\xb6rg@example.org"};
  PickupOptions sendmail = options();
  sendmail.smtputf8_autodetect = message::Smtputf8Autodetect::parse(true, "sendmail, verify");
  EXPECT_TRUE(queue_one(sendmail, utf8_subject));
  EXPECT_TRUE(queue_one(sendmail, utf8_recipient));
  EXPECT_FALSE(queue_one(sendmail, utf8_body));
  EXPECT_FALSE(queue_one(sendmail, request()));
  PickupOptions forward = sendmail;
  forward.trusted_uid = ::geteuid();
  EXPECT_FALSE(queue_one(forward, utf8_subject));
  forward.smtputf8_autodetect = message::Smtputf8Autodetect::parse(true, "forward");
  EXPECT_TRUE(queue_one(forward, utf8_subject));
  PickupOptions disabled = options();
  disabled.smtputf8_autodetect = message::Smtputf8Autodetect::parse(false, "all");
  EXPECT_FALSE(queue_one(disabled, utf8_subject));
  EXPECT_FALSE(queue_one(disabled, utf8_recipient));
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
  SubmitPolicy strict(
      {{}, {set.set->find("static:anyone")}, {set.set->find("inline:{ root=root@example.org }")}});
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

// header_checks REJECT of a local submission: a bounce to the sender with the reply's text,
// from the null sender, with the original attached; nothing in corrupt/, no retry.
TEST_F(PickupTest, PermanentContentRefusalBouncesToTheSender) {
  DropRequest spam = request();
  spam.sender = "alice";
  spam.content = "Subject: buy now\n\ncheap\n";
  Pickup pickup =
      pickup_with_header_checks("/^Subject: buy now/ REJECT 5.7.1 no spam here\n", spam);
  auto scanned = pickup.scan();
  ASSERT_TRUE(scanned.ok());
  EXPECT_EQ(*scanned, 0);  // the message is not queued; its notice is
  EXPECT_TRUE(maildrop().empty());
  EXPECT_TRUE(corrupt().empty());
  ASSERT_EQ(active().size(), 1u);
  const queue::QueueFile notice = queued(active()[0]);
  EXPECT_EQ(notice.envelope.sender, "");
  ASSERT_EQ(notice.envelope.recipients.size(), 1u);
  EXPECT_EQ(notice.envelope.recipients[0].address, "alice@example.org");
  EXPECT_NE(notice.content.find("no spam here"), std::string::npos) << notice.content;
  EXPECT_NE(notice.content.find("Status: 5.7.1"), std::string::npos) << notice.content;
  EXPECT_NE(notice.content.find("bob@example.org"), std::string::npos);
  EXPECT_NE(notice.content.find("Subject: buy now"), std::string::npos);  // the original
  EXPECT_EQ(log_lines_with("reject: local submission"), 1);
  EXPECT_EQ(*pickup.scan(), 0);
  EXPECT_EQ(active().size(), 1u);  // one notice, once
}

// NOTIFY=NEVER: refused, removed, and nobody is told.
TEST_F(PickupTest, PermanentRefusalWithoutNotifyFailureSendsNothing) {
  DropRequest quiet = request();
  quiet.notify = "never";
  Pickup pickup = pickup_with_header_checks("/^Subject: hello/ REJECT\n", quiet);
  EXPECT_EQ(*pickup.scan(), 0);
  EXPECT_TRUE(maildrop().empty());
  EXPECT_TRUE(corrupt().empty());
  EXPECT_TRUE(active().empty());
}

// A table that cannot answer.
class BrokenMap : public maps::Map {
 public:
  maps::LookupResult lookup(std::string_view) const override {
    return maps::LookupResult::temp_fail("connection refused");
  }
};

// A temporary refusal leaves the file in maildrop/ and is not tried again before the
// rescan interval: wake-ups in between do not make a retry loop.
TEST_F(PickupTest, TemporaryRefusalStaysUntilTheRescanInterval) {
  BrokenMap broken;
  PickupOptions o = options();
  o.content.header_checks = {&broken};
  o.scan_interval = std::chrono::hours(1);
  ASSERT_TRUE(write_drop_file(dir_.path(), encode_drop_file(request())).ok());
  Pickup pickup(o, open_policy(), *spool_, log_);
  EXPECT_EQ(*pickup.scan(), 0);
  EXPECT_EQ(*pickup.scan(), 0);
  EXPECT_EQ(maildrop().size(), 1u);
  EXPECT_TRUE(active().empty());
  EXPECT_TRUE(corrupt().empty());
  EXPECT_EQ(log_lines_with("not queued: 451 4.3.0"), 1);
  EXPECT_EQ(log_lines_with("will try again in 3600s"), 1);

  o.scan_interval = std::chrono::seconds(0);  // the interval has passed: tried again
  Pickup again(o, open_policy(), *spool_, log_);
  EXPECT_EQ(*again.scan(), 0);
  EXPECT_EQ(*again.scan(), 0);
  EXPECT_EQ(log_lines_with("not queued: 451 4.3.0"), 3);
  EXPECT_EQ(maildrop().size(), 1u);
}

// Refused temporarily for longer than maximal_queue_lifetime since it was written: bounced,
// as a queued message would expire, instead of waiting in maildrop/ for ever.
TEST_F(PickupTest, TemporaryRefusalForTooLongBounces) {
  BrokenMap broken;
  PickupOptions o = options();
  o.content.header_checks = {&broken};
  o.maximal_lifetime = std::chrono::hours(24);
  DropRequest r = request();
  r.sender = "alice";
  auto written = write_drop_file(dir_.path(), encode_drop_file(r));
  ASSERT_TRUE(written.ok());
  const timeval old[2] = {{::time(nullptr) - 2 * 86400, 0}, {::time(nullptr) - 2 * 86400, 0}};
  ASSERT_EQ(::utimes(maildrop_path(*written).c_str(), old), 0);
  Pickup pickup(o, open_policy(), *spool_, log_);
  EXPECT_EQ(*pickup.scan(), 0);
  EXPECT_TRUE(maildrop().empty());
  ASSERT_EQ(active().size(), 1u);
  const queue::QueueFile notice = queued(active()[0]);
  EXPECT_EQ(notice.envelope.recipients[0].address, "alice@example.org");
  EXPECT_NE(notice.content.find("Status: 5.4.7"), std::string::npos) << notice.content;
  EXPECT_NE(notice.content.find("not queued in 2 days: 451 4.3.0"), std::string::npos);
}

}  // namespace
}  // namespace estafeta::submit
