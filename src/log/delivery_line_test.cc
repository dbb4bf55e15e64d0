// delivery_line: Postfix's format, with and without orig_to and conn_use.
#include "log/delivery_line.h"

#include <gtest/gtest.h>

namespace estafeta::log {
namespace {

TEST(DeliveryLine, AsPostfixWritesIt) {
  DeliveryLine l;
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
  EXPECT_EQ(delivery_line(l),
            "4F2A1B: to=<bob@example.org>, relay=mx.example.org[192.0.2.1]:25, delay=1.23, "
            "delays=0.1/0/0.5/0.63, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as X)");
  l.orig_to = "team@example.org";
  l.conn_use = 3;
  l.relay = "none";
  l.status = "deferred";
  l.dsn = "4.4.1";
  l.reason = "connect to mx.example.org[192.0.2.1]:25: Connection refused";
  EXPECT_EQ(delivery_line(l),
            "4F2A1B: to=<bob@example.org>, orig_to=<team@example.org>, relay=none, "
            "conn_use=3, delay=1.23, delays=0.1/0/0.5/0.63, dsn=4.4.1, status=deferred "
            "(connect to mx.example.org[192.0.2.1]:25: Connection refused)");
}

}  // namespace
}  // namespace estafeta::log
