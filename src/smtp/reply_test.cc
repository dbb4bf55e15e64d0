// Reply helpers: the reply to a failed commit by the error's errno, table-driven, and that
// ServerSession::commit_done gives it for the Error it is handed.
#include "smtp/reply.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <string>
#include <variant>
#include <vector>

#include "smtp/server_session.h"

namespace estafeta::smtp {
namespace {

TEST(Reply, CommitFailure) {
  const struct {
    int error_code;
    const char* want;
  } cases[] = {
      {ENOSPC, "452 4.3.1 Insufficient system storage"},
      {EDQUOT, "452 4.3.1 Insufficient system storage"},
      {EACCES, "451 4.3.0 Error: queue file write error"},
      {EPERM, "451 4.3.0 Error: queue file write error"},
      {EIO, "451 4.3.0 Error: queue file write error"},
      {0, "451 4.3.0 Error: queue file write error"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(commit_failure_reply(c.error_code), c.want) << "errno " << c.error_code;
    EXPECT_TRUE(is_well_formed_rejection(commit_failure_reply(c.error_code)));
  }
}

std::vector<std::string> replies(const std::vector<Action>& actions) {
  std::vector<std::string> out;
  for (const Action& a : actions) {
    if (const auto* r = std::get_if<SendReply>(&a)) out.push_back(r->text);
  }
  return out;
}

bool has_commit(const std::vector<Action>& actions) {
  for (const Action& a : actions) {
    if (std::holds_alternative<CommitMessage>(a)) return true;
  }
  return false;
}

// The errno travels in the Error from the spool to commit_done and picks the reply.
TEST(Reply, CommitDoneRepliesByErrorCode) {
  const struct {
    int error_code;
    const char* want;
  } cases[] = {
      {ENOSPC, "452 4.3.1 Insufficient system storage\r\n"},
      {EDQUOT, "452 4.3.1 Insufficient system storage\r\n"},
      {EACCES, "451 4.3.0 Error: queue file write error\r\n"},
      {0, "451 4.3.0 Error: queue file write error\r\n"},
  };
  for (const auto& c : cases) {
    ServerSession s(SessionSettings{}, ClientInfo{"192.0.2.1", "client.example", 25000});
    (void)s.start();
    (void)s.feed("EHLO client.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@localhost>\r\n");
    ASSERT_TRUE(s.waiting());
    (void)s.policy_decided(PolicyDecision::accept());
    (void)s.feed("DATA\r\n");
    ASSERT_TRUE(has_commit(s.feed("Subject: x\r\n\r\nhello\r\n.\r\n")));
    auto r = replies(s.commit_done(make_error("write(queue file): failed", c.error_code)));
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0], c.want) << "errno " << c.error_code;
    // The transaction is over; the session goes on.
    EXPECT_EQ(replies(s.feed("NOOP\r\n")), std::vector<std::string>{"250 2.0.0 Ok\r\n"});
  }
}

}  // namespace
}  // namespace estafeta::smtp
