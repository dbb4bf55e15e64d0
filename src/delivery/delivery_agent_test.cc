// Delivery agent tests in a temporary queue and mail spool: deliver_one into Maildir with
// CRLF -> LF and the prepended headers, Postfix-format log lines, idempotent redelivery of a
// re-created queue file, files under another id's name, remote recipients deferred (never
// lost, their status in the status log), illegal mailbox names, corrupt files, and run()
// end to end in a child process
// stopped by SIGTERM, with the gathering of files into rounds and the finishing thread.
#include "delivery/delivery_agent.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <regex>
#include <thread>

#include "log/memory_sink.h"
#include "queue/queue_file.h"
#include "queue/spool.h"
#include "queue/test_util.h"

namespace estafeta::delivery {
namespace {

using queue::testing::list_names;
using queue::testing::read_file;
using queue::testing::TempDir;

struct Fixture {
  TempDir tmp;
  std::string queue = tmp.path() + "/queue";
  std::string mail = tmp.path() + "/mail";
  std::shared_ptr<log::MemorySink> sink = std::make_shared<log::MemorySink>();
  std::unique_ptr<queue::Spool> spool;

  Fixture() { open_spool(); }

  void open_spool() {
    queue::Spool::Options o;
    o.queue_directory = queue;
    o.sync_threads = 2;
    auto s = queue::Spool::open(o);
    EXPECT_TRUE(s.ok());
    if (s.ok()) spool = std::move(*s);
  }

  DeliveryAgent agent(int concurrency = 2,
                      std::chrono::microseconds gather_window = std::chrono::milliseconds(2),
                      std::chrono::microseconds sync_window = std::chrono::milliseconds(1)) {
    DeliveryAgentOptions o;
    o.queue_directory = queue;
    o.mail_spool_directory = mail;
    o.local_domains = policy::DomainList({"localhost", "example.test"}, {}, false);
    o.myhostname = "mx.example.test";
    o.concurrency = concurrency;
    o.gather_window = gather_window;
    o.new_dir_sync_window = sync_window;
    o.scan_interval_seconds = 1;
    return DeliveryAgent(o, log::Logger(sink, "estafeta/qmgr"),
                         log::Logger(sink, "estafeta/local"));
  }

  std::string enqueue(std::vector<std::string> rcpts, std::string content,
                      std::string sender = "alice@example.org") {
    message::Envelope e;
    e.sender = std::move(sender);
    for (auto& r : rcpts) e.recipients.push_back({r, "", ""});
    auto m = spool->begin(e);
    EXPECT_TRUE(m.ok());
    EXPECT_TRUE((*m)->append(content).ok());
    std::promise<Result<std::string>> p;
    spool->commit(std::move(*m), [&p](Result<std::string> r) { p.set_value(r); });
    auto r = p.get_future().get();
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : "";
  }

  std::vector<std::string> new_files(const std::string& mailbox) {
    return list_names(mail + "/" + mailbox + "/Maildir/new");
  }

  /// Polls until `done()` holds. Failure guard only (no timing threshold): gives up after a
  /// generous bound; the caller's expectation then fails.
  static void poll_until(const std::function<bool()>& done) {
    for (int i = 0; i < 3000 && !done(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  /// Polls until `mailbox` holds n messages; returns the count then.
  size_t wait_for_new_files(const std::string& mailbox, size_t n) {
    poll_until([&] { return new_files(mailbox).size() >= n; });
    return new_files(mailbox).size();
  }

  /// Runs the agent in a child process (fork only a single-threaded process: the spool
  /// and its threads are closed around the fork and reopened).
  pid_t start_agent(int concurrency, std::chrono::microseconds gather_window,
                    std::chrono::microseconds sync_window = std::chrono::milliseconds(1)) {
    spool.reset();
    pid_t child = ::fork();
    if (child == 0) ::_exit(agent(concurrency, gather_window, sync_window).run());
    open_spool();
    return child;
  }

  /// SIGTERM, a clean exit, and nothing left in active/.
  void stop_agent_and_expect_drained(pid_t child) {
    ASSERT_EQ(::kill(child, SIGTERM), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
    EXPECT_TRUE(list_names(queue + "/active").empty());
  }
};

bool has_line(const std::vector<std::string>& lines, const std::string& pattern) {
  std::regex re(pattern);
  for (const auto& l : lines) {
    if (std::regex_match(l, re)) return true;
  }
  return false;
}

TEST(DeliveryAgent, DeliversToMaildirAndRemovesQueueFile) {
  Fixture f;
  const std::string id =
      f.enqueue({"bob@localhost", "Carol@Example.Test"}, "Subject: hi\r\n\r\nline1\r\nline2\r\n");
  EXPECT_TRUE(f.agent().deliver_one(id));
  auto bob = f.new_files("bob");
  ASSERT_EQ(bob.size(), 1u);
  EXPECT_NE(bob[0].find(".Q" + id + "R0.mx.example.test"), std::string::npos) << bob[0];
  EXPECT_EQ(read_file(f.mail + "/bob/Maildir/new/" + bob[0]),
            "Return-Path: <alice@example.org>\nDelivered-To: bob@localhost\n"
            "Subject: hi\n\nline1\nline2\n");
  ASSERT_EQ(f.new_files("carol").size(), 1u);  // mailbox names are lower-cased
  EXPECT_TRUE(list_names(f.queue + "/active").empty());
  // The finished queue file is gone, not kept anywhere for reuse.
  EXPECT_FALSE(std::filesystem::exists(f.queue + "/free"));
  EXPECT_TRUE(list_names(f.queue + "/status").empty());
  auto lines = f.sink->lines();
  EXPECT_TRUE(has_line(
      lines,
      "estafeta/qmgr: " + id + ": from=<alice@example.org>, size=29, nrcpt=2 \\(queue active\\)"));
  EXPECT_TRUE(has_line(lines, "estafeta/local: " + id +
                                  ": to=<bob@localhost>, relay=local, delay=[0-9.]+, "
                                  "delays=[0-9.]+/[0-9.]+/0/[0-9.]+, dsn=2.0.0, "
                                  "status=sent \\(delivered to maildir\\)"));
  EXPECT_TRUE(has_line(lines, "estafeta/qmgr: " + id + ": removed"));
}

TEST(DeliveryAgent, RedeliveryOfARecreatedQueueFileIsIdempotent) {
  Fixture f;
  const std::string id = f.enqueue({"bob@localhost"}, "Subject: once\r\n\r\nx\r\n");
  const std::string bytes = read_file(f.queue + "/active/" + id);
  EXPECT_TRUE(f.agent().deliver_one(id));
  // A crash after new/ was synced but before the unlink was: the file comes back.
  std::ofstream(f.queue + "/active/" + id, std::ios::binary) << bytes;
  EXPECT_TRUE(f.agent().deliver_one(id));
  EXPECT_EQ(f.new_files("bob").size(), 1u);
  EXPECT_TRUE(list_names(f.queue + "/active").empty());
}

TEST(DeliveryAgent, FileUnderAnotherIdsNameIsCorruptNotDelivered) {
  Fixture f;
  // Files are never reused, so a file whose I record is not its name is damaged (or was
  // put there by hand): kept for a human, never delivered.
  const std::string id = f.enqueue({"bob@localhost"}, "Subject: new\r\n\r\nx\r\n");
  const std::string other = "0000000000AA000001";
  ASSERT_EQ(::link((f.queue + "/active/" + id).c_str(), (f.queue + "/active/" + other).c_str()),
            0);
  EXPECT_FALSE(f.agent().deliver_one(other));
  EXPECT_TRUE(f.new_files("bob").empty());
  EXPECT_EQ(list_names(f.queue + "/corrupt"), std::vector<std::string>{other});
  EXPECT_TRUE(has_line(f.sink->lines(), "estafeta/qmgr: warning: " + other +
                                            ": corrupt queue file: the file's queue id is " +
                                            id + ", not its name; moved to corrupt/"));
  EXPECT_TRUE(f.agent().deliver_one(id));  // the message itself is delivered once
  EXPECT_EQ(f.new_files("bob").size(), 1u);
}

TEST(DeliveryAgent, EmptyFileIsCorrupt) {
  Fixture f;
  // Never an acknowledged message (those are synced whole before the 250).
  const std::string id = "0000000000AA000001";
  std::ofstream(f.queue + "/active/" + id, std::ios::binary).flush();
  EXPECT_FALSE(f.agent().deliver_one(id));
  EXPECT_TRUE(list_names(f.queue + "/active").empty());
  EXPECT_EQ(list_names(f.queue + "/corrupt"), std::vector<std::string>{id});
}

TEST(DeliveryAgent, RemoteRecipientsAreDeferredNeverLost) {
  Fixture f;
  const std::string id = f.enqueue({"bob@localhost", "eve@remote.example"}, "x\r\n");
  auto agent = f.agent();
  EXPECT_FALSE(agent.deliver_one(id));
  EXPECT_EQ(f.new_files("bob").size(), 1u);
  EXPECT_TRUE(list_names(f.queue + "/active").empty());
  ASSERT_EQ(list_names(f.queue + "/deferred"), std::vector<std::string>{id});
  // The queue file is as it was committed; the status log says bob is done.
  auto store = queue::QueueStore::open({.queue_directory = f.queue});
  ASSERT_TRUE(store.ok());
  auto stored = (*store)->read_envelope(queue::QueueName::kDeferred, id);
  ASSERT_TRUE(stored.ok()) << stored.reason;
  ASSERT_EQ(stored.value->recipients.size(), 2u);
  EXPECT_TRUE(stored.value->recipients[0].done);
  EXPECT_FALSE(stored.value->recipients[1].done);
  EXPECT_EQ(stored.value->recipients[1].last.dsn, "4.3.0");
  EXPECT_TRUE(has_line(f.sink->lines(),
                       "estafeta/qmgr: " + id +
                           ": to=<eve@remote.example>, relay=none, .*"
                           "status=deferred \\(remote delivery is not implemented yet\\)"));
  // Brought back to active/ (a later queue manager), bob is not delivered a second time.
  ASSERT_EQ(::rename((f.queue + "/deferred/" + id).c_str(), (f.queue + "/active/" + id).c_str()),
            0);
  EXPECT_FALSE(agent.deliver_one(id));
  EXPECT_EQ(f.new_files("bob").size(), 1u);
}

TEST(DeliveryAgent, IllegalMailboxNameIsBouncedAndDropped) {
  Fixture f;
  const std::string id = f.enqueue({".hidden@localhost", "bob@localhost"}, "x\r\n");
  EXPECT_TRUE(f.agent().deliver_one(id));
  EXPECT_EQ(f.new_files("bob").size(), 1u);
  EXPECT_TRUE(list_names(f.mail + "/.hidden").empty());
  EXPECT_TRUE(has_line(f.sink->lines(), "estafeta/local: " + id +
                                            ": to=<.hidden@localhost>, relay=local, .*"
                                            "status=bounced \\(illegal mailbox name\\)"));
  EXPECT_TRUE(list_names(f.queue + "/active").empty());
}

TEST(DeliveryAgent, CorruptFileIsNeverDeliveredAndMovedAside) {
  Fixture f;
  const std::string id = f.enqueue({"bob@localhost"}, "x\r\n");
  const std::string path = f.queue + "/active/" + id;
  std::string bytes = read_file(path);
  std::ofstream(path, std::ios::binary) << bytes.substr(0, bytes.size() - 2);  // no END
  EXPECT_FALSE(f.agent().deliver_one(id));
  EXPECT_TRUE(f.new_files("bob").empty());
  EXPECT_EQ(list_names(f.queue + "/corrupt"), std::vector<std::string>{id});
}

TEST(DeliveryAgent, MissingFileCountsAsDone) {
  Fixture f;
  EXPECT_TRUE(f.agent().deliver_one("0123456789ABCDEF01"));
}

TEST(DeliveryAgent, RunDeliversExistingAndWokenMessagesUntilSigterm) {
  Fixture f;
  f.enqueue({"bob@localhost"}, "Subject: before\r\n\r\n");
  const pid_t child = f.start_agent(2, std::chrono::milliseconds(2));
  ASSERT_GE(child, 0);
  EXPECT_EQ(f.wait_for_new_files("bob", 1), 1u);
  // The agent has bound public/qmgr by now (it delivered); this one arrives by wake-up.
  f.enqueue({"bob@localhost"}, "Subject: after\r\n\r\n");
  EXPECT_EQ(f.wait_for_new_files("bob", 2), 2u);
  f.stop_agent_and_expect_drained(child);
}

// Gathering: a file waits for the window to close unless a full round of `concurrency`
// files is there first. With a window of an hour, the first file stays queued until the
// second one completes the round; then both go at once.
TEST(DeliveryAgent, GatheringReleasesAFullRoundWithoutWaitingForTheWindow) {
  Fixture f;
  f.enqueue({"bob@localhost"}, "Subject: first\r\n\r\n");
  const pid_t child = f.start_agent(2, std::chrono::hours(1));
  ASSERT_GE(child, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(f.new_files("bob").empty()) << "delivered before the round was full";
  f.enqueue({"bob@localhost"}, "Subject: second\r\n\r\n");
  EXPECT_EQ(f.wait_for_new_files("bob", 2), 2u);
  f.stop_agent_and_expect_drained(child);
}

// Fewer files than a round: delivered once the window closes, by the thread watching it.
TEST(DeliveryAgent, GatheringDeliversAPartialRoundWhenTheWindowCloses) {
  Fixture f;
  const pid_t child = f.start_agent(8, std::chrono::milliseconds(50));
  ASSERT_GE(child, 0);
  // Wait until the agent serves public/qmgr, so that each file arrives by wake-up.
  Fixture::poll_until([&] { return std::filesystem::exists(f.queue + "/public/qmgr"); });
  for (int i = 0; i < 3; ++i) f.enqueue({"bob@localhost"}, "Subject: few\r\n\r\n");
  EXPECT_EQ(f.wait_for_new_files("bob", 3), 3u);
  f.enqueue({"bob@localhost"}, "Subject: later\r\n\r\n");
  EXPECT_EQ(f.wait_for_new_files("bob", 4), 4u);
  f.stop_agent_and_expect_drained(child);
}

// The queue file goes only after the finishing thread has synced new/: with a sync window
// of an hour the message is linked into new/ but its queue file stays in active/; SIGTERM
// makes the finishing thread complete it at once.
TEST(DeliveryAgent, QueueFileStaysUntilNewIsSyncedAndStopFinishesIt) {
  Fixture f;
  const std::string id = f.enqueue({"bob@localhost"}, "Subject: linked\r\n\r\n");
  const pid_t child = f.start_agent(2, std::chrono::microseconds(0), std::chrono::hours(1));
  ASSERT_GE(child, 0);
  EXPECT_EQ(f.wait_for_new_files("bob", 1), 1u);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(list_names(f.queue + "/active"), std::vector<std::string>{id});
  f.stop_agent_and_expect_drained(child);
  EXPECT_TRUE(list_names(f.queue + "/active").empty());
}

// One batch of the finishing thread with many Maildirs (their new/ syncs run in parallel)
// and a message with several recipients in different Maildirs: all delivered, all removed.
TEST(DeliveryAgent, FinishesABatchSpreadOverManyMaildirs) {
  Fixture f;
  for (int i = 0; i < 6; ++i) {
    f.enqueue({"user" + std::to_string(i) + "@localhost"}, "Subject: spread\r\n\r\n");
  }
  f.enqueue({"user0@localhost", "user6@localhost", "user7@localhost"}, "Subject: multi\r\n\r\n");
  const pid_t child = f.start_agent(4, std::chrono::milliseconds(2), std::chrono::milliseconds(50));
  ASSERT_GE(child, 0);
  EXPECT_EQ(f.wait_for_new_files("user0", 2), 2u);
  for (int i = 1; i < 8; ++i) EXPECT_EQ(f.wait_for_new_files("user" + std::to_string(i), 1), 1u);
  Fixture::poll_until([&] { return list_names(f.queue + "/active").empty(); });
  f.stop_agent_and_expect_drained(child);
}

TEST(DeliveryAgent, FormatDelay) {
  const std::vector<std::pair<double, std::string>> cases = {
      {0, "0"},     {0.001, "0"}, {0.01, "0.01"},   {0.1, "0.1"},   {0.126, "0.13"},
      {1.5, "1.5"}, {2, "2"},     {99.99, "99.99"}, {150.4, "150"}, {-1, "0"},
  };
  for (const auto& [in, out] : cases) EXPECT_EQ(format_delay(in), out) << in;
}

}  // namespace
}  // namespace estafeta::delivery
