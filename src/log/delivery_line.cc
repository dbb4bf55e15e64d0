// Postfix's delivery log line. See delivery_line.h.
#include "log/delivery_line.h"

#include <fmt/format.h>

#include "log/delay.h"

namespace estafeta::log {

std::string delivery_line(const DeliveryLine& l) {
  std::string out = fmt::format("{}: to=<{}>, ", l.queue_id, l.to);
  if (!l.orig_to.empty() && l.orig_to != l.to) out += fmt::format("orig_to=<{}>, ", l.orig_to);
  out += fmt::format("relay={}, ", l.relay);
  if (l.conn_use >= 2) out += fmt::format("conn_use={}, ", l.conn_use);
  out += fmt::format("delay={}, delays={}/{}/{}/{}, dsn={}, status={} ({})", format_delay(l.delay),
                     format_delay(l.a), format_delay(l.b), format_delay(l.c), format_delay(l.d),
                     l.dsn, l.status, l.reason);
  return out;
}

}  // namespace estafeta::log
