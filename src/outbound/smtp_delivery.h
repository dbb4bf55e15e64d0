// One delivery request of the smtp agent (Postfix smtp(8)), as a coroutine on the agent's
// event loop: read the message from the queue (read-only), find the servers of the next hop
// (outbound/mx_lookup.h: [host]:port without MX lookup, else MX, else the host's own
// addresses), and try them in order, at most smtp_mx_session_limit sessions, then the
// smtp_fallback_relay hosts, driving the pure smtp::ClientSession over a net::Transport:
// STARTTLS as the TLS policy of the destination says (outbound/tls_plan.h: never mail in
// clear when TLS is required; a peer that does not verify at verify/secure is left; at the
// DANE levels each server's TLSA records decide, outbound/dane_lookup.h), with
// Postfix's timeouts per stage. Each recipient ends delivered (the end-of-data 2xx), bounced
// (a 5xx, or a permanent failure of the destination: null MX, no such domain) or deferred
// (a 4xx, or no server reached: the last failure's text), and is logged in Postfix's format
// (outbound/delivery_report.h). The next server is tried only for recipients that have no
// answer yet, and not after the end of DATA went out without its reply (the message may have
// been delivered: deferred, "may be sent more than once"). Never changes queue state.
//
// Connection cache (Postfix's smtp_connection_cache_*; outbound/connection_cache.h): a
// session that ends its delivery clean (the last transaction completed, no failure) is kept
// open instead of QUIT when the queue manager said more mail waits for the destination
// (AgentRequest::more_mail, smtp_connection_cache_on_demand) or the next hop is listed in
// smtp_connection_cache_destinations. A request looks first for an idle connection to its
// next hop, then, server by server, for one to the server's address. A cached connection the
// peer closed meanwhile (no reply, or a 421, to the first RSET/MAIL) is dropped without a
// trace in the outcome, and the delivery goes on over a new connection. Idle connections get
// QUIT after smtp_connection_cache_time_limit and at close_cached_connections().
//
// The parts: smtp_delivery.cc (a request across its next hops), smtp_delivery_server.cc (one
// server: connection and session), smtp_delivery_cache.cc (idle connections), with
// next_hop_tables.h, smtp_timeouts.h, smtp_outcome.h and message_for_server.h.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ssl/context.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "base/clock.h"
#include "log/logger.h"
#include "maps/map.h"
#include "net/transport.h"
#include "outbound/connection_cache.h"
#include "outbound/delivery_report.h"
#include "outbound/dns_resolver.h"
#include "outbound/mta_sts_resolver.h"
#include "outbound/mx_plan.h"
#include "outbound/next_hop_tables.h"
#include "outbound/sasl_settings.h"
#include "outbound/smtp_timeouts.h"
#include "outbound/tls_settings.h"
#include "qmgr/protocol.h"
#include "queue/queue_store.h"

namespace estafeta::outbound {

struct SmtpDeliverySettings {
  std::string queue_directory;  // absolute
  std::string helo_name;        // smtp_helo_name
  bool never_send_ehlo = false;  // smtp_never_send_ehlo
  SmtpTimeouts timeouts;
  MxPlanSettings mx;
  std::string bind_address;   // smtp_bind_address (IPv4), "" = any
  std::string bind_address6;  // smtp_bind_address6, "" = any
  std::vector<std::string> fallback_relay;  // smtp_fallback_relay next hops
  ClientTlsSettings tls;
  /// smtp_dns_support_level = dnssec: the AD bit counts, DANE can be used (outbound/dane.h).
  bool dnssec = false;
  SaslSettings sasl;  // smtp_sasl_*: credentials from the lookup given to SmtpDelivery
  MtaStsSettings mta_sts;  // smtp_mta_sts_*: the resolver is given with set_mta_sts
  bool cache_on_demand = true;  // smtp_connection_cache_on_demand
  /// smtp_connection_cache_destinations: its names; its tables are looked up through the
  /// lookup given to set_cache_destination_tables.
  std::vector<std::string> cache_destinations;
  ConnectionCacheLimits cache_limits;           // smtp_connection_{cache,reuse}_*_limit
};

class SmtpDelivery {
 public:
  /// `sasl_passwords`: smtp_sasl_password_maps lookups (used when settings.sasl.enable; a
  /// lookup error defers the server's recipients, no entry means no AUTH). `dns` is borrowed;
  /// `tls_context` may be null when TLS cannot be used (then a destination whose policy requires
  /// TLS is deferred). Opens the queue store read-side (an error is logged; requests are then
  /// deferred).
  SmtpDelivery(asio::io_context& io, SmtpDeliverySettings settings, DnsResolver& dns,
               std::shared_ptr<asio::ssl::context> tls_context, PolicyLookup tls_policy,
               log::Logger log, PolicyLookup sasl_passwords = {});
  ~SmtpDelivery();
  SmtpDelivery(const SmtpDelivery&) = delete;
  SmtpDelivery& operator=(const SmtpDelivery&) = delete;

  /// MTA-STS (outbound/mta_sts_plan.h) for destinations found by MX lookup; borrowed, may be
  /// null (none).
  void set_mta_sts(MtaStsResolver* resolver) { mta_sts_ = resolver; }

  /// The `type:table` items of smtp_connection_cache_destinations, searched with the next
  /// hop (next_hop_tables.h); empty: none.
  void set_cache_destination_tables(PolicyLookup tables) {
    cache_destination_tables_ = std::move(tables);
  }

  /// Delivers one request; runs on the io_context's thread.
  asio::awaitable<qmgr::AgentReply> deliver(qmgr::AgentRequest request);

  /// Agent shutdown: QUIT on every idle cached connection; later sessions are not cached.
  void close_cached_connections();

 private:
  struct Attempt;
  struct Connection;  // a connected transport and its ClientSession, cacheable
  using ConnectionPtr = std::unique_ptr<Connection>;
  // One server: false when no connection was made (smtp_mx_session_limit counts the others).
  // `allow_tls` false: no STARTTLS (the second try after a failed opportunistic handshake).
  // `cached`: an idle connection to this server taken from the cache (else the endpoint
  // cache is looked at, then a new connection made).
  asio::awaitable<bool> try_server(Attempt& attempt, const DeliveryTarget& target, uint16_t port,
                                   const std::string& nexthop, bool allow_tls = true,
                                   ConnectionPtr&& cached = nullptr);
  asio::awaitable<std::unique_ptr<net::Transport>> connect(Attempt& attempt,
                                                           const DeliveryTarget& target,
                                                           const Peer& peer);
  // Keeps an idle session for later (or QUITs it when it may not be kept).
  void park(ConnectionPtr connection);
  void quit_and_close(ConnectionPtr connection);
  void expire_cached();

  asio::io_context& io_;
  SmtpDeliverySettings settings_;
  DnsResolver& dns_;
  std::shared_ptr<asio::ssl::context> tls_context_;
  PolicyLookup tls_policy_;
  log::Logger log_;
  PolicyLookup sasl_passwords_;
  PolicyLookup cache_destination_tables_;
  std::unique_ptr<queue::QueueStore> store_;
  std::mt19937_64 random_;
  MtaStsResolver* mta_sts_ = nullptr;
  SystemClock clock_;
  ConnectionCache<ConnectionPtr> cache_;
  asio::steady_timer cache_timer_;
  bool closing_ = false;  // close_cached_connections() was called
};

}  // namespace estafeta::outbound
