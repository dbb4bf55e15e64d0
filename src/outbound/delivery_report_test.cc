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

}  // namespace
}  // namespace estafeta::outbound
