// Local delivery agent tests in a temporary queue and mail spool: requests delivered into
// Maildir (CRLF -> LF, the prepended headers), Postfix-format log lines, idempotent
// redelivery, illegal mailbox names bounced, unwritable mailboxes and missing files deferred,
// nothing in the queue changed, and serve() end to end over a unix socket in a child process.
#include "delivery/local_agent.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <future>
#include <regex>

#include "log/memory_sink.h"
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

  LocalAgentOptions options() const {
    LocalAgentOptions o;
    o.queue_directory = queue;
    o.mail_spool_directory = mail;
    o.myhostname = "mx.example.test";
    o.threads = 2;
    return o;
  }

  std::string enqueue(std::vector<std::string> rcpts, std::string content) {
    queue::Spool::Options o;
    o.queue_directory = queue;
    o.sync_threads = 1;
    o.send_wakeups = false;
    auto spool = queue::Spool::open(o);
    EXPECT_TRUE(spool.ok());
    message::Envelope e;
    e.sender = "alice@example.org";
    for (auto& r : rcpts) e.recipients.push_back({r, "", ""});
    auto m = (*spool)->begin(e);
    EXPECT_TRUE(m.ok());
    EXPECT_TRUE((*m)->append(content).ok());
    std::promise<Result<std::string>> p;
    (*spool)->commit(std::move(*m), [&p](Result<std::string> r) { p.set_value(r); });
    auto r = p.get_future().get();
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : "";
  }

  qmgr::AgentRequest request(const std::string& id, std::vector<std::string> rcpts) {
    qmgr::AgentRequest r;
    r.id = 7;
    r.queue_id = id;
    r.transport = "local";
    for (uint32_t i = 0; i < rcpts.size(); ++i) r.recipients.push_back({i, rcpts[i], "", ""});
    return r;
  }

  std::vector<std::string> new_files(const std::string& mailbox) {
    return list_names(mail + "/" + mailbox + "/Maildir/new");
  }
};

bool has_line(const std::vector<std::string>& lines, const std::string& pattern) {
  std::regex re(pattern);
  for (const auto& l : lines) {
    if (std::regex_match(l, re)) return true;
  }
  return false;
}

TEST(LocalAgent, DeliversToMaildirAndLeavesTheQueueAlone) {
  Fixture f;
  const std::string id =
      f.enqueue({"bob@localhost", "Carol@Example.Test"}, "Subject: hi\r\n\r\nline1\r\nline2\r\n");
  LocalAgent agent(f.options(), log::Logger(f.sink, "estafeta/local"));
  auto reply = agent.deliver(f.request(id, {"bob@localhost", "Carol@Example.Test"}));
  EXPECT_EQ(reply.id, 7u);
  ASSERT_EQ(reply.recipients.size(), 2u);
  for (const auto& r : reply.recipients) {
    EXPECT_EQ(r.outcome, qmgr::RecipientOutcome::kDelivered);
    EXPECT_EQ(r.status, "2.0.0");
  }
  auto bob = f.new_files("bob");
  ASSERT_EQ(bob.size(), 1u);
  EXPECT_NE(bob[0].find(".Q" + id + "R0.mx.example.test"), std::string::npos) << bob[0];
  EXPECT_EQ(read_file(f.mail + "/bob/Maildir/new/" + bob[0]),
            "Return-Path: <alice@example.org>\nDelivered-To: bob@localhost\n"
            "Subject: hi\n\nline1\nline2\n");
  EXPECT_EQ(f.new_files("carol").size(), 1u);  // mailbox names are lower-cased
  // The agent changes no queue state: the file is where it was, with no status log.
  EXPECT_EQ(list_names(f.queue + "/active"), std::vector<std::string>{id});
  EXPECT_TRUE(list_names(f.queue + "/status").empty());
  EXPECT_TRUE(has_line(f.sink->lines(), "estafeta/local: " + id +
                                            ": to=<bob@localhost>, relay=local, delay=[0-9.]+, "
                                            "delays=[0-9.]+/0/0/[0-9.]+, dsn=2.0.0, "
                                            "status=sent \\(delivered to maildir\\)"));
}

TEST(LocalAgent, RedeliveryIsIdempotent) {
  Fixture f;
  const std::string id = f.enqueue({"bob@localhost"}, "Subject: once\r\n\r\nx\r\n");
  LocalAgent agent(f.options(), log::Logger(f.sink, "estafeta/local"));
  for (int i = 0; i < 2; ++i) {
    auto reply = agent.deliver(f.request(id, {"bob@localhost"}));
    ASSERT_EQ(reply.recipients.size(), 1u);
    EXPECT_EQ(reply.recipients[0].outcome, qmgr::RecipientOutcome::kDelivered);
  }
  EXPECT_EQ(f.new_files("bob").size(), 1u);
}

TEST(LocalAgent, FailuresAreBouncedOrDeferredWithAReason) {
  Fixture f;
  const std::string id = f.enqueue({"../evil@localhost", "dave@localhost", "erin@localhost"}, "x\r\n");
  // dave's mailbox cannot be made: a plain file where the directory would be.
  ASSERT_EQ(::mkdir(f.mail.c_str(), 0755), 0);
  std::ofstream(f.mail + "/dave") << "not a directory";
  LocalAgent agent(f.options(), log::Logger(f.sink, "estafeta/local"));
  auto request = f.request(id, {"../evil@localhost", "dave@localhost", "erin@localhost"});
  request.recipients[2].address = "mallory@localhost";  // not what the queue file says
  auto reply = agent.deliver(request);
  ASSERT_EQ(reply.recipients.size(), 3u);
  EXPECT_EQ(reply.recipients[0].outcome, qmgr::RecipientOutcome::kBounced);
  EXPECT_EQ(reply.recipients[0].status, "5.1.3");
  EXPECT_EQ(reply.recipients[1].outcome, qmgr::RecipientOutcome::kDeferred);
  EXPECT_EQ(reply.recipients[1].status, "4.2.0");
  EXPECT_NE(reply.recipients[1].reason.find("maildir delivery failed"), std::string::npos);
  EXPECT_EQ(reply.recipients[2].outcome, qmgr::RecipientOutcome::kDeferred);
  EXPECT_TRUE(f.new_files("mallory").empty());
  EXPECT_TRUE(has_line(f.sink->lines(), "estafeta/local: " + id +
                                            ": to=<../evil@localhost>, .*dsn=5.1.3, "
                                            "status=bounced \\(illegal mailbox name\\)"));
}

TEST(LocalAgent, MissingQueueFileIsDeferred) {
  Fixture f;
  LocalAgent agent(f.options(), log::Logger(f.sink, "estafeta/local"));
  auto reply = agent.deliver(f.request("0000000000AA000001", {"bob@localhost"}));
  ASSERT_EQ(reply.recipients.size(), 1u);
  EXPECT_EQ(reply.recipients[0].outcome, qmgr::RecipientOutcome::kDeferred);
  EXPECT_EQ(reply.recipients[0].status, "4.3.0");
}

TEST(LocalAgent, ServesRequestsOverAUnixSocketUntilSigterm) {
  Fixture f;
  const std::string id = f.enqueue({"bob@localhost", "carol@localhost"}, "Subject: s\r\n\r\nx\r\n");
  const std::string path = f.tmp.path() + "/local.sock";
  int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener, 4), 0);
  pid_t child = ::fork();
  if (child == 0) {
    LocalAgent agent(f.options(), log::Logger(f.sink, "estafeta/local"));
    ::_exit(agent.serve(listener));
  }
  ::close(listener);
  int c = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_EQ(::connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  // Two requests in one write (one recipient each, as the queue manager sends to local);
  // the replies may come in any order.
  auto first = f.request(id, {"bob@localhost"});
  auto second = f.request(id, {"bob@localhost", "carol@localhost"});
  second.id = 8;
  second.recipients.erase(second.recipients.begin());
  const std::string out = qmgr::encode_request(first) + qmgr::encode_request(second);
  ASSERT_EQ(::send(c, out.data(), out.size(), 0), ssize_t(out.size()));
  std::string in;
  std::vector<uint64_t> ids;
  while (ids.size() < 2) {
    char buf[4096];
    ssize_t n = ::recv(c, buf, sizeof buf, 0);
    ASSERT_GT(n, 0) << "the agent closed the connection";
    in.append(buf, size_t(n));
    for (;;) {
      auto reply = qmgr::take_reply(in);
      ASSERT_TRUE(reply.ok()) << reply.error().message;
      if (!reply->has_value()) break;
      ASSERT_EQ((*reply)->recipients.size(), 1u);
      EXPECT_EQ((*reply)->recipients[0].outcome, qmgr::RecipientOutcome::kDelivered);
      ids.push_back((*reply)->id);
    }
  }
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<uint64_t>{7, 8}));
  EXPECT_EQ(f.new_files("bob").size(), 1u);
  EXPECT_EQ(f.new_files("carol").size(), 1u);
  ::close(c);
  ASSERT_EQ(::kill(child, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace estafeta::delivery
