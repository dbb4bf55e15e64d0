// The smtp agent's delivery of one request. See smtp_delivery.h.
#include "outbound/smtp_delivery.h"

#include <fmt/format.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <deque>
#include <optional>
#include <variant>

#include "base/ascii.h"
#include "base/clock.h"
#include "delivery/agent_common.h"
#include "log/delivery_line.h"
#include "message/smtputf8_autodetect.h"
#include "net/tls_client.h"
#include "net/transport.h"
#include "outbound/dane_lookup.h"
#include "outbound/delivery_report.h"
#include "outbound/idn.h"
#include "outbound/mta_sts_plan.h"
#include "outbound/mx_lookup.h"
#include "outbound/next_hop.h"
#include "outbound/tls_plan.h"
#include "outbound/tls_policy.h"
#include "smtp/client_session.h"
#include "smtp/content_encoder.h"
#include "smtp/header_encoder.h"
#include "smtp/mime_downgrade.h"

// XXX GCC 12 at -O2 reports -Wmismatched-new-delete on the coroutine frames of try_server
// and deliver since the connection cache came in (the construct that tips its inlining was
// not pinned down). Both ends are asio's awaitable frame operator new/delete (it sees
// asio::aligned_new on one path), so the warning is taken as false.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace estafeta::outbound {
namespace {

constexpr auto kNoThrow = asio::experimental::as_tuple(asio::use_awaitable);
constexpr size_t kContentChunk = 64 * 1024;

double seconds_between(int64_t from_us, int64_t to_us) {
  return static_cast<double>(std::max<int64_t>(0, to_us - from_us)) / 1e6;
}

// A failure that ends an attempt on one server (or all of them), for the recipients that
// have no answer yet.
struct Failure {
  std::string dsn = "4.4.1";
  std::string text;
  std::string diagnostic{};  // "smtp; 554 ..." for a remote reply, else ""
  bool permanent{false};
};

}  // namespace

// The state of one request across the servers tried.
struct SmtpDelivery::Attempt {
  const qmgr::AgentRequest* request = nullptr;
  const message::Envelope* envelope = nullptr;
  const std::string* content = nullptr;
  TlsPolicy tls;
  std::vector<std::optional<qmgr::RecipientReply>> results;  // per request recipient
  std::vector<std::string> relays;                          // per recipient, for the log
  std::vector<int64_t> done_us;                             // per recipient
  std::optional<Failure> last_failure;
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

SmtpDelivery::SmtpDelivery(asio::io_context& io, SmtpDeliverySettings settings, DnsResolver& dns,
                           std::shared_ptr<asio::ssl::context> tls_context,
                           PolicyLookup tls_policy, log::Logger log,
                           PolicyLookup sasl_passwords)
    : io_(io),
      settings_(std::move(settings)),
      dns_(dns),
      tls_context_(std::move(tls_context)),
      tls_policy_(std::move(tls_policy)),
      log_(std::move(log)),
      sasl_passwords_(std::move(sasl_passwords)),
      store_(delivery::open_queue_for_agent(settings_.queue_directory, log_)),
      random_(std::random_device{}()),
      cache_(settings_.cache_limits, clock_),
      cache_timer_(io) {}

SmtpDelivery::~SmtpDelivery() = default;

// A connection whose session may carry more messages (connection cache).
struct SmtpDelivery::Connection {
  std::unique_ptr<net::Transport> transport;
  smtp::ClientSession session;
  DeliveryTarget target;  // the server, for a request that finds it by destination
  uint16_t port = 25;
  ConnectionLabels labels;
  ConnectionUse use;
};

namespace {

// The TLS policy of a next hop: the first smtp_tls_policy_maps entry found under its keys.
// `table_entry` tells whether the table had one (MTA-STS then stays out).
Result<TlsPolicy> policy_for(const ClientTlsSettings& settings, const PolicyLookup& lookup,
                             const std::string& nexthop, bool& table_entry) {
  if (lookup) {
    for (const std::string& key : tls_policy_lookup_keys(nexthop)) {
      maps::LookupResult r = lookup(key);
      if (r.is_temp_fail()) {
        return make_error(fmt::format("smtp_tls_policy_maps lookup of {}: {}", key, r.value));
      }
      table_entry = r.is_found();
      if (r.is_found()) return tls_policy_from_table(settings, std::string_view(r.value));
    }
  }
  return tls_policy_from_table(settings, std::nullopt);
}

// SMTP AUTH failed: always deferred (Postfix's smtp_sasl_auth_soft_bounce = yes), the next
// server is tried. The text never holds credentials (the session's reasons do not).
Failure sasl_failure(const smtp::client::SessionFailed& f, const Peer& peer) {
  const std::string host = peer.host.empty() ? peer.address : peer.host;
  Failure out;
  out.dsn = "4.7.0";
  if (f.reply) {
    const std::string text = f.reply->text();
    out.dsn = reply_status(f.reply->code, f.reply->enhanced);
    if (!out.dsn.empty()) out.dsn[0] = '4';
    out.diagnostic = smtp_diagnostic(text);
    out.text =
        fmt::format("SASL authentication failed; server {}[{}] said: {}", host, peer.address, text);
  } else if (f.reason.starts_with("SASL")) {
    out.text = f.reason;
  } else {
    out.text =
        fmt::format("SASL authentication failed; {} with {}[{}]", f.reason, host, peer.address);
  }
  return out;
}

// smtp_sasl_password_maps: the credentials for a server of a next hop, nullopt for none.
Result<std::optional<smtp::ClientAuth>> sasl_auth_for(const SaslSettings& settings,
                                                      const PolicyLookup& lookup,
                                                      const std::string& nexthop,
                                                      const std::string& server_host) {
  if (!settings.enable || !lookup) return std::optional<smtp::ClientAuth>();
  for (const std::string& key : sasl_password_keys(nexthop, server_host)) {
    maps::LookupResult r = lookup(key);
    if (r.is_temp_fail()) {
      return make_error(fmt::format("smtp_sasl_password_maps lookup of {}: {}", key, r.value));
    }
    if (!r.is_found()) continue;
    SaslCredentials c = parse_sasl_credentials(r.value);
    return std::optional<smtp::ClientAuth>(
        smtp::ClientAuth{std::move(c.username), std::move(c.password), settings.mechanisms,
                         settings.plaintext_in_clear, settings.plaintext_with_tls});
  }
  return std::optional<smtp::ClientAuth>();
}

Failure failure_of(const smtp::client::SessionFailed& f, const Peer& peer) {
  Failure out;
  const std::string host = peer.host.empty() ? peer.address : peer.host;
  if (f.stage == smtp::ClientStage::Auth && !f.reason.starts_with("lost connection") &&
      !f.reason.starts_with("conversation timed out")) {
    return sasl_failure(f, peer);
  }
  if (f.reply) {
    const std::string text = f.reply->text();
    out.dsn = reply_status(f.reply->code, f.reply->enhanced);
    out.permanent = f.reply->klass() == 5;
    out.diagnostic = smtp_diagnostic(text);
    if (f.stage == smtp::ClientStage::Greeting) {
      out.text = fmt::format("host {}[{}] refused to talk to me: {}", host, peer.address, text);
    } else {
      out.text = remote_said(peer, text, smtp::reply_context(f.stage));
    }
    return out;
  }
  out.dsn = "4.4.2";
  if (f.reason.starts_with("lost connection")) {
    out.text = fmt::format("lost connection with {}[{}] while {}", host, peer.address,
                           smtp::activity(f.stage));
  } else if (f.reason.starts_with("conversation timed out")) {
    out.text = fmt::format("conversation with {}[{}] timed out while {}", host, peer.address,
                           smtp::activity(f.stage));
  } else if (f.stage == smtp::ClientStage::StartTls) {
    out.dsn = f.reason.find("not offered") != std::string::npos ? "4.7.4" : "4.7.5";
    out.text = f.reason;
  } else {
    out.text = fmt::format("{} with {}[{}] while {}", f.reason, host, peer.address,
                           smtp::activity(f.stage));
  }
  return out;
}

// `peer_dsn`: the server announced DSN, so it got the recipient's NOTIFY and reports success
// itself.
qmgr::RecipientReply reply_for(const qmgr::AgentRecipient& r, const smtp::ServerReply& reply,
                               smtp::ClientStage stage, const Peer& peer, bool peer_dsn) {
  qmgr::RecipientReply out;
  out.index = r.index;
  out.relay = relay_name(peer);
  out.status = reply_status(reply.code, reply.enhanced);
  const std::string text = reply.text();
  if (reply.klass() == 2) {
    out.outcome = qmgr::RecipientOutcome::kDelivered;
    out.reason = text;
    out.action = peer_dsn ? "passed" : "relayed";  // RFC 3461 5.2.2, 6.2
    return out;
  }
  out.outcome =
      reply.klass() == 5 ? qmgr::RecipientOutcome::kBounced : qmgr::RecipientOutcome::kDeferred;
  out.reason = reply.local ? text : remote_said(peer, text, smtp::reply_context(stage));
  if (!reply.local) out.diagnostic = smtp_diagnostic(text);
  return out;
}

std::chrono::seconds timeout_for(const SmtpTimeouts& t, smtp::ClientStage stage) {
  switch (stage) {
    case smtp::ClientStage::Greeting:
    case smtp::ClientStage::Ehlo:
    case smtp::ClientStage::Helo:
    case smtp::ClientStage::Auth:
      return t.helo;
    case smtp::ClientStage::StartTls:
      return t.starttls;
    case smtp::ClientStage::Rset:
    case smtp::ClientStage::Mail:
      return t.mail;
    case smtp::ClientStage::Rcpt:
      return t.rcpt;
    case smtp::ClientStage::Data:
      return t.data_init;
    case smtp::ClientStage::Body:
      return t.data_xfer;
    case smtp::ClientStage::EndOfData:
      return t.data_done;
    case smtp::ClientStage::Idle:
    case smtp::ClientStage::Quit:
    case smtp::ClientStage::Closed:
      return t.quit;
  }
  return t.quit;
}

// The message as this server can take it, after its EHLO: with SMTPUTF8 not offered, the
// envelope domains in A-labels when only they are non-ASCII, or the SMTPUTF8 flag set so
// the session refuses the message (5.6.7; outbound/idn.h); with 8BITMIME not offered, an
// 8-bit message's content downgraded to 7 bit (smtp/mime_downgrade.h; BODY= is then not
// sent) and, unless SMTPUTF8 is in use, 8-bit header text as RFC 2047 encoded-words
// (smtp/header_encoder.h; whatever the message's BODY=). Returns the content to send.
const std::string* adapt_to_server(smtp::OutgoingMessage& message,
                                   const smtp::EhloCapabilities& caps, const std::string& content,
                                   std::optional<std::string>& seven_bit,
                                   std::optional<std::string>& seven_bit_body) {
  std::vector<std::string> recipients;
  for (const smtp::OutgoingRecipient& r : message.recipients) recipients.push_back(r.address);
  const Utf8Decision utf8 =
      decide_smtputf8(caps.smtputf8, message.smtputf8, message.sender, recipients);
  if (utf8.action == Utf8Action::kAsciiDomains) {
    message.sender = utf8.sender;
    for (size_t i = 0; i < recipients.size(); ++i) {
      message.recipients[i].address = utf8.recipients[i];
    }
  } else if (utf8.action == Utf8Action::kRefuse) {
    message.smtputf8 = true;
  }
  if (caps.eight_bit_mime) return &content;
  // RFC 6532: 8-bit header fields may go as they are only with SMTPUTF8 in use.
  const bool encode_headers = !(message.smtputf8 && caps.smtputf8);
  if (!message.eight_bit && !(encode_headers && message::has_8bit_header(content))) {
    return &content;
  }
  std::optional<std::string>& seven = encode_headers ? seven_bit : seven_bit_body;
  if (!seven) {
    std::string out = message.eight_bit ? smtp::downgrade_mime(content).content : content;
    if (encode_headers) {
      smtp::HeaderEncoding headers = smtp::encode_8bit_headers(out);
      if (headers.changed) out = std::move(headers.content);
    }
    seven = std::move(out);
  }
  message.size = seven->size();
  return &*seven;
}

// Cancels the transport's pending operation when its deadline passes (the operation then
// ends with 0 / false, and `fired` tells a timeout from a closed connection).
class Deadline {
 public:
  Deadline(asio::io_context& io, net::Transport& transport) : timer_(io), transport_(transport) {}
  void arm(std::chrono::seconds after) {
    fired_ = std::make_shared<bool>(false);
    timer_.expires_after(after);
    timer_.async_wait([fired = fired_, t = &transport_](const asio::error_code& ec) {
      if (ec) return;
      *fired = true;
      t->cancel();
    });
  }
  // Disarms; true when the deadline had passed.
  bool disarm() {
    timer_.cancel();
    return fired_ && *fired_;
  }

 private:
  asio::steady_timer timer_;
  net::Transport& transport_;
  std::shared_ptr<bool> fired_;
};

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
    attempt.last_failure = Failure{"4.4.1", fmt::format("bad address {}", target.address.text)};
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
      attempt.last_failure = Failure{"4.4.1", fmt::format("cannot bind to {} for {}[{}]: {}", bind,
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
        Failure{"4.4.1", fmt::format("connect to {}[{}]:{}: {}", host, peer.address, port, why)};
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
    attempt.last_failure = Failure{"4.3.0", auth.error().message};
    co_return false;
  }

  // DANE: the server's TLSA records decide its TLS before any connection (outbound/dane.h).
  // (A named variable: GCC 12 destroys some temporaries of a co_await expression twice.)
  const DaneFacts facts{attempt.tls.level, settings_.dnssec, target.dnssec_secure, target.host,
                        port};
  const DaneDecision dane = co_await dane_for_server(dns_, facts);
  if (dane.mode == DaneDecision::Mode::Defer) {
    attempt.last_failure = Failure{dane.status, dane.text};
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
            log_.info(tls_established_line(trust, host, peer.address, port,
                                           transport->tls_description()));
          }
          refusal = refuse_peer(tls_plan.level, trust);
        }
        if (refusal) {
          std::string text = fmt::format("{}[{}]: {}", host, peer.address, refusal->text);
          if (!tls_plan.tlsa.empty() && !transport->tls_verify_error().empty()) {
            text += fmt::format(" (DANE certificate verification failed: {})",
                                transport->tls_verify_error());
          }
          attempt.last_failure = Failure{refusal->status, text};
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

asio::awaitable<qmgr::AgentReply> SmtpDelivery::deliver(qmgr::AgentRequest request) {
  const int64_t start_us = system_now_us();
  delivery::RequestMessage read = delivery::read_request_message(store_.get(), request, "none", log_);
  if (read.deferred) co_return *read.deferred;
  const message::Envelope& env = read.read.value->file.envelope;
  const std::string& content = read.read.value->file.content;

  Attempt attempt;
  attempt.request = &request;
  attempt.envelope = &env;
  attempt.content = &content;
  const size_t n = request.recipients.size();
  attempt.results.resize(n);
  attempt.relays.assign(n, "none");
  attempt.done_us.assign(n, 0);
  attempt.conn_use.assign(n, 0);
  attempt.cache_wanted =
      (settings_.cache_on_demand && request.more_mail) ||
      std::any_of(settings_.cache_destinations.begin(), settings_.cache_destinations.end(),
                  [&](const std::string& d) { return ascii::iequals(d, request.next_hop); });

  auto settle_all = [&](const Failure& f) {
    for (size_t i = 0; i < n; ++i) {
      if (attempt.results[i]) continue;
      attempt.results[i] = delivery::recipient_reply(
          request.recipients[i],
          f.permanent ? qmgr::RecipientOutcome::kBounced : qmgr::RecipientOutcome::kDeferred,
          f.dsn, f.text, attempt.relays[i]);
      attempt.results[i]->diagnostic = f.diagnostic;
      attempt.done_us[i] = system_now_us();
    }
  };
  for (size_t i = 0; i < n; ++i) {
    const qmgr::AgentRecipient& r = request.recipients[i];
    if (r.index >= env.recipients.size() || env.recipients[r.index].address != r.address) {
      attempt.results[i] = delivery::recipient_reply(r, qmgr::RecipientOutcome::kDeferred, "4.3.0",
                                                     "recipient not in the queue file", "none");
    }
  }

  bool table_entry = false;
  auto policy = policy_for(settings_.tls, tls_policy_, request.next_hop, table_entry);
  if (!policy.ok()) {
    const TlsRefusal r = invalid_policy_reason(request.next_hop, policy.error());
    settle_all(Failure{r.status, r.text});
  } else if (policy->defer_reason) {
    settle_all(Failure{"4.7.5", *policy->defer_reason});
  } else if (policy->effective_level != TlsLevel::None && tls_context_ == nullptr &&
             policy->effective_level != TlsLevel::May) {
    settle_all(Failure{"4.7.5", "TLS is required, but the client's TLS settings cannot be used"});
  } else {
    attempt.tls = *policy;
    if (is_dane_level(policy->level) && !settings_.dnssec) {
      log_.warning(dane_without_dnssec_warning(policy->level));
    }
  }

  // The next hop, then smtp_fallback_relay's, while recipients are left without an answer
  // that is not ambiguous.
  std::vector<std::string> hops = {request.next_hop};
  for (const std::string& f : settings_.fallback_relay) {
    if (f != request.next_hop) hops.push_back(f);
  }
  const RandomBelow random = [this](size_t below) {
    return static_cast<size_t>(std::uniform_int_distribution<size_t>(0, below - 1)(random_));
  };
  for (size_t h = 0; h < hops.size() && !attempt.all_done() && !attempt.ambiguous; ++h) {
    if (h == 0 && !closing_) {
      // An idle connection to the next hop: no DNS, no connection set-up.
      const ConnectionLabels labels = connection_cache_labels(hops[h], "", 0, attempt.tls, "");
      if (auto taken = cache_.take_by_destination(labels.destination)) {
        ConnectionPtr c = std::move(taken->connection);
        c->use = taken->use;
        const DeliveryTarget target = c->target;
        const uint16_t port = c->port;
        co_await try_server(attempt, target, port, hops[h], true, std::move(c));
        if (attempt.all_done() || attempt.ambiguous) break;
      }
    }
    auto hop = parse_next_hop(hops[h]);
    if (!hop.ok()) {
      attempt.last_failure =
          Failure{"4.3.5", fmt::format("bad next-hop {}: {}", hops[h], hop.error().message)};
      continue;
    }
    // An internationalized destination is looked up by its A-labels.
    if (auto ascii = domain_to_ascii(hop->host); ascii.ok()) {
      hop->host = std::move(*ascii);
    } else {
      Failure f{"5.1.2",
                fmt::format("bad destination domain {}: {}", hop->host, ascii.error().message),
                "", true};
      if (h == 0) {
        settle_all(f);
        break;
      }
      attempt.last_failure = f;
      continue;
    }
    MxPlan plan = co_await plan_delivery(dns_, hop->host, hop->mx_lookup, settings_.mx, random);
    if (plan.failure) {
      // A permanent name service failure of the destination itself ends it (a fallback relay
      // is for servers that cannot be reached, not for domains that do not exist).
      Failure f{plan.failure->dsn, plan.failure->text, "", plan.failure->permanent};
      if (f.permanent && h == 0) {
        settle_all(f);
        break;
      }
      attempt.last_failure = f;
      continue;
    }
    // MTA-STS: the destination's own MX hosts only (not a fallback relay, not [host]).
    // DANE takes precedence (RFC 8461 section 2) where it applies to the destination: a DANE
    // level with validated DNS and a validated MX answer (the TLSA records then decide per
    // server).
    const bool dane_usable =
        is_dane_level(attempt.tls.level) && settings_.dnssec &&
        std::any_of(plan.targets.begin(), plan.targets.end(),
                    [](const DeliveryTarget& t) { return t.dnssec_secure; });
    std::optional<MtaStsPolicy> sts;
    if (h == 0 && mta_sts_ != nullptr && policy.ok() &&
        mta_sts_applies({mta_sts_->enabled(), hop->mx_lookup, table_entry, dane_usable})) {
      sts = co_await mta_sts_->policy_for(hop->host);
    }
    MtaStsApplied applied = apply_mta_sts(sts, hop->host, std::move(plan.targets));
    for (const std::string& line : applied.log_lines) log_.warning("{}", line);
    if (applied.defer) {
      attempt.last_failure = Failure{"4.7.5", *applied.defer};
      continue;
    }
    const TlsPolicy hop_tls = attempt.tls;
    if (applied.enforce) attempt.tls = mta_sts_tls_policy(settings_.tls);
    attempt.sts_testing = applied.testing ? hop->host : "";
    size_t sessions = 0;
    for (const DeliveryTarget& target : applied.targets) {
      if (attempt.all_done() || attempt.ambiguous) break;
      if (settings_.mx.mx_session_limit != 0 && sessions >= settings_.mx.mx_session_limit) break;
      if (co_await try_server(attempt, target, hop->port, hops[h])) ++sessions;
    }
    attempt.tls = hop_tls;
    attempt.sts_testing.clear();
    // An enforced policy that no server could meet: the deferral says so.
    if (applied.enforce && !attempt.any_session && attempt.last_failure &&
        attempt.last_failure->dsn.starts_with("4.7.")) {
      attempt.last_failure->dsn = "4.7.5";
      attempt.last_failure->text = mta_sts_defer_text(hop->host, attempt.last_failure->text);
    }
  }
  const bool reached = attempt.any_session;
  settle_all(attempt.last_failure.value_or(Failure{"4.4.1", "no server to try"}));

  qmgr::AgentReply reply;
  reply.id = request.id;
  if (!reached && attempt.last_failure) reply.destination_failure = attempt.last_failure->text;
  const int64_t end_us = system_now_us();
  for (size_t i = 0; i < n; ++i) {
    qmgr::RecipientReply& out = *attempt.results[i];
    if (out.relay.empty()) out.relay = attempt.relays[i];
    log::DeliveryLine line;
    line.queue_id = request.queue_id;
    line.to = request.recipients[i].address;
    const std::string& orcpt = request.recipients[i].orcpt;
    if (orcpt.size() > 7 && (orcpt.starts_with("rfc822;") || orcpt.starts_with("RFC822;"))) {
      line.orig_to = orcpt.substr(7);
    }
    line.relay = out.relay.empty() ? "none" : out.relay;
    line.conn_use = static_cast<int>(attempt.conn_use[i]);
    line.delay = seconds_between(env.arrival_us, end_us);
    line.a = seconds_between(env.arrival_us, start_us);
    const int64_t ready = attempt.ready_us != 0 ? attempt.ready_us : end_us;
    line.c = seconds_between(start_us, ready);
    line.d = seconds_between(ready, attempt.done_us[i] != 0 ? attempt.done_us[i] : end_us);
    line.dsn = out.status;
    line.status = std::string(delivery::status_word(out.outcome));
    line.reason = out.reason;
    log_.info(log::delivery_line(line));
    reply.recipients.push_back(std::move(out));
  }
  co_return reply;
}

void SmtpDelivery::park(ConnectionPtr connection) {
  if (closing_ || !cache_.may_reuse(connection->use)) {
    quit_and_close(std::move(connection));
    return;
  }
  ConnectionLabels labels = connection->labels;
  const ConnectionUse use = connection->use;
  cache_.store(std::move(labels), std::move(connection), use);
  expire_cached();  // arms the timer for the earliest expiry
}

void SmtpDelivery::expire_cached() {
  for (ConnectionPtr& c : cache_.expire()) quit_and_close(std::move(c));
  const std::optional<Clock::TimePoint> next = cache_.next_expiry();
  if (!next) {
    cache_timer_.cancel();
    return;
  }
  cache_timer_.expires_after(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(*next - clock_.now()));
  cache_timer_.async_wait([this](const asio::error_code& ec) {
    if (!ec) expire_cached();
  });
}

void SmtpDelivery::quit_and_close(ConnectionPtr connection) {
  auto quit = [](ConnectionPtr c, std::chrono::seconds timeout,
                 asio::io_context& io) -> asio::awaitable<void> {
    for (smtp::ClientAction& action : c->session.quit()) {
      if (auto* send = std::get_if<smtp::client::Send>(&action)) {
        Deadline deadline(io, *c->transport);
        deadline.arm(timeout);
        co_await c->transport->write_all(send->bytes);
        deadline.disarm();
      }
    }
    c->transport->close();
  };
  asio::co_spawn(io_, quit(std::move(connection), settings_.timeouts.quit, io_), asio::detached);
}

void SmtpDelivery::close_cached_connections() {
  closing_ = true;
  cache_timer_.cancel();
  for (ConnectionPtr& c : cache_.take_all()) quit_and_close(std::move(c));
}

}  // namespace estafeta::outbound
