// delivery_report: Postfix's formats for relay names, reply statuses and log lines.
#include "outbound/delivery_report.h"

#include <gtest/gtest.h>

namespace estafeta::outbound {
namespace {

TEST(DeliveryReport, RelayName) {
  EXPECT_EQ(relay_name({"mx.example.org", "192.0.2.1", 25}), "mx.example.org[192.0.2.1]:25");
  EXPECT_EQ(relay_name({"", "2001:db8::1", 587}), "2001:db8::1[2001:db8::1]:587");
  EXPECT_EQ(relay_name({"mx.example.org", "", 25}), "none");
}

TEST(DeliveryReport, ReplyStatusPrefersAMatchingEnhancedCode) {
  EXPECT_EQ(reply_status(550, "5.1.1"), "5.1.1");
  EXPECT_EQ(reply_status(550, ""), "5.0.0");
  EXPECT_EQ(reply_status(450, "5.1.1"), "4.0.0");  // class mismatch: the reply code wins
  EXPECT_EQ(reply_status(250, "2.6.0"), "2.6.0");
  EXPECT_EQ(reply_status(250, ""), "2.0.0");
  EXPECT_EQ(reply_status(421, "4.7.0"), "4.7.0");
  EXPECT_EQ(reply_status(0, ""), "4.0.0");
}

TEST(DeliveryReport, RemoteSaidAndDiagnostic) {
  const Peer peer{"mx.example.org", "192.0.2.1", 25};
  EXPECT_EQ(remote_said(peer, "550 5.1.1 <a@b>: User unknown", "in reply to RCPT TO command"),
            "host mx.example.org[192.0.2.1] said: 550 5.1.1 <a@b>: User unknown (in reply to "
            "RCPT TO command)");
  EXPECT_EQ(smtp_diagnostic("550 5.1.1 <a@b>: User unknown"),
            "smtp; 550 5.1.1 <a@b>: User unknown");
}

TEST(DeliveryReport, AttemptLogLineAsPostfixWritesIt) {
  AttemptLog l;
  l.queue_id = "4F2A1B";
  l.to = "bob@example.org";
  l.orig_to = "bob@example.org";
  l.relay = "mx.example.org[192.0.2.1]:25";
  l.conn_use = 1;
  l.delay = 1.234;
  l.a = 0.1;
  l.c = 0.5;
  l.d = 0.634;
  l.dsn = "2.0.0";
  l.status = "sent";
  l.reason = "250 2.0.0 Ok: queued as X";
  EXPECT_EQ(attempt_log_line(l),
            "4F2A1B: to=<bob@example.org>, relay=mx.example.org[192.0.2.1]:25, delay=1.23, "
            "delays=0.1/0/0.5/0.63, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as X)");
  l.orig_to = "team@example.org";
  l.conn_use = 3;
  l.relay = "none";
  l.status = "deferred";
  l.dsn = "4.4.1";
  l.reason = "connect to mx.example.org[192.0.2.1]:25: Connection refused";
  EXPECT_EQ(attempt_log_line(l),
            "4F2A1B: to=<bob@example.org>, orig_to=<team@example.org>, relay=none, "
            "conn_use=3, delay=1.23, delays=0.1/0/0.5/0.63, dsn=4.4.1, status=deferred "
            "(connect to mx.example.org[192.0.2.1]:25: Connection refused)");
}

}  // namespace
}  // namespace estafeta::outbound
