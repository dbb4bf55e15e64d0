// The smtp agent's work on one server: the connection (smtp_connect_timeout,
// smtp_bind_address), or an idle one from the cache, and the client session over it
// (STARTTLS, DANE, SMTP AUTH, the transaction) with each stage's timeout. See smtp_delivery.h.
#include "outbound/smtp_delivery.h"

#include <fmt/format.h>

#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <deque>
#include <optional>
#include <variant>

#include "base/ascii.h"
#include "base/clock.h"
#include "outbound/dane.h"
#include "outbound/dane_lookup.h"
#include "outbound/message_for_server.h"
#include "outbound/mta_sts_plan.h"
#include "outbound/smtp_delivery_state.h"
#include "outbound/tls_plan.h"
#include "outbound/tls_policy.h"
#include "smtp/content_encoder.h"

// XXX GCC 12 at -O2 reported -Wmismatched-new-delete on the coroutine frames of try_server
// and deliver since the connection cache came in (the construct that tips its inlining was
// not pinned down). Both ends are asio's awaitable frame operator new/delete (it sees
// asio::aligned_new on one path), so the warning is taken as false. Since smtp_delivery.cc
// was split in parts GCC 12 no longer reports it (at -O2 or -O3); kept in the two files of
// those coroutines, as the trigger is not understood.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace estafeta::outbound {
namespace {

constexpr auto kNoThrow = asio::experimental::as_tuple(asio::use_awaitable);
constexpr size_t kContentChunk = 64 * 1024;

}  // namespace

asio::awaitable<std::unique_ptr<net::Transport>> SmtpDelivery::connect(Attempt& attempt,
                                                                       const DeliveryTarget& target,
                                                                       const Peer& peer) {
  const std::string host = peer.host.empty() ? peer.address : peer.host;
  const uint16_t port = peer.port;
  // Connect, within smtp_connect_timeout, from smtp_bind_address(6) when set.
  asio::error_code ec;
  const asio::ip::address address = asio::ip::make_address(target.address.text, ec);
  if (ec) {
    attempt.last_failure = AttemptFailure{"4.4.1", fmt::format("bad address {}", target.address.text)};
    co_return nullptr;
  }
  asio::ip::tcp::socket socket(io_);
  const asio::ip::tcp::endpoint endpoint(address, port);
  socket.open(endpoint.protocol(), ec);
  const std::string& bind = address.is_v4() ? settings_.bind_address : settings_.bind_address6;
  if (!ec && !bind.empty()) {
    const asio::ip::address local = asio::ip::make_address(bind, ec);
    if (!ec) socket.bind(asio::ip::tcp::endpoint(local, 0), ec);
    if (ec) {
      attempt.last_failure = AttemptFailure{"4.4.1", fmt::format("cannot bind to {} for {}[{}]: {}", bind,
                                                          host, peer.address, ec.message())};
      co_return nullptr;
    }
  }
  if (!ec) {
    asio::steady_timer timer(io_);
    timer.expires_after(settings_.timeouts.connect);
    auto fired = std::make_shared<bool>(false);
    timer.async_wait([fired, &socket](const asio::error_code& e) {
      if (e) return;
      *fired = true;
      asio::error_code ignored;
      socket.cancel(ignored);
    });
    auto [connected] = co_await socket.async_connect(endpoint, kNoThrow);
    timer.cancel();
    ec = *fired ? asio::error::timed_out : connected;
  }
  if (ec) {
    const std::string why = ec == asio::error::timed_out ? "Connection timed out" : ec.message();
    attempt.last_failure =
        AttemptFailure{"4.4.1", fmt::format("connect to {}[{}]:{}: {}", host, peer.address, port, why)};
    co_return nullptr;
  }
  // Each write is a whole command group or content chunk: send it at once (Nagle would hold
  // a small write until the peer's delayed ACK of the previous one, 40 ms on Linux).
  asio::error_code nodelay_error;
  socket.set_option(asio::ip::tcp::no_delay(true), nodelay_error);
  co_return net::make_tcp_transport(std::move(socket));
}

asio::awaitable<bool> SmtpDelivery::try_server(Attempt& attempt, const DeliveryTarget& target,
                                               uint16_t port, const std::string& nexthop,
                                               bool allow_tls, ConnectionPtr&& cached) {
  const qmgr::AgentRequest& request = *attempt.request;
  const message::Envelope& env = *attempt.envelope;
  Peer peer{target.host, target.address.text, port};
  attempt.last_peer = peer;
  const std::string host = peer.host.empty() ? peer.address : peer.host;

  auto auth = sasl_auth_for(settings_.sasl, sasl_passwords_, nexthop, target.host);
  if (!auth.ok()) {
    attempt.last_failure = AttemptFailure{"4.3.0", auth.error().message};
    co_return false;
  }

  // DANE: the server's TLSA records decide its TLS before any connection (outbound/dane.h).
  // (A named variable: GCC 12 destroys some temporaries of a co_await expression twice.)
  const DaneFacts facts{.level = attempt.tls.level,
                        .dnssec = settings_.dnssec,
                        .mx_secure = target.mx_secure,
                        .address_secure = target.address_secure,
                        .insecure_mx_policy = settings_.tls.insecure_mx_policy,
                        .host = target.host,
                        .port = port};
  const DaneDecision dane = co_await dane_for_server(dns_, facts);
  if (dane.mode == DaneDecision::Mode::Defer) {
    attempt.last_failure = AttemptFailure{dane.status, dane.text};
    co_return false;
  }

  TlsConnectionPlan tls_plan = plan_tls_connection(attempt.tls, nexthop, target.host);
  apply_dane(tls_plan, dane, target.host);
  // MTA-STS testing: classify the peer as enforce would (the level still decides).
  if (!attempt.sts_testing.empty()) tls_plan.names = {ascii::lower(target.host)};
  std::optional<PeerTrust> trust_seen;
  smtp::ClientSettings cs;
  cs.helo_name = settings_.helo_name;
  cs.peer = fmt::format("{}[{}]", host, peer.address);
  cs.use_ehlo = !settings_.never_send_ehlo;
  cs.try_starttls = tls_plan.attempt && tls_context_ != nullptr && allow_tls;
  cs.require_tls = tls_plan.required;
  const std::string sasl_user = *auth ? (*auth)->username : std::string();
  cs.auth = std::move(*auth);

  // An idle connection to this server from the cache, else a new one.
  ConnectionLabels labels = connection_cache_labels(nexthop, target.address.text, port, attempt.tls,
                                                    sasl_user, !allow_tls);
  ConnectionPtr conn = std::move(cached);
  if (!conn && !closing_) {
    if (auto taken = cache_.take_by_endpoint(labels.endpoint)) {
      conn = std::move(taken->connection);
      conn->use = taken->use;
    }
  }
  const bool reused = conn != nullptr;
  if (!conn) {
    std::unique_ptr<net::Transport> fresh = co_await connect(attempt, target, peer);
    if (!fresh) co_return false;
    conn = std::make_unique<Connection>(Connection{std::move(fresh), smtp::ClientSession(cs),
                                                   target, port, std::move(labels),
                                                   ConnectionUse{clock_.now(), 0}});
  }
  net::Transport* const transport = conn->transport.get();
  smtp::ClientSession& session = conn->session;
  Deadline deadline(io_, *transport);

  // The recipients still without an answer go in this transaction.
  smtp::OutgoingMessage message;
  message.sender = env.sender;
  std::vector<size_t> positions;  // message recipient -> request recipient
  for (size_t i = 0; i < request.recipients.size(); ++i) {
    if (attempt.results[i]) continue;
    const qmgr::AgentRecipient& r = request.recipients[i];
    message.recipients.push_back({r.address, r.notify, r.orcpt});
    positions.push_back(i);
  }
  message.size = attempt.content->size();
  message.eight_bit = env.body_type == "8BITMIME";
  message.smtputf8 = env.smtputf8;
  message.envid = env.dsn_envid;
  message.ret = env.dsn_ret;

  std::deque<smtp::ClientAction> actions;
  auto take = [&](std::vector<smtp::ClientAction> more) {
    for (auto& a : more) actions.push_back(std::move(a));
  };
  if (reused) {
    actions.push_back(smtp::client::Ready{});  // the session is idle: the message goes at once
  } else {
    take(session.start());
  }
  bool message_given = false;
  bool any_result = false;                       // a recipient of this session got its reply
  bool stale = false;                            // a cached connection that the peer had closed
  bool parked = false;                           // the session stays open, in the cache
  const std::string* content = attempt.content;  // or its 7-bit form (adapt_to_server)
  bool closed = false;
  std::vector<char> buffer(16 * 1024);
  bool retry_in_clear = false;  // opportunistic TLS whose handshake failed
  while (!closed) {
    while (!actions.empty() && !closed) {
      smtp::ClientAction action = std::move(actions.front());
      actions.pop_front();
      if (auto* send = std::get_if<smtp::client::Send>(&action)) {
        // A pipelined command group may come as several sends: one write for all of them.
        while (!actions.empty() && std::holds_alternative<smtp::client::Send>(actions.front())) {
          send->bytes += std::get<smtp::client::Send>(actions.front()).bytes;
          actions.pop_front();
        }
        deadline.arm(timeout_for(settings_.timeouts, session.stage()));
        const bool ok = co_await transport->write_all(send->bytes);
        const bool late = deadline.disarm();
        if (!ok) take(late ? session.timed_out() : session.peer_closed());
      } else if (std::get_if<smtp::client::StartTls>(&action)) {
        deadline.arm(settings_.timeouts.starttls);
        bool ok = co_await transport->start_tls_client(*tls_context_, tls_plan);
        deadline.disarm();
        if (!ok && !tls_plan.required) retry_in_clear = true;
        std::optional<TlsRefusal> refusal;
        if (ok) {
          const PeerTrust trust = transport->tls_peer_trust().value_or(PeerTrust::Anonymous);
          trust_seen = trust;
          if (log_established(settings_.tls.loglevel)) {
            log_.info(tls_established_line(reported_peer_trust(tls_plan, trust), host,
                                           peer.address, port, transport->tls_description()));
          }
          refusal = refuse_peer(tls_plan.level, trust);
        }
        if (refusal) {
          std::string text = fmt::format("{}[{}]: {}", host, peer.address, refusal->text);
          if (!tls_plan.tlsa.empty() && !transport->tls_verify_error().empty()) {
            text += fmt::format(" (DANE certificate verification failed: {})",
                                transport->tls_verify_error());
          }
          attempt.last_failure = AttemptFailure{refusal->status, text};
          take(session.quit());
        } else {
          take(session.tls_done(ok));
        }
      } else if (std::get_if<smtp::client::SendContent>(&action)) {
        smtp::ContentEncoder encoder;
        std::string_view rest = *content;
        bool ok = true;
        while (ok) {
          const std::string_view chunk = rest.substr(0, kContentChunk);
          rest.remove_prefix(chunk.size());
          // The last chunk and the end-of-data dot go out in one write: a separate small
          // write would wait for the peer's delayed ACK of the previous one (Nagle).
          const bool last = rest.empty();
          std::string wire = encoder.encode(chunk);
          if (last) wire += encoder.finish();
          deadline.arm(settings_.timeouts.data_xfer);
          ok = co_await transport->write_all(wire);
          const bool late = deadline.disarm();
          if (!ok) {
            take(late ? session.timed_out() : session.peer_closed());
            break;
          }
          if (last) break;
        }
        if (ok) take(session.content_sent());
      } else if (auto* done = std::get_if<smtp::client::RecipientDone>(&action)) {
        const size_t i = positions.at(done->index);
        attempt.results[i] = reply_for(request.recipients[i], done->reply, done->stage, peer,
                                        session.capabilities().dsn);
        attempt.done_us[i] = system_now_us();
        attempt.conn_use[i] = conn->use.uses;
        attempt.any_session = true;
        any_result = true;
      } else if (std::get_if<smtp::client::Ready>(&action)) {
        if (!message_given) {
          message_given = true;
          ++conn->use.uses;
          attempt.ready_us = system_now_us();
          attempt.any_session = attempt.any_session || !reused;
          if (!reused && settings_.tls.note_starttls_offer && !session.tls_active() &&
              session.capabilities().starttls) {
            log_.info(starttls_offer_note(host));  // smtp_tls_note_starttls_offer
          }
          if (!attempt.sts_testing.empty()) {
            if (auto report = mta_sts_testing_report(attempt.sts_testing, host,
                                                     session.tls_active(), trust_seen)) {
              log_.warning("{}", *report);
            }
          }
          content = adapt_to_server(message, session.capabilities(), *attempt.content,
                                    attempt.seven_bit, attempt.seven_bit_body);
          take(session.send_message(message));
        } else if (attempt.cache_wanted && !closing_) {
          parked = true;  // clean: the transaction is over and the session idle
          closed = true;
        } else {
          take(session.quit());
        }
      } else if (auto* failed = std::get_if<smtp::client::SessionFailed>(&action)) {
        if (reused && !any_result &&
            (failed->stage == smtp::ClientStage::Rset ||
             failed->stage == smtp::ClientStage::Mail)) {
          // Closed by the peer while idle in the cache (EOF, or its 421 read as the reply to
          // MAIL): not this destination's failure; nothing was sent.
          stale = true;
          continue;
        }
        if (reused) attempt.any_session = true;  // it answered MAIL: the server was reached
        attempt.last_failure = failure_of(*failed, peer);
        if (failed->stage == smtp::ClientStage::EndOfData ||
            failed->stage == smtp::ClientStage::Body) {
          attempt.ambiguous = failed->stage == smtp::ClientStage::EndOfData;
          attempt.any_session = true;
        }
      } else if (std::get_if<smtp::client::Close>(&action)) {
        closed = true;
      }
    }
    if (closed) break;
    deadline.arm(timeout_for(settings_.timeouts, session.stage()));
    const size_t n = co_await transport->read_some(std::span<char>(buffer.data(), buffer.size()));
    const bool late = deadline.disarm();
    if (n == 0) {
      take(late ? session.timed_out() : session.peer_closed());
    } else {
      take(session.feed(std::string_view(buffer.data(), n)));
    }
  }
  if (stale) {
    transport->close();
    log_.info("{}[{}]:{}: cached connection closed by the server, connecting again", host,
              peer.address, port);
    co_return co_await try_server(attempt, target, port, nexthop, allow_tls);
  }
  if (parked) {
    park(std::move(conn));
  } else {
    transport->close();
  }
  for (size_t i : positions) attempt.relays[i] = relay_name(peer);
  if (retry_in_clear && !attempt.all_done()) {
    // As Postfix at level may: the same server again, without STARTTLS.
    log_.info("{}[{}]:{}: TLS handshake failed, trying again in clear", host, peer.address, port);
    co_await try_server(attempt, target, port, nexthop, false);
  }
  co_return true;
}

}  // namespace estafeta::outbound
