// Tests of the content half of the cleanup stage: streamed in pieces of every size, headers
// checked and counted, the body passed untouched or checked line by line.
#include "cleanup/content_cleanup.h"

#include <gtest/gtest.h>

#include <memory>

#include "maps/regexp_map.h"

namespace estafeta::cleanup {
namespace {

std::unique_ptr<maps::Map> regexp(std::string_view rules) {
  maps::BuiltMap built = maps::build_regexp_map(rules, "test.re");
  EXPECT_TRUE(built.warnings.empty());
  return std::move(built.map);
}

struct Outcome {
  std::string stored;
  std::optional<std::string> refusal;
  bool discard = false;
  message::ContentActions actions;
  std::vector<std::string> log;
};

// Feeds `message` in pieces of `piece` bytes (0: whole).
Outcome run(const ContentSettings& settings, std::string_view message, size_t piece = 0) {
  checks::CheckContext context;
  context.queue_id = "Q1";
  context.sender = "s@x";
  ContentCleanup c(settings, context);
  Outcome r;
  if (piece == 0) piece = message.size() + 1;
  for (size_t at = 0; at < message.size(); at += piece) {
    r.stored += c.feed(message.substr(at, piece));
  }
  r.stored += c.finish();
  r.refusal = c.refusal();
  r.discard = c.discard();
  r.actions = c.actions();
  r.log = c.take_log_lines();
  return r;
}

constexpr std::string_view kMessage =
    "Received: from a\r\n\tby b\r\n"
    "Subject: hello\r\n"
    "X-Drop: me\r\n"
    "\r\n"
    "body line\r\n"
    "Subject: not a header here\r\n";

TEST(ContentCleanup, WithoutChecksTheMessageIsStoredAsItCame) {
  ContentSettings settings;
  for (size_t piece : {0, 1, 2, 3, 7, 16}) {
    Outcome r = run(settings, kMessage, piece);
    EXPECT_EQ(r.stored, kMessage) << piece;
    EXPECT_FALSE(r.refusal) << piece;
  }
}

TEST(ContentCleanup, HeaderChecksApplyToHeadersOnly) {
  auto headers = regexp(
      "/^X-Drop:/ IGNORE\n"
      "/^Subject: hello/ REPLACE Subject: [checked] hello\n"
      "/^Received: from a.*by b$/ PREPEND X-Seen: yes\n");
  ContentSettings settings;
  settings.header_checks = {headers.get()};
  for (size_t piece : {0, 1, 5}) {
    Outcome r = run(settings, kMessage, piece);
    EXPECT_EQ(r.stored,
              "X-Seen: yes\r\n"
              "Received: from a\r\n\tby b\r\n"
              "Subject: [checked] hello\r\n"
              "\r\n"
              "body line\r\n"
              "Subject: not a header here\r\n")
        << piece;
  }
}

TEST(ContentCleanup, RejectAndDiscard) {
  auto reject = regexp("/^Subject: hello/ REJECT no thanks\n");
  ContentSettings settings;
  settings.header_checks = {reject.get()};
  Outcome r = run(settings, kMessage);
  ASSERT_TRUE(r.refusal);
  EXPECT_EQ(*r.refusal, "550 5.7.1 no thanks");
  auto body = regexp("/^body line$/ DISCARD\n");
  ContentSettings discarding;
  discarding.body_checks = {body.get()};
  for (size_t piece : {0, 1, 4}) {
    Outcome d = run(discarding, kMessage, piece);
    EXPECT_TRUE(d.discard) << piece;
    EXPECT_FALSE(d.refusal) << piece;
  }
}

TEST(ContentCleanup, BodyChecksSeeBodyLinesNotHeaders) {
  auto body = regexp("/^Subject:/ REPLACE (subject line in the body)\n");
  ContentSettings settings;
  settings.body_checks = {body.get()};
  Outcome r = run(settings, kMessage, 3);
  EXPECT_EQ(r.stored,
            "Received: from a\r\n\tby b\r\n"
            "Subject: hello\r\n"
            "X-Drop: me\r\n"
            "\r\n"
            "body line\r\n"
            "(subject line in the body)\r\n");
}

TEST(ContentCleanup, TooManyHopsIsAMailLoop) {
  std::string message;
  for (int i = 0; i < 3; ++i) message += "Received: from hop\r\n";
  message += "\r\nbody\r\n";
  ContentSettings settings;
  settings.hopcount_limit = 3;
  EXPECT_EQ(run(settings, message, 2).refusal, "554 5.4.0 Error: too many hops");
  settings.hopcount_limit = 4;
  EXPECT_FALSE(run(settings, message, 2).refusal);
}

// HOLD, FILTER, REDIRECT and BCC reach the queue writer; the message is stored unchanged.
TEST(ContentCleanup, MessageActionsForTheQueueWriter) {
  auto headers =
      regexp("/^Subject:/ HOLD\n/^X-Drop:/ BCC audit@example.org\n/^Received:/ FILTER virtual:\n");
  auto body = regexp("/^body/ BCC second@example.org\n");
  ContentSettings settings;
  settings.header_checks = {headers.get()};
  settings.body_checks = {body.get()};
  for (size_t piece : {0, 1, 5}) {
    Outcome r = run(settings, kMessage, piece);
    EXPECT_EQ(r.stored, kMessage) << piece;
    EXPECT_FALSE(r.refusal);
    EXPECT_TRUE(r.actions.hold) << piece;
    EXPECT_EQ(r.actions.filter, "virtual:");
    EXPECT_EQ(r.actions.redirect, "");
    EXPECT_EQ(r.actions.bcc, (std::vector<std::string>{"audit@example.org", "second@example.org"}));
    ASSERT_FALSE(r.log.empty());
    EXPECT_EQ(r.log[1], "Q1: hold: header Subject: hello from local; from=<s@x>");
    for (const auto& l : r.log) EXPECT_EQ(l.find("not implemented"), std::string::npos) << l;
  }
  EXPECT_TRUE(run({}, kMessage).actions.empty());
}

// Postfix header_checks(5): the last REDIRECT wins, and it overrides FILTER.
TEST(ContentCleanup, RedirectOverridesFilter) {
  auto headers = regexp(
      "/^Received:/ REDIRECT first@example.org\n/^Subject:/ FILTER smtp:[10.0.0.1]\n"
      "/^X-Drop:/ REDIRECT last@example.org\n");
  ContentSettings settings;
  settings.header_checks = {headers.get()};
  Outcome r = run(settings, kMessage);
  EXPECT_EQ(r.actions.redirect, "last@example.org");
  EXPECT_EQ(r.actions.filter, "");
  EXPECT_FALSE(r.actions.hold);
}

TEST(ContentCleanup, AMessageWithoutBodyOrFinalNewline) {
  ContentSettings settings;
  EXPECT_EQ(run(settings, "Subject: x\r\n", 1).stored, "Subject: x\r\n");
  EXPECT_EQ(run(settings, "Subject: x\r\n\r\nno newline", 1).stored,
            "Subject: x\r\n\r\nno newline");
}

}  // namespace
}  // namespace estafeta::cleanup
