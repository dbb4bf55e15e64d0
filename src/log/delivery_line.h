// The line every delivery attempt is logged with, in Postfix's format (pflogsumm and the like
// read it), shared by the local, virtual and smtp agents and the queue manager:
//   "4F2A1B: to=<bob@example.org>, orig_to=<team@example.org>, relay=mx[192.0.2.1]:25,
//    conn_use=2, delay=1.2, delays=0.1/0/0.5/0.6, dsn=2.0.0, status=sent (250 2.0.0 Ok)"
// delays: a = before the agent took the request, b = in the queue manager, c = connection
// set-up, d = transmission (Postfix's meaning). Pure.
#pragma once

#include <string>

namespace estafeta::log {

struct DeliveryLine {
  std::string queue_id;
  std::string to;
  std::string orig_to;  // left out when empty or equal to `to`
  std::string relay;    // "local", "virtual", "mx.example.org[192.0.2.1]:25", "none"
  int conn_use = 0;     // left out below 2 (a fresh connection)
  double delay = 0;     // seconds since arrival
  double a = 0, b = 0, c = 0, d = 0;
  std::string dsn;
  std::string status;  // "sent", "deferred", "bounced", "expired"
  std::string reason;  // in the parentheses
};

/// The line without the "estafeta/<program>[pid]: " prefix.
std::string delivery_line(const DeliveryLine& line);

}  // namespace estafeta::log
