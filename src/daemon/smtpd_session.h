// One SMTP session at the edge: a coroutine that reads from a Transport, feeds the sans-I/O
// smtp::ServerSession, and carries out its Actions (replies, recipient decisions, queue
// writes, STARTTLS, logging). Used by the smtpd worker (TCP) and by inetd mode (stdio).
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ssl/context.hpp>

#include <memory>

#include "daemon/anvil_service.h"
#include "daemon/dovecot_auth_client.h"
#include "daemon/policy_client.h"
#include "outbound/dns_resolver.h"
#include "policy/dns_answer_cache.h"
#include "daemon/smtpd_settings.h"
#include "log/logger.h"
#include "maps/lookup_pool.h"
#include "net/transport.h"
#include "net/unix_socket.h"
#include "daemon/message_store.h"
#include "smtp/server_session.h"

namespace estafeta::outbound {
class DnsResolver;
}

namespace estafeta::daemon {

/// What a session borrows from its process; all of it outlives every session.
struct SessionEnvironment {
  asio::io_context& io;
  const log::Logger& log;
  MessageStore& store;  // where accepted messages go (the queue, or maildrop for -bs)
  const SmtpdSettings& settings;
  asio::ssl::context* tls = nullptr;  // null: no STARTTLS / wrapper mode
  // Runs decisions that consult remote tables (pgsql:, redis:) off the event loop; may be
  // null when the settings name no remote table.
  maps::LookupPool* lookups = nullptr;
  // Where ETRN sends its flush request (the queue manager's public/qmgr); null: ETRN answers
  // 458 (inetd mode).
  const net::DatagramSender* flush_requests = nullptr;
  // The service's connection and rate limits and this client as they see it (both null in
  // inetd mode: no limits): the session calls anvil->check(Message/Recipient/Auth/NewTls,
  // *anvil_client) and anvil->check_starttls(*anvil_client) (anvil_service.h).
  AnvilService* anvil = nullptr;
  const policy::AnvilClient* anvil_client = nullptr;
  // The process's connection to Dovecot's authentication server (settings.sasl.path); null
  // when SMTP AUTH is off (or unavailable: AUTH then gets 454).
  DovecotAuthClient* sasl = nullptr;
  // The restrictions' DNS lookups and policy services (daemon/smtpd_policy.h); null: DNS
  // checks fail temporarily, policy services give their default action (inetd mode).
  outbound::DnsResolver* dns = nullptr;
  PolicyClient* policy_client = nullptr;
  // The process's cache of those DNS answers (on the loop's thread only); null: none.
  policy::DnsAnswerCache* dns_cache = nullptr;
  // smtpd_peername_lookup: where the client's names are looked up at connect
  // (daemon/client_names.h); null: the session keeps the names it was given.
  outbound::DnsResolver* resolver = nullptr;
};

/// Runs the session to its end. Logs "connect from" and "disconnect from" lines.
asio::awaitable<void> run_smtp_session(SessionEnvironment env,
                                       std::unique_ptr<net::Transport> transport,
                                       smtp::ClientInfo client);

}  // namespace estafeta::daemon
