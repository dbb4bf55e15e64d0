// Local delivery agent tests in a temporary queue and home directory, run as the current
// user through a real (unprivileged) spawner: Maildir in the home (CRLF -> LF, the prepended
// headers), Postfix-format log lines with orig_to, idempotent redelivery, unknown users and
// Delivered-To loops bounced, alias targets (mbox file, command, remote forward through the
// maildrop directory), nothing in the queue changed, and serve() end to end over a unix
// socket in a child process.
#include "delivery/local_agent.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <regex>

#include "log/memory_sink.h"
#include "queue/spool.h"
#include "queue/test_util.h"
#include "submit/drop_file.h"

namespace estafeta::delivery {
namespace {

using queue::testing::list_names;
using queue::testing::read_file;
using queue::testing::TempDir;

struct Fixture {
  TempDir tmp;
  std::string queue = tmp.path() + "/queue";
  std::string home = tmp.path() + "/home";
  std::string files = tmp.path() + "/files";  // writable by the test's user
  std::shared_ptr<log::MemorySink> sink = std::make_shared<log::MemorySink>();
  std::unique_ptr<PrivilegedDelivery> spawner;
  std::map<std::string, std::string> aliases;
  PlanUser me;

  Fixture() {
    auto started = PrivilegedDelivery::start();
    EXPECT_TRUE(started.ok());
    spawner = std::move(*started);
    ::mkdir(home.c_str(), 0700);
    ::mkdir(files.c_str(), 0700);
    // As root the spawner refuses uid 0: the test's user is then "nobody".
    const passwd* pw = ::geteuid() == 0 ? ::getpwnam("nobody") : ::getpwuid(::getuid());
    EXPECT_NE(pw, nullptr);
    me = {pw->pw_name, pw->pw_uid, pw->pw_gid, home, "/bin/sh"};
    if (::geteuid() == 0) {
      ::chmod(tmp.path().c_str(), 0755);
      EXPECT_EQ(::chown(home.c_str(), me.uid, me.gid), 0);
      EXPECT_EQ(::chown(files.c_str(), me.uid, me.gid), 0);
    }
  }

  LocalAgentOptions options() const {
    LocalAgentOptions o;
    o.queue_directory = queue;
    o.myhostname = "mx.example.test";
    o.threads = 2;
    o.plan.myorigin = "example.test";
    o.plan.recipient_delimiter = "+";
    o.plan.forward_path = {"$home/.forward"};
    o.plan.home_mailbox = "Maildir/";
    o.plan.mail_spool_directory = tmp.path() + "/spool";
    o.plan.allow_mail_to_commands = {"alias", "forward"};
    o.plan.allow_mail_to_files = {"alias", "forward"};
    o.plan.default_privs = me;  // unprivileged spawner: every task runs as us
    return o;
  }

  LocalAgentTables tables() {
    LocalAgentTables t;
    t.alias = [this](const std::string& k) {
      auto it = aliases.find(k);
      return it == aliases.end() ? maps::LookupResult::not_found()
                                 : maps::LookupResult::found(it->second);
    };
    t.user_by_name = [this](const std::string& n) {
      if (n != "me" && n != me.name) return UserLookup{};
      return UserLookup{maps::LookupStatus::Found, me};
    };
    t.user_by_uid = [this](uid_t uid) {
      if (uid != me.uid) return UserLookup{};
      return UserLookup{maps::LookupStatus::Found, me};
    };
    t.is_local_domain = [](const std::string& d) -> std::optional<bool> {
      return d == "localhost" || d == "example.test";
    };
    return t;
  }

  LocalAgent agent() {
    return LocalAgent(options(), tables(), *spawner, log::Logger(sink, "estafeta/local"));
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
    for (uint32_t i = 0; i < rcpts.size(); ++i) r.recipients.push_back({i, rcpts[i], "", "", {}});
    return r;
  }

  std::vector<std::string> new_files() { return list_names(home + "/Maildir/new"); }

  // Forks a child that serves the agent on a unix socket bound at `addr`; its pid, or -1.
  pid_t serve_in_child(sockaddr_un& addr) {
    const std::string path = tmp.path() + "/local.sock";
    int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listener, 4) != 0) {
      ::close(listener);
      return -1;
    }
    const pid_t child = ::fork();
    if (child == 0) {
      LocalAgent served = agent();
      ::_exit(served.serve(listener));
    }
    ::close(listener);
    return child;
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
      f.enqueue({"me@localhost", "Me+Ext@Example.Test"}, "Subject: hi\r\n\r\nline1\r\nline2\r\n");
  LocalAgent agent = f.agent();
  auto reply = agent.deliver(f.request(id, {"me@localhost", "Me+Ext@Example.Test"}));
  EXPECT_EQ(reply.id, 7u);
  ASSERT_EQ(reply.recipients.size(), 2u);
  for (const auto& r : reply.recipients) {
    EXPECT_EQ(r.outcome, qmgr::RecipientOutcome::kDelivered) << r.reason;
    EXPECT_EQ(r.status, "2.0.0");
  }
  auto files = f.new_files();
  ASSERT_EQ(files.size(), 2u);
  std::sort(files.begin(), files.end());
  EXPECT_NE(files[0].find(".Q" + id + "R0.mx.example.test"), std::string::npos) << files[0];
  EXPECT_EQ(read_file(f.home + "/Maildir/new/" + files[0]),
            "Return-Path: <alice@example.org>\nX-Original-To: me@localhost\n"
            "Delivered-To: me@localhost\nSubject: hi\n\nline1\nline2\n");
  // The agent changes no queue state: the file is where it was, with no status log.
  EXPECT_EQ(list_names(f.queue + "/active"), std::vector<std::string>{id});
  EXPECT_TRUE(list_names(f.queue + "/status").empty());
  EXPECT_TRUE(has_line(f.sink->lines(), "estafeta/local: " + id +
                                            ": to=<me@localhost>, relay=local, delay=[0-9.]+, "
                                            "delays=[0-9.]+/0/0/[0-9.]+, dsn=2.0.0, "
                                            "status=sent \\(delivered to maildir\\)"));
}

TEST(LocalAgent, RedeliveryIsIdempotent) {
  Fixture f;
  f.aliases["both"] = "me, /dev/null/x/";  // an expansion Maildir that cannot be made
  const std::string id =
      f.enqueue({"me@localhost", "both@localhost"}, "Subject: once\r\n\r\nx\r\n");
  LocalAgent agent = f.agent();
  for (int i = 0; i < 2; ++i) {
    auto reply = agent.deliver(f.request(id, {"me@localhost", "both@localhost"}));
    ASSERT_EQ(reply.recipients.size(), 2u);
    EXPECT_EQ(reply.recipients[0].outcome, qmgr::RecipientOutcome::kDelivered);
    // One target deferred: the recipient is deferred; its delivered target is not
    // written twice (its name is taken).
    EXPECT_EQ(reply.recipients[1].outcome, qmgr::RecipientOutcome::kDeferred);
  }
  EXPECT_EQ(f.new_files().size(), 2u);
}

TEST(LocalAgent, UnknownUsersAndLoopsBounce) {
  Fixture f;
  const std::string id = f.enqueue({"nosuch@localhost", "me@localhost", "x@localhost"}, "x\r\n");
  const std::string looped =
      f.enqueue({"me@localhost"}, "Delivered-To: me@localhost\r\nSubject: l\r\n\r\nx\r\n");
  LocalAgent agent = f.agent();
  auto request = f.request(id, {"nosuch@localhost", "me@localhost", "x@localhost"});
  request.recipients[2].address = "mallory@localhost";  // not what the queue file says
  auto reply = agent.deliver(request);
  ASSERT_EQ(reply.recipients.size(), 3u);
  EXPECT_EQ(reply.recipients[0].outcome, qmgr::RecipientOutcome::kBounced);
  EXPECT_EQ(reply.recipients[0].status, "5.1.1");
  EXPECT_EQ(reply.recipients[0].reason, "unknown user: \"nosuch\"");
  EXPECT_EQ(reply.recipients[1].outcome, qmgr::RecipientOutcome::kDelivered);
  EXPECT_EQ(reply.recipients[2].outcome, qmgr::RecipientOutcome::kDeferred);
  EXPECT_FALSE(std::filesystem::exists(f.tmp.path() + "/spool"));
  reply = agent.deliver(f.request(looped, {"me@localhost"}));
  ASSERT_EQ(reply.recipients.size(), 1u);
  EXPECT_EQ(reply.recipients[0].outcome, qmgr::RecipientOutcome::kBounced);
  EXPECT_EQ(reply.recipients[0].status, "5.4.6");
  EXPECT_EQ(reply.recipients[0].reason, "mail forwarding loop for me@localhost");
  EXPECT_TRUE(has_line(f.sink->lines(), "estafeta/local: " + id +
                                            ": to=<nosuch@localhost>, .*dsn=5.1.1, "
                                            "status=bounced \\(unknown user: \"nosuch\"\\)"));
}

TEST(LocalAgent, AliasTargetsFileCommandAndRemoteForward) {
  Fixture f;
  const std::string mbox = f.files + "/team.mbox";
  const std::string out = f.files + "/cmd.out";
  f.aliases["team"] =
      "me, " + mbox + ", \"|cat > " + out + "; echo $RECIPIENT >> " + out + "\", carol@remote.test";
  f.aliases["owner-team"] = "me";
  ASSERT_EQ(::mkdir(f.queue.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((f.queue + "/maildrop").c_str(), 0700), 0);
  const std::string id = f.enqueue({"team@localhost"}, "Subject: t\r\n\r\nFrom here\r\n");
  LocalAgent agent = f.agent();
  auto reply = agent.deliver(f.request(id, {"team@localhost"}));
  ASSERT_EQ(reply.recipients.size(), 1u);
  EXPECT_EQ(reply.recipients[0].outcome, qmgr::RecipientOutcome::kDelivered)
      << reply.recipients[0].reason;
  EXPECT_EQ(reply.recipients[0].action, "expanded");  // for a NOTIFY=SUCCESS report
  EXPECT_EQ(f.new_files().size(), 1u);
  const std::string m = read_file(mbox);
  EXPECT_EQ(m.rfind("From alice@example.org ", 0), 0u) << m;
  EXPECT_NE(m.find("\n>From here\n"), std::string::npos) << m;
  EXPECT_NE(read_file(out).find("Delivered-To: team@localhost\n"), std::string::npos);
  EXPECT_NE(read_file(out).find("\nteam@localhost\n"), std::string::npos);
  auto drops = list_names(f.queue + "/maildrop");
  ASSERT_EQ(drops.size(), 1u);
  auto drop = submit::parse_drop_file(read_file(f.queue + "/maildrop/" + drops[0]));
  ASSERT_TRUE(drop.ok());
  EXPECT_EQ(drop->sender, "owner-team@example.test");
  EXPECT_EQ(drop->recipients, std::vector<std::string>{"carol@remote.test"});
  EXPECT_EQ(drop->content.rfind("Delivered-To: team@localhost\r\nSubject: t\r\n", 0), 0u);
  EXPECT_TRUE(has_line(f.sink->lines(), "estafeta/local: " + id +
                                            ": to=<me@localhost>, orig_to=<team@localhost>, "
                                            ".*status=sent \\(delivered to maildir\\)"));
  EXPECT_TRUE(has_line(f.sink->lines(),
                       ".*to=<team@localhost>, relay=local, .*status=sent "
                       "\\(delivered to file: " +
                           mbox + "\\)"));
  EXPECT_TRUE(has_line(f.sink->lines(), ".*status=sent \\(forwarded as maildrop/.*\\)"));
}

// An alias whose command target defers (exit 75) while its file target succeeds: the
// recipient is deferred with the file's delivery named as done; the next attempt, told so,
// runs only the command again and the file holds the message once.
TEST(LocalAgent, PartlyDeferredExpansionDoesNotRepeatWhatWasDelivered) {
  Fixture f;
  const std::string mbox = f.files + "/archive.mbox";
  const std::string flag = f.files + "/ready";
  const std::string out = f.files + "/cmd.out";
  f.aliases["list"] = mbox + ", \"|test -e " + flag + " || exit 75; cat > " + out + "\"";
  ASSERT_EQ(::mkdir(f.queue.c_str(), 0755), 0);
  const std::string id = f.enqueue({"list@localhost"}, "Subject: once\r\n\r\nbody\r\n");
  LocalAgent agent = f.agent();
  qmgr::AgentRequest request = f.request(id, {"list@localhost"});
  auto first = agent.deliver(request);
  ASSERT_EQ(first.recipients.size(), 1u);
  EXPECT_EQ(first.recipients[0].outcome, qmgr::RecipientOutcome::kDeferred);
  ASSERT_EQ(first.recipients[0].done_actions.size(), 1u);  // the file, not the command
  EXPECT_NE(read_file(mbox).find("Subject: once"), std::string::npos);

  const int made = ::open(flag.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(made, 0);
  ::close(made);
  request.recipients[0].done_actions = first.recipients[0].done_actions;
  auto second = agent.deliver(request);
  ASSERT_EQ(second.recipients.size(), 1u);
  EXPECT_EQ(second.recipients[0].outcome, qmgr::RecipientOutcome::kDelivered)
      << second.recipients[0].reason;
  EXPECT_TRUE(second.recipients[0].done_actions.empty());
  const std::string archived = read_file(mbox);
  EXPECT_EQ(archived.find("From alice@example.org "), 0u);
  EXPECT_EQ(archived.find("From alice@example.org ", 1), std::string::npos) << archived;
  EXPECT_NE(read_file(out).find("Subject: once"), std::string::npos);
}

TEST(LocalAgent, DeliveredToIsFullyQualifiedAndDevNullDiscards) {
  Fixture f;
  f.aliases["null"] = "/dev/null";
  f.aliases["fwd"] = "carol@remote.test";
  ASSERT_EQ(::mkdir(f.queue.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((f.queue + "/maildrop").c_str(), 0700), 0);
  const std::string id = f.enqueue({"me", "null", "fwd"}, "Subject: q\r\n\r\nx\r\n");
  LocalAgent agent = f.agent();
  auto reply = agent.deliver(f.request(id, {"me", "null", "fwd"}));
  ASSERT_EQ(reply.recipients.size(), 3u);
  for (const auto& r : reply.recipients) {
    EXPECT_EQ(r.outcome, qmgr::RecipientOutcome::kDelivered) << r.reason;
  }
  auto files = f.new_files();
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(read_file(f.home + "/Maildir/new/" + files[0]),
            "Return-Path: <alice@example.org>\nX-Original-To: me@example.test\n"
            "Delivered-To: me@example.test\nSubject: q\n\nx\n");
  auto drops = list_names(f.queue + "/maildrop");
  ASSERT_EQ(drops.size(), 1u);
  auto drop = submit::parse_drop_file(read_file(f.queue + "/maildrop/" + drops[0]));
  ASSERT_TRUE(drop.ok());
  EXPECT_EQ(drop->content.rfind("Delivered-To: fwd@example.test\r\n", 0), 0u) << drop->content;
  EXPECT_TRUE(has_line(f.sink->lines(),
                       ".*to=<null@example.test>, orig_to=<null>, relay=local, .*status=sent "
                       "\\(delivered to file: /dev/null\\)"));
}

TEST(LocalAgent, ExitsWhenItsSpawnerIsGone) {
  Fixture f;
  sockaddr_un addr{};
  const pid_t child = f.serve_in_child(addr);
  ASSERT_GT(child, 0);
  ASSERT_EQ(::kill(f.spawner->spawner_pid(), SIGKILL), 0);
  // It exits by itself (master then starts it, and a new spawner, again).
  int status = 0;
  pid_t done = 0;
  for (int i = 0; i < 100 && done == 0; ++i) {
    done = ::waitpid(child, &status, WNOHANG);
    if (done == 0) ::usleep(50 * 1000);
  }
  if (done == 0) ::kill(child, SIGKILL);
  ASSERT_EQ(done, child) << "the agent kept serving without a spawner";
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);
}

TEST(LocalAgent, MissingQueueFileIsDeferred) {
  Fixture f;
  LocalAgent agent = f.agent();
  auto reply = agent.deliver(f.request("0000000000AA000001", {"me@localhost"}));
  ASSERT_EQ(reply.recipients.size(), 1u);
  EXPECT_EQ(reply.recipients[0].outcome, qmgr::RecipientOutcome::kDeferred);
  EXPECT_EQ(reply.recipients[0].status, "4.3.0");
}

TEST(LocalAgent, ServesRequestsOverAUnixSocketUntilSigterm) {
  Fixture f;
  const std::string id = f.enqueue({"me@localhost", "me+x@localhost"}, "Subject: s\r\n\r\nx\r\n");
  sockaddr_un addr{};
  const pid_t child = f.serve_in_child(addr);
  ASSERT_GT(child, 0);
  int c = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_EQ(::connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  // Two requests in one write (one recipient each, as the queue manager sends to local);
  // the replies may come in any order.
  auto first = f.request(id, {"me@localhost"});
  auto second = f.request(id, {"me@localhost", "me+x@localhost"});
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
  EXPECT_EQ(f.new_files().size(), 2u);
  ::close(c);
  ASSERT_EQ(::kill(child, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace estafeta::delivery
