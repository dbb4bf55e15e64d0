// The smtp agent's state shared by the parts of SmtpDelivery: one request's attempt across
// the servers tried and a connection that may be cached. Internal to smtp_delivery.cc (the
// request across its next hops), smtp_delivery_server.cc (one server) and
// smtp_delivery_cache.cc (idle connections).
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "message/envelope.h"
#include "net/transport.h"
#include "outbound/connection_cache.h"
#include "outbound/delivery_report.h"
#include "outbound/mx_plan.h"
#include "outbound/smtp_delivery.h"
#include "outbound/smtp_outcome.h"
#include "outbound/tls_plan.h"
#include "qmgr/protocol.h"
#include "smtp/client_session.h"

namespace estafeta::outbound {

// The state of one request across the servers tried.
struct SmtpDelivery::Attempt {
  const qmgr::AgentRequest* request = nullptr;
  const message::Envelope* envelope = nullptr;
  const std::string* content = nullptr;
  TlsPolicy tls;
  std::vector<std::optional<qmgr::RecipientReply>> results;  // per request recipient
  std::vector<std::string> relays;                          // per recipient, for the log
  std::vector<int64_t> done_us;                             // per recipient
  std::optional<AttemptFailure> last_failure;
  Peer last_peer;
  bool ambiguous = false;   // the end of DATA went out without its reply: stop here
  bool any_session = false;  // some server got as far as a reply to our commands
  int64_t ready_us = 0;      // when the last session was ready for MAIL (delays c/d)
  std::optional<std::string> seven_bit;  // the content for servers without 8BITMIME
  std::string sts_testing;  // MTA-STS policy domain in testing mode: log what would fail
  std::vector<uint32_t> conn_use;        // per recipient: the session's use count, for the log
  bool cache_wanted = false;             // keep a clean session open (connection cache)
  std::optional<std::string> seven_bit_body;  // the same with 8-bit headers (SMTPUTF8 in use)

  bool all_done() const {
    return std::all_of(results.begin(), results.end(), [](const auto& r) { return r.has_value(); });
  }
};

// A connection whose session may carry more messages (connection cache).
struct SmtpDelivery::Connection {
  std::unique_ptr<net::Transport> transport;
  smtp::ClientSession session;
  DeliveryTarget target;  // the server, for a request that finds it by destination
  uint16_t port = 25;
  ConnectionLabels labels;
  ConnectionUse use;
};

}  // namespace estafeta::outbound
