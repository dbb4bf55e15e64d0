// Received: header layout (Postfix folding) and the RFC 5322 date.
#include "smtp/received.h"

#include <gtest/gtest.h>

namespace estafeta::smtp {
namespace {

// 2026-11-26 10:37:49 UTC, a Thursday.
constexpr int64_t kTime = 1795689469LL * 1000000 + 123456;

TEST(Received, Date) {
  EXPECT_EQ(rfc5322_date(kTime), "Thu, 26 Nov 2026 10:37:49 +0000");
  EXPECT_EQ(rfc5322_date(0), "Thu, 1 Jan 1970 00:00:00 +0000");
}

TEST(Received, OneRecipient) {
  ReceivedInfo info;
  info.helo = "client.example";
  info.client_hostname = "mail.client.example";
  info.client_address = "192.0.2.1";
  info.by_hostname = "mx.example.org";
  info.protocol = "ESMTP";
  info.queue_id = "3F2A1B";
  info.for_recipient = "user@example.org";
  info.time_us = kTime;
  EXPECT_EQ(received_header(info),
            "Received: from client.example (mail.client.example [192.0.2.1])\r\n"
            "\tby mx.example.org (Estafeta) with ESMTP id 3F2A1B\r\n"
            "\tfor <user@example.org>; Thu, 26 Nov 2026 10:37:49 +0000\r\n");
}

TEST(Received, AuthenticatedSender) {
  ReceivedInfo info;
  info.helo = "laptop";
  info.client_hostname = "unknown";
  info.client_address = "192.0.2.1";
  info.by_hostname = "mx.example.org";
  info.protocol = "ESMTPSA";
  info.queue_id = "3F2A1B";
  info.tls_description = "(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)";
  info.authenticated_sender = "alice\r\nX-Evil: 1";
  info.time_us = kTime;
  EXPECT_EQ(received_header(info),
            "Received: from laptop (unknown [192.0.2.1])\r\n"
            "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)\r\n"
            "\t(Authenticated sender: alice??X-Evil: 1)\r\n"
            "\tby mx.example.org (Estafeta) with ESMTPSA id 3F2A1B;\r\n"
            "\tThu, 26 Nov 2026 10:37:49 +0000\r\n");
}

TEST(Received, TlsIpv6ManyRecipientsHostileHelo) {
  ReceivedInfo info;
  info.helo = "evil\rBcc: x";
  info.client_hostname = "unknown";
  info.client_address = "2001:db8::1";
  info.by_hostname = "mx.example.org";
  info.protocol = "ESMTPS";
  info.queue_id = "ABC";
  info.tls_description = "(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)";
  info.time_us = kTime;
  EXPECT_EQ(received_header(info),
            "Received: from evil?Bcc: x (unknown [IPv6:2001:db8::1])\r\n"
            "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)\r\n"
            "\tby mx.example.org (Estafeta) with ESMTPS id ABC;\r\n"
            "\tThu, 26 Nov 2026 10:37:49 +0000\r\n");
}

TEST(Received, LocalSubmission) {
  ReceivedInfo info;
  info.by_hostname = "host.example";
  info.queue_id = "Q1";
  info.time_us = kTime;
  EXPECT_EQ(received_header(info),
            "Received: by host.example (Estafeta) id Q1;\r\n"
            "\tThu, 26 Nov 2026 10:37:49 +0000\r\n");
}

}  // namespace
}  // namespace estafeta::smtp
