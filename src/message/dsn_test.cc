// Tests for delivery status notifications: the RFC 3464 fields, RET=HDRS and the size limit,
// header injection through reasons, long lines of the original, the three kinds.
#include "message/dsn.h"

#include <gtest/gtest.h>

#include <string>

namespace estafeta::message {
namespace {

Notice sample() {
  Notice n;
  n.kind = NoticeKind::kFailure;
  n.reporting_mta = "mx.example.test";
  n.queue_id = "0123456789ABCDEF01";
  n.notice_queue_id = "0123456789ABCDEF99";
  n.arrival_us = 1796482179000000;
  n.now_us = 1796482279000000;
  n.original_sender = "alice@example.org";
  n.to = "alice@example.org";
  n.envid = "env-1";
  n.original = "Subject: hello\r\nFrom: alice@example.org\r\n\r\nbody line\r\n";
  n.recipients = {{"bob@localhost", "rfc822;Bob@localhost", "5.1.1", "unknown user", "", "",
                   1796482270000000},
                  {"carol@remote.example", "", "4.4.1", "connect to mx.remote.example: refused",
                   "smtp; 421 try later", "mx.remote.example", 0}};
  return n;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(Dsn, FailureNoticeHasTheRfc3464Fields) {
  const std::string m = build_notice(sample());
  for (const char* field :
       {"From: MAILER-DAEMON@mx.example.test (Mail Delivery System)\r\n",
        "To: <alice@example.org>\r\n", "Auto-Submitted: auto-replied\r\n",
        "Content-Type: multipart/report; report-type=delivery-status;\r\n",
        "Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.test\r\n",
        "Original-Envelope-Id: env-1\r\n", "Arrival-Date: ",
        "Final-Recipient: rfc822; bob@localhost\r\n",
        "Original-Recipient: rfc822; Bob@localhost\r\n", "Action: failed\r\n",
        "Status: 5.1.1\r\n", "Diagnostic-Code: x-estafeta; unknown user\r\n",
        "Last-Attempt-Date: ", "Final-Recipient: rfc822; carol@remote.example\r\n",
        "Remote-MTA: dns; mx.remote.example\r\n", "Diagnostic-Code: smtp; 421 try later\r\n",
        "Content-Type: message/rfc822\r\n\r\nSubject: hello\r\n", "body line\r\n",
        "<bob@localhost>: unknown user\r\n"}) {
    EXPECT_TRUE(contains(m, field)) << field << "\n---\n" << m;
  }
  EXPECT_FALSE(contains(m, "Original-Recipient: rfc822; carol"));
  // Every line ends in CRLF, none is longer than 998 octets, and the boundary closes.
  EXPECT_TRUE(m.ends_with("--\r\n"));
  size_t start = 0;
  while (start < m.size()) {
    size_t end = m.find("\r\n", start);
    ASSERT_NE(end, std::string::npos) << "a line without CRLF at " << start;
    EXPECT_LE(end - start, 998u);
    EXPECT_EQ(m.substr(start, end - start).find('\n'), std::string::npos);
    start = end + 2;
  }
}

TEST(Dsn, HeadersOnlyForRetHdrsAndLargeMessages) {
  Notice n = sample();
  n.headers_only = true;
  std::string m = build_notice(n);
  EXPECT_TRUE(contains(m, "Content-Type: text/rfc822-headers\r\n\r\nSubject: hello\r\n"));
  EXPECT_FALSE(contains(m, "body line"));
  n = sample();
  n.size_limit = 10;
  m = build_notice(n);
  EXPECT_TRUE(contains(m, "text/rfc822-headers"));
  EXPECT_FALSE(contains(m, "body line"));
}

TEST(Dsn, ReasonsCannotInjectFieldsAndLongLinesAreCut) {
  Notice n = sample();
  n.recipients[0].reason = "bad\r\nStatus: 2.0.0\r\nX-Evil: 1";
  n.original = "Subject: x\r\n\r\n" + std::string(5000, 'a') + "\r\n";
  const std::string m = build_notice(n);
  EXPECT_FALSE(contains(m, "\r\nX-Evil: 1"));
  EXPECT_FALSE(contains(m, "\r\nStatus: 2.0.0"));
  EXPECT_TRUE(contains(m, std::string(998, 'a') + "\r\n"));
  EXPECT_FALSE(contains(m, std::string(999, 'a')));
}

TEST(Dsn, DelayAndSuccessNotices) {
  Notice n = sample();
  n.kind = NoticeKind::kDelay;
  EXPECT_TRUE(contains(build_notice(n), "Action: delayed\r\n"));
  EXPECT_TRUE(contains(build_notice(n), "Subject: Delayed Mail"));
  n.kind = NoticeKind::kSuccess;
  EXPECT_TRUE(contains(build_notice(n), "Action: delivered\r\n"));
  // An alias expansion reports "expanded" (RFC 3464 2.3.3), only in a success report.
  for (auto& r : n.recipients) r.action = "expanded";
  EXPECT_TRUE(contains(build_notice(n), "Action: expanded\r\n"));
  EXPECT_FALSE(contains(build_notice(n), "Action: delivered\r\n"));
  n.kind = NoticeKind::kFailure;
  EXPECT_FALSE(contains(build_notice(n), "Action: expanded\r\n"));
}

TEST(Dsn, DateAndHeaderSection) {
  EXPECT_EQ(rfc5322_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
  EXPECT_EQ(rfc5322_date(1796482279000000), "Sat, 05 Dec 2026 14:51:19 +0000");
  EXPECT_EQ(header_section("A: b\r\n\r\nbody\r\n"), "A: b\r\n");
  EXPECT_EQ(header_section("\r\nbody\r\n"), "");
  EXPECT_EQ(header_section("A: b\r\n"), "A: b\r\n");
}

}  // namespace
}  // namespace estafeta::message
