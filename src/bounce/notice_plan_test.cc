// Tests for the bounce service's decisions (table-driven): who gets which notice, from whom,
// per request kind, sender and notify_classes; that nothing ever answers a postmaster
// notice; and that the planned notices carry the request's facts and the envelope's DSN
// parameters into the built text.
#include "bounce/notice_plan.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace estafeta::bounce {
namespace {

using qmgr::NoticeRequestKind;

NoticeSettings settings(std::string_view classes) {
  NoticeSettings s;
  s.myhostname = "mx.example.test";
  s.notify_classes = message::NotifyClasses::parse(classes);
  s.bounce_notice_recipient = "bounces@admin.test";
  s.double_bounce_recipient = "doubles@admin.test";
  s.delay_notice_recipient = "delays@admin.test";
  s.error_notice_recipient = "errors@admin.test";
  return s;
}

message::Envelope envelope(std::string sender) {
  message::Envelope e;
  e.queue_id = "0123456789ABCDEF01";
  e.arrival_us = 1796482179000000;
  e.sender = std::move(sender);
  e.recipients = {{"bob@localhost", "rfc822;Bob@localhost", "FAILURE"},
                  {"carol@remote.example", "", ""}};
  e.dsn_envid = "env-7";
  return e;
}

qmgr::BounceRequest request(NoticeRequestKind kind) {
  return {1,
          "0123456789ABCDEF01",
          "active",
          kind,
          {{0, "bob@localhost", "5.1.3", "illegal mailbox name", "", "local", 1796482279000000}}};
}

// "from -> to (what)[*]" for each notice, * when it is a postmaster notice.
std::vector<std::string> summary(const NoticePlan& plan) {
  std::vector<std::string> out;
  for (const PlannedNotice& n : plan.notices) {
    out.push_back("<" + n.envelope_sender + "> -> " + n.recipient + (n.required ? "" : " (copy)") +
                  (n.notice.to_postmaster ? " *" : ""));
  }
  if (!plan.discarded.empty()) out.push_back("discarded: " + plan.discarded);
  return out;
}

TEST(NoticePlan, WhoGetsWhat) {
  const std::string db = "double-bounce@mx.example.test";
  struct Case {
    NoticeRequestKind kind;
    std::string sender;
    std::string classes;
    std::vector<std::string> expected;
  };
  const std::vector<Case> cases = {
      // Failure: the sender; the postmaster's copy with `bounce`.
      {NoticeRequestKind::kFailure,
       "alice@example.org",
       "resource, software",
       {"<> -> alice@example.org"}},
      {NoticeRequestKind::kFailure,
       "alice@example.org",
       "bounce",
       {"<> -> alice@example.org", "<" + db + "> -> bounces@admin.test (copy) *"}},
      // A failed notice: a double bounce with `2bounce` or `bounce`, else discarded.
      {NoticeRequestKind::kFailure, "", "2bounce", {"<" + db + "> -> doubles@admin.test *"}},
      {NoticeRequestKind::kFailure, "", "bounce", {"<" + db + "> -> doubles@admin.test *"}},
      {NoticeRequestKind::kFailure,
       "",
       "resource, software",
       {"discarded: undeliverable non-delivery notification discarded (notify_classes lists "
        "neither bounce nor 2bounce)"}},
      // A failed postmaster notice: never a third notice.
      {NoticeRequestKind::kFailure,
       db,
       "bounce, 2bounce",
       {"discarded: undeliverable postmaster notification discarded"}},
      {NoticeRequestKind::kFailure,
       "Double-Bounce@MX.example.test",
       "2bounce",
       {"discarded: undeliverable postmaster notification discarded"}},
      // Delay: the sender; the copy with `delay`; for a notice, the copy only.
      {NoticeRequestKind::kDelay, "alice@example.org", "", {"<> -> alice@example.org"}},
      {NoticeRequestKind::kDelay,
       "alice@example.org",
       "delay",
       {"<> -> alice@example.org", "<" + db + "> -> delays@admin.test (copy) *"}},
      {NoticeRequestKind::kDelay, "", "delay", {"<" + db + "> -> delays@admin.test *"}},
      {NoticeRequestKind::kDelay, "", "bounce", {}},
      {NoticeRequestKind::kDelay, db, "delay", {}},
      // Success: the sender only.
      {NoticeRequestKind::kSuccess, "alice@example.org", "bounce", {"<> -> alice@example.org"}},
      {NoticeRequestKind::kSuccess, "", "bounce", {}},
      // Resource and software: error_notice_recipient, with the class, never about a
      // postmaster notice.
      {NoticeRequestKind::kResource,
       "alice@example.org",
       "resource",
       {"<" + db + "> -> errors@admin.test *"}},
      {NoticeRequestKind::kResource, "", "resource", {"<" + db + "> -> errors@admin.test *"}},
      {NoticeRequestKind::kResource, "alice@example.org", "software", {}},
      {NoticeRequestKind::kSoftware,
       "alice@example.org",
       "software",
       {"<" + db + "> -> errors@admin.test *"}},
      {NoticeRequestKind::kSoftware, db, "software", {}},
  };
  for (const Case& c : cases) {
    NoticePlan plan = plan_notices(request(c.kind), envelope(c.sender), settings(c.classes));
    EXPECT_EQ(summary(plan), c.expected)
        << "kind " << char(c.kind) << ", sender <" << c.sender << ">, classes " << c.classes;
  }
}

TEST(NoticePlan, NoticesCarryTheFactsAndTheDsnParameters) {
  message::Envelope e = envelope("alice@example.org");
  e.dsn_ret = "HDRS";
  NoticePlan plan = plan_notices(request(NoticeRequestKind::kFailure), e, settings("bounce"));
  ASSERT_EQ(plan.notices.size(), 2u);
  const message::Notice& sender = plan.notices[0].notice;
  EXPECT_EQ(sender.kind, message::NoticeKind::kFailure);
  EXPECT_EQ(sender.to, "alice@example.org");
  EXPECT_EQ(sender.queue_id, "0123456789ABCDEF01");
  EXPECT_EQ(sender.envid, "env-7");
  EXPECT_TRUE(sender.headers_only);
  EXPECT_FALSE(sender.to_postmaster);
  ASSERT_EQ(sender.recipients.size(), 1u);
  EXPECT_EQ(sender.recipients[0].orcpt, "rfc822;Bob@localhost");  // from the queue file
  EXPECT_EQ(sender.recipients[0].status, "5.1.3");
  EXPECT_EQ(sender.recipients[0].remote_mta, "local");
  EXPECT_EQ(plan.notices[0].what, "sender non-delivery notification");

  // The postmaster's copy, built: its subject, the headers only (whatever RET says).
  e.dsn_ret = "FULL";
  plan = plan_notices(request(NoticeRequestKind::kFailure), e, settings("bounce"));
  message::Notice copy = plan.notices[1].notice;
  copy.original = "Subject: hello\r\n\r\nthe body\r\n";
  copy.notice_queue_id = "0123456789ABCDEF02";
  copy.now_us = 1796482280000000;
  const std::string text = message::build_notice(copy);
  EXPECT_NE(text.find("Subject: Postmaster Copy: Undelivered Mail\r\n"), std::string::npos);
  EXPECT_NE(text.find("To: <bounces@admin.test>\r\n"), std::string::npos);
  EXPECT_NE(text.find("Content-Type: text/rfc822-headers\r\n\r\nSubject: hello\r\n"),
            std::string::npos);
  EXPECT_EQ(text.find("the body"), std::string::npos);
  EXPECT_NE(text.find("Final-Recipient: rfc822; bob@localhost\r\n"), std::string::npos);
  EXPECT_NE(text.find("a notice sent to <alice@example.org>"), std::string::npos);
}

TEST(NoticePlan, ResourceNoticeSaysWhatKindOfProblem) {
  qmgr::BounceRequest r = request(NoticeRequestKind::kResource);
  r.recipients[0].status = "4.3.1";
  r.recipients[0].reason = "maildir delivery failed: No space left on device";
  NoticePlan plan = plan_notices(r, envelope("alice@example.org"), settings("resource"));
  ASSERT_EQ(plan.notices.size(), 1u);
  message::Notice n = plan.notices[0].notice;
  n.original = "Subject: hello\r\n\r\nbody\r\n";
  const std::string text = message::build_notice(n);
  EXPECT_NE(text.find("Subject: Postmaster Warning: Delayed Mail\r\n"), std::string::npos);
  EXPECT_NE(text.find("by a resource problem on this"), std::string::npos);
  EXPECT_NE(text.find("Action: delayed\r\nStatus: 4.3.1\r\n"), std::string::npos);
  EXPECT_EQ(text.find("body\r\n"), std::string::npos);
}

TEST(NotifyClasses, ParsesPostfixLists) {
  using message::NotifyClass;
  auto c = message::NotifyClasses::parse("resource, software");
  EXPECT_TRUE(c.has(NotifyClass::kResource));
  EXPECT_TRUE(c.has(NotifyClass::kSoftware));
  EXPECT_FALSE(c.has(NotifyClass::kBounce));
  EXPECT_FALSE(c.reports_double_bounces());
  c = message::NotifyClasses::parse("bounce\tdelay,,policy");
  EXPECT_TRUE(c.has(NotifyClass::kBounce));
  EXPECT_TRUE(c.reports_double_bounces());  // bounce implies 2bounce
  EXPECT_TRUE(c.has(NotifyClass::kDelay));
  EXPECT_TRUE(c.has(NotifyClass::kPolicy));
  EXPECT_FALSE(c.has(NotifyClass::k2Bounce));
  EXPECT_TRUE(message::NotifyClasses::parse("2bounce").reports_double_bounces());
  EXPECT_FALSE(message::NotifyClasses::parse("").has(NotifyClass::kResource));
}

}  // namespace
}  // namespace estafeta::bounce

namespace estafeta::bounce {
namespace {

// smtputf8_autodetect_classes `bounce` reaches every planned notice (the writer flags the
// ones with a UTF-8 address).
TEST(NoticePlan, CarriesSmtputf8Autodetect) {
  NoticeSettings s = settings("bounce");
  for (bool autodetect : {false, true}) {
    s.smtputf8_autodetect = autodetect;
    const NoticePlan plan =
        plan_notices(request(NoticeRequestKind::kFailure), envelope("j\xc3\xb6rg@x.test"), s);
    ASSERT_EQ(plan.notices.size(), 2u);
    for (const PlannedNotice& n : plan.notices) EXPECT_EQ(n.smtputf8_autodetect, autodetect);
  }
}

}  // namespace
}  // namespace estafeta::bounce
