// The session coroutine (see smtpd_session.h). Replies are batched: everything the session
// produces for one read is written with one write, which is what PIPELINING wants.
#include "daemon/smtpd_session.h"

#include <sys/time.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <optional>
#include <utility>

#include "cleanup/content_cleanup.h"
#include "daemon/client_names.h"
#include "daemon/greet_pause.h"
#include "daemon/loop_offload.h"
#include "daemon/smtpd_policy.h"
#include "message/smtputf8_autodetect.h"
#include "qmgr/flush_request.h"
#include "smtp/received.h"
#include "smtp/reply.h"

// XXX GCC 12 at -O2 reports -Wmismatched-new-delete on a coroutine frame of this file since
// the session's policy decisions carry vectors (the same false report as in
// outbound/smtp_delivery.cc): both ends are asio's awaitable frame operator new/delete.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace estafeta::daemon {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kReadBufferSize = 64 * 1024;

// Idle-timeout watchdog shared by the session and its timer coroutine. The deadline moves
// on every read and write; the timer only wakes up at the old deadline and re-arms, so an
// active session costs no timer operations per command.
struct Watchdog {
  explicit Watchdog(asio::io_context& io) : timer(io) {}
  asio::steady_timer timer;
  Clock::time_point deadline;
  net::Transport* transport = nullptr;
  bool fired = false;
  bool done = false;
};

asio::awaitable<void> watch(std::shared_ptr<Watchdog> dog) {
  while (!dog->done) {
    dog->timer.expires_at(dog->deadline);
    co_await dog->timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    if (dog->done) break;
    if (Clock::now() >= dog->deadline) {
      dog->fired = true;
      dog->transport->cancel();
      break;
    }
  }
}

int64_t now_us() {
  timeval tv{};
  gettimeofday(&tv, nullptr);
  return int64_t(tv.tv_sec) * 1000000 + tv.tv_usec;
}

// The queue's actions for a message: the restrictions' (HOLD, FILTER, REDIRECT, BCC) and the
// content checks'; a content check's FILTER or REDIRECT, decided later, wins.
message::ContentActions merged_actions(const message::ContentActions& policy,
                                       const message::ContentActions& content) {
  message::ContentActions all = policy;
  all.hold = all.hold || content.hold;
  if (!content.redirect.empty()) all.redirect = content.redirect;
  if (!content.filter.empty()) all.filter = content.filter;
  if (!all.redirect.empty()) all.filter.clear();  // header_checks(5): REDIRECT overrides FILTER
  all.bcc.insert(all.bcc.end(), content.bcc.begin(), content.bcc.end());
  return all;
}

class SessionDriver {
 public:
  SessionDriver(SessionEnvironment env, std::unique_ptr<net::Transport> transport,
                smtp::ClientInfo client, smtp::SessionSettings settings)
      : env_(env),
        transport_(std::move(transport)),
        client_(client),
        peer_(fmt::format("{}[{}]", client.hostname, client.address)),
        settings_(std::move(settings)),
        session_(settings_, client),
        policy_(PolicyServices{env.io, env.log, env.settings, env.lookups, env.dns,
                               env.policy_client, env.dns_cache}),
        dog_(std::make_shared<Watchdog>(env.io)) {}

  asio::awaitable<void> run() {
    co_await look_up_names();
    env_.log.info("connect from {}", peer_);
    // smtpd_forbid_bare_newline_exclusions, decided once per connection before the banner
    // (Postfix decides at connect time too).
    smtp::BareNewlineMode mode = co_await bare_newline_mode();
    if (mode != settings_.bare_newline) {
      settings_.bare_newline = mode;
      session_ = smtp::ServerSession(settings_, client_);
    }
    co_await refresh_sasl_mechanisms();
    dog_->transport = transport_.get();
    touch();
    asio::co_spawn(env_.io, watch(dog_), asio::detached);
    if (co_await greeting_allowed()) co_await perform(session_.start());
    // Not zero-filled: a connection per message would otherwise clear 64 KiB each time.
    auto buffer_storage = std::make_unique_for_overwrite<char[]>(kReadBufferSize);
    const std::span<char> buffer(buffer_storage.get(), kReadBufferSize);
    while (!session_.closed() && !closed_) {
      touch();
      size_t n = co_await transport_->read_some(buffer);
      if (n == 0) {
        if (dog_->fired) {
          co_await perform(session_.timed_out());
        } else {
          co_await perform(session_.peer_closed());
        }
        break;
      }
      co_await perform(session_.feed(std::string_view(buffer.data(), n)));
    }
    dog_->done = true;
    dog_->timer.cancel();
    message_.reset();
    transport_->close();
    env_.log.info("disconnect from {} {}", peer_, session_.command_stats());
  }

 private:
  void touch() { dog_->deadline = Clock::now() + env_.settings.timeout; }

  // smtpd_peername_lookup: the client's names from DNS, before the first log line.
  asio::awaitable<void> look_up_names() {
    if (env_.resolver == nullptr) co_return;
    client_ = co_await look_up_client_names(env_.io, *env_.resolver, env_.log, client_);
    peer_ = fmt::format("{}[{}]", client_.hostname, client_.address);
    session_ = smtp::ServerSession(settings_, client_);
  }

  // Carries out actions in order; follow-up actions (after a decision or a commit) join the
  // same work list so that their replies are batched with the rest.
  asio::awaitable<void> perform(std::vector<smtp::Action> first) {
    // A stack with the next action last (no allocation per action, as a deque of these large
    // variants made): follow-ups go on top, in order.
    std::vector<smtp::Action> work = std::move(first);
    std::reverse(work.begin(), work.end());
    while (!work.empty()) {
      smtp::Action action = std::move(work.back());
      work.pop_back();
      std::vector<smtp::Action> more;
      if (!perform_at_once(action, more)) more = co_await perform_one(action);
      work.insert(work.end(), std::make_move_iterator(more.rbegin()),
                  std::make_move_iterator(more.rend()));
      if (closed_) co_return;
    }
    if (!flushed_at_once()) co_await flush();
  }

  // Carries out an action that needs no waiting (most of them: a reply into the output, a log
  // line, the message's begin and bytes), with its follow-ups in `more`; false, doing
  // nothing, for one that may wait, left to perform_one (a coroutine: a frame allocated per
  // call, which per action was a fifth of smtpd's allocations).
  bool perform_at_once(smtp::Action& action, std::vector<smtp::Action>& more) {
    if (auto* reply = std::get_if<smtp::SendReply>(&action)) {
      output_ += reply->text;
    } else if (std::holds_alternative<smtp::SaslAbort>(action)) {
      if (env_.sasl != nullptr && sasl_request_ != 0) env_.sasl->forget(sasl_request_);
      sasl_request_ = 0;
    } else if (auto* etrn = std::get_if<smtp::FlushSite>(&action)) {
      more = session_.flush_decided(flush_site(etrn->site));
    } else if (auto* begin = std::get_if<smtp::BeginMessage>(&action)) {
      begin_message(std::move(begin->envelope), begin->actions);
    } else if (auto* body = std::get_if<smtp::AppendBody>(&action)) {
      append(body->data);
    } else if (std::holds_alternative<smtp::AbortMessage>(action)) {
      message_.reset();
      refusal_.reset();
    } else if (auto* line = std::get_if<smtp::LogLine>(&action)) {
      env_.log.info(line->text);
    } else {
      return false;
    }
    return true;
  }

  // The actions that may wait (perform_at_once does the rest): their follow-ups.
  asio::awaitable<std::vector<smtp::Action>> perform_one(smtp::Action& action) {
    if (auto* check = std::get_if<smtp::CheckPolicy>(&action)) {
      // The rate limits first (anvil), then the restrictions (daemon/smtpd_policy.h).
      std::optional<smtp::PolicyDecision> limited = co_await rate_limited(check->facts.stage);
      smtp::PolicyDecision decision;
      if (limited) {
        decision = std::move(*limited);
      } else {
        decision = co_await policy_.decide(check->facts);
      }
      co_return session_.policy_decided(std::move(decision));
    } else if (auto* step = std::get_if<smtp::SaslStep>(&action)) {
      co_return session_.sasl_answered(co_await sasl_step(std::move(*step)));
    } else if (auto* commit = std::get_if<smtp::CommitMessage>(&action)) {
      co_return co_await commit_current(*commit);
    } else if (std::holds_alternative<smtp::CheckStartTls>(action)) {
      co_return session_.starttls_decided(co_await starttls_refusal());
    } else if (std::holds_alternative<smtp::StartTls>(action)) {
      co_await flush();
      bool ok = env_.tls != nullptr && !closed_ && co_await transport_->start_tls(*env_.tls);
      if (ok) {
        env_.log.info("Anonymous TLS connection established from {}: {}", peer_,
                      transport_->tls_description());
        if (!co_await new_tls_session_allowed()) co_return std::vector<smtp::Action>{};
      } else {
        env_.log.info("SSL_accept error from {}", peer_);
      }
      std::vector<smtp::Action> more = session_.tls_done(ok);
      // RFC 4954 §4 and smtpd_sasl_tls_security_options: the list is taken again under TLS.
      if (ok) co_await refresh_sasl_mechanisms();
      co_return more;
    } else if (std::holds_alternative<smtp::Close>(action)) {
      co_await flush();
      closed_ = true;
    } else if (auto* delay = std::get_if<smtp::Delay>(&action)) {
      co_await flush();
      asio::steady_timer timer(env_.io, std::chrono::milliseconds(delay->milliseconds));
      co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
      touch();  // the wait is ours, not the client's idle time
    }
    co_return std::vector<smtp::Action>{};
  }

  // smtpd_client_message_rate_limit at MAIL, smtpd_client_recipient_rate_limit at RCPT
  // (anvil_service.h): the refusal, or nothing when the event is within its limit.
  asio::awaitable<std::optional<smtp::PolicyDecision>> rate_limited(smtp::PolicyStage stage) {
    if (env_.anvil == nullptr || env_.anvil_client == nullptr) co_return std::nullopt;
    policy::AnvilEvent event;
    if (stage == smtp::PolicyStage::Mail) {
      event = policy::AnvilEvent::Message;
    } else if (stage == smtp::PolicyStage::Rcpt) {
      event = policy::AnvilEvent::Recipient;
    } else {
      co_return std::nullopt;
    }
    policy::AnvilVerdict verdict = co_await env_.anvil->check(event, *env_.anvil_client);
    if (verdict.allowed) co_return std::nullopt;
    env_.anvil->log_refusal(verdict);
    co_return smtp::PolicyDecision::refuse(verdict.reply);
  }

  // smtpd_client_new_tls_session_rate_limit at STARTTLS, before its 220 (as Postfix): the
  // client's new TLS sessions so far, not counting this one; over the limit, the 454 refusal
  // (the session goes on in clear; a refused STARTTLS is not counted).
  asio::awaitable<std::optional<std::string>> starttls_refusal() {
    if (env_.anvil == nullptr || env_.anvil_client == nullptr) co_return std::nullopt;
    policy::AnvilVerdict verdict = co_await env_.anvil->check_starttls(*env_.anvil_client);
    if (verdict.allowed) co_return std::nullopt;
    env_.anvil->log_refusal(verdict);
    co_return verdict.reply;
  }

  // smtpd_client_new_tls_session_rate_limit after a STARTTLS handshake, which counts: past
  // the limit, 421 and the session ends (false). Postfix judges here too (a client whose
  // STARTTLS was allowed at the limit's edge), and refuses the next STARTTLS before it.
  asio::awaitable<bool> new_tls_session_allowed() {
    if (env_.anvil == nullptr || env_.anvil_client == nullptr) co_return true;
    policy::AnvilVerdict verdict =
        co_await env_.anvil->check(policy::AnvilEvent::NewTls, *env_.anvil_client);
    if (verdict.allowed) co_return true;
    env_.anvil->log_refusal(verdict);
    output_ += verdict.reply + "\r\n";
    co_await flush();
    closed_ = true;
    co_return false;
  }

  // smtpd_greet_pause, for clients outside mynetworks (daemon/greet_pause.h). False: the
  // client talked first or left; the session ends without a banner.
  asio::awaitable<bool> greeting_allowed() {
    if (env_.settings.greet_pause.count() <= 0) co_return true;
    bool trusted = co_await in_mynetworks();  // not inside ||: GCC 12 and co_await
    if (trusted) co_return true;
    bool silent = co_await greet_pause(env_.io, *transport_, env_.log, client_,
                                       env_.settings.greet_pause);
    if (!silent) closed_ = true;
    co_return silent;
  }

  asio::awaitable<bool> in_mynetworks() {
    const policy::NetworkSet& mynetworks = env_.settings.recipients.mynetworks;
    if (env_.lookups == nullptr || !mynetworks.has_remote_tables()) {
      co_return mynetworks.contains(client_.address) == policy::Match::Yes;
    }
    // Named, not a temporary in the co_await expression: GCC 12 mishandles those.
    std::function<void(std::function<void(bool)>)> start =
        [pool = env_.lookups, &mynetworks, address = client_.address](auto deliver) {
          pool->post([&mynetworks, address, deliver] {
            deliver(mynetworks.contains(address) == policy::Match::Yes);
          });
        };
    co_return co_await await_result(env_.io, std::move(start));
  }

  // SMTP AUTH: the mechanisms Dovecot offers, after the security options for the session's
  // TLS state. Not asked while smtpd_tls_auth_only keeps AUTH off anyway.
  asio::awaitable<void> refresh_sasl_mechanisms() {
    const SaslSettings& sasl = env_.settings.sasl;
    if (!sasl.enabled) co_return;
    const bool tls = session_.tls_active();
    if (settings_.sasl_tls_only && !tls) co_return;
    if (env_.sasl == nullptr) {
      session_.set_sasl_mechanisms(std::nullopt);
      co_return;
    }
    auto mechanisms = co_await env_.sasl->mechanisms();
    if (!mechanisms.ok()) {
      session_.set_sasl_mechanisms(std::nullopt);
      co_return;
    }
    session_.set_sasl_mechanisms(
        sasl::offered_mechanisms(*mechanisms, tls ? sasl.tls_options : sasl.options));
  }

  // One step of an AUTH exchange, answered by Dovecot.
  asio::awaitable<sasl::Answer> sasl_step(smtp::SaslStep step) {
    if (env_.sasl == nullptr) {
      sasl::Answer unavailable;
      unavailable.kind = sasl::Answer::Kind::TemporaryFailure;
      unavailable.reason = "authentication server unavailable";
      co_return unavailable;
    }
    sasl::Answer answer;
    if (step.first && env_.anvil != nullptr && env_.anvil_client != nullptr) {
      // smtpd_client_auth_rate_limit: every AUTH command counts (anvil_service.h).
      policy::AnvilVerdict verdict =
          co_await env_.anvil->check(policy::AnvilEvent::Auth, *env_.anvil_client);
      if (!verdict.allowed) {
        env_.anvil->log_refusal(verdict);
        answer.kind = sasl::Answer::Kind::TemporaryFailure;
        answer.refusal = verdict.reply;
        co_return answer;
      }
    }
    if (step.first) {
      if (sasl_request_ != 0) env_.sasl->forget(sasl_request_);
      DovecotAuthClient::Request request;
      request.mechanism = std::move(step.mechanism);
      request.initial_response = std::move(step.response);
      request.service = env_.settings.sasl.service;
      request.remote_ip = client_.address;
      request.secured = session_.tls_active();
      uint32_t id = 0;
      answer = co_await env_.sasl->begin(std::move(request), &id);
      sasl_request_ = id;
    } else {
      answer = co_await env_.sasl->next(sasl_request_, step.response.value_or(""));
    }
    if (answer.kind != sasl::Answer::Kind::Continue) sasl_request_ = 0;
    co_return answer;
  }

  // smtpd_forbid_bare_newline for this client; off the event loop when a remote table may be
  // asked.
  asio::awaitable<smtp::BareNewlineMode> bare_newline_mode() {
    const SmtpdSettings& settings = env_.settings;
    if (env_.lookups == nullptr || !settings.bare_newline_exclusions.has_remote_tables()) {
      co_return settings.bare_newline_for(client_.address);
    }
    // Named, not a temporary in the co_await expression: GCC 12 mishandles those.
    std::function<void(std::function<void(smtp::BareNewlineMode)>)> start =
        [pool = env_.lookups, settings = &settings, address = client_.address](auto deliver) {
          pool->post([settings, address, deliver] {
            deliver(settings->bare_newline_for(address));
          });
        };
    co_return co_await await_result(env_.io, std::move(start));
  }

  // ETRN: a site of fast_flush_domains gets a flush request to the queue manager (Postfix's
  // fast flush service; here the queue manager scans deferred/ itself). XXX a remote table in
  // fast_flush_domains is asked on the event loop (ETRN is rare).
  smtp::FlushAnswer flush_site(const std::string& site) {
    switch (env_.settings.fast_flush_domains.contains(site)) {
      case policy::Match::No:
        return smtp::FlushAnswer::NotAllowed;
      case policy::Match::TempFail:
        env_.log.warning("{}: fast_flush_domains lookup failed for ETRN {}", peer_, site);
        return smtp::FlushAnswer::Failed;
      case policy::Match::Yes:
        break;
    }
    auto request = qmgr::encode_flush_request(qmgr::FlushRequest{site, "", ""});
    if (env_.flush_requests == nullptr || !request || !env_.flush_requests->send(*request)) {
      env_.log.warning("{}: ETRN {}: cannot reach the queue manager", peer_, site);
      return smtp::FlushAnswer::Failed;
    }
    env_.log.info("{}: ETRN {}: flush requested", peer_, site);
    return smtp::FlushAnswer::Started;
  }

  void begin_message(message::Envelope envelope, const smtp::PolicyActions& actions) {
    envelope.client_address = client_.address;
    envelope.client_hostname = client_.hostname;
    std::string single_recipient =
        envelope.recipients.size() == 1 ? envelope.recipients.front().address : "";
    std::string first_recipient =
        envelope.recipients.empty() ? "" : envelope.recipients.front().address;
    std::string sender = envelope.sender;
    std::string protocol = envelope.protocol;
    std::string helo = envelope.helo;
    write_error_ = {};
    refusal_.reset();
    if (env_.settings.cleanup) {
      route::EnvelopeCleanup::Outcome cleaned = env_.settings.cleanup->rewrite(envelope);
      for (const auto& line : cleaned.log) env_.log.warning("NOQUEUE: {}", line);
      if (cleaned.refusal) {
        refusal_ = std::move(cleaned.refusal);  // answered at the end of DATA
        return;
      }
    }
    // smtputf8_autodetect_classes `smtpd`: UTF-8 a rewriting introduced into an address.
    if (env_.settings.smtputf8_autodetect && message::has_8bit_address(envelope)) {
      envelope.smtputf8 = true;
    }
    auto opened = env_.store.begin(std::move(envelope));
    if (!opened.ok()) {
      env_.log.warning("queue file create: {}", opened.error().message);
      write_error_ = opened.error();  // The commit answers by its code (452 for ENOSPC).
      return;
    }
    message_ = std::move(opened.value());
    if (session_.sasl_username().empty()) {
      env_.log.info("{}: client={}", message_->queue_id(), peer_);
    } else {
      // Postfix's form, which pflogsumm and fail2ban read.
      std::string line = fmt::format("{}: client={}, sasl_method={}, sasl_username={}",
                                     message_->queue_id(), peer_, session_.sasl_method(),
                                     session_.sasl_username());
      if (!session_.mail_auth().empty()) {
        line += ", sasl_sender=" + smtp::printable(session_.mail_auth());
      }
      env_.log.info(line);
    }
    checks::CheckContext context;
    context.queue_id = message_->queue_id();
    context.client_name = client_.hostname;
    context.client_address = client_.address;
    context.sender = sender;
    context.recipient = first_recipient;
    context.protocol = protocol;
    context.helo = helo;
    content_ = std::make_unique<cleanup::ContentCleanup>(
        env_.settings.content, context,
        env_.settings.cleanup ? env_.settings.cleanup->header_rewriter(client_.address) : nullptr);
    smtp::ReceivedInfo info;
    info.helo = helo;
    info.client_hostname = client_.hostname;
    info.client_address = client_.address;
    info.by_hostname = env_.settings.session.hostname;
    info.protocol = protocol;
    info.queue_id = message_->queue_id();
    info.tls_description = transport_->tls_description().empty()
                               ? ""
                               : "(using " + transport_->tls_description() + ")";
    info.for_recipient = single_recipient;
    if (env_.settings.sasl.authenticated_header) {
      info.authenticated_sender = session_.sasl_username();
    }
    info.time_us = now_us();
    std::string top = smtp::received_header(info);
    // PREPEND of the restrictions: above the message's own headers, as Postfix's smtpd
    // puts them after its Received: header.
    for (const std::string& header : actions.prepend) top += header + "\r\n";
    append(top);
  }

  // Message bytes through the cleanup stage's content half, then into the queue file.
  void append(std::string_view data) {
    if (!message_) return;
    write(content_->feed(data));
  }

  void write(std::string_view data) {
    if (!message_ || data.empty()) return;
    if (auto status = message_->append(data); !status.ok()) {
      env_.log.warning("{}: queue file write: {}", message_->queue_id(), status.error().message);
      write_error_ = status.error();
      message_.reset();  // The commit answers by the error's code (451, or 452 for ENOSPC).
    }
  }

  asio::awaitable<std::vector<smtp::Action>> commit_current(const smtp::CommitMessage& commit) {
    if (refusal_) {
      env_.log.info("NOQUEUE: reject: DATA from {}: {}", peer_, *refusal_);
      co_return session_.commit_refused(*std::exchange(refusal_, std::nullopt));
    }
    if (message_) write(content_->finish());
    if (message_) {
      for (const std::string& line : content_->take_log_lines()) {
        if (line.starts_with("warning: ")) {
          env_.log.warning("{}", std::string_view(line).substr(9));
        } else {
          env_.log.info("{}", line);
        }
      }
      if (auto refused = content_->refusal()) {
        // The incoming file goes with the draft; nothing was acknowledged.
        env_.log.info("{}: reject: DATA from {}: {}", message_->queue_id(), peer_, *refused);
        message_.reset();
        co_return session_.commit_refused(*refused);
      }
      if (content_->discard() || commit.actions.discard) {
        std::string id = message_->queue_id();
        env_.log.info("{}: discard: DATA from {}", id, peer_);
        message_.reset();
        co_return session_.commit_done(std::move(id));
      }
      message_->set_content_actions(merged_actions(commit.actions.queue, content_->actions()));
    }
    if (!message_) {
      Error error = write_error_.message.empty() ? make_error("queue file write error")
                                                 : std::move(write_error_);
      co_return session_.commit_done(std::move(error));
    }
    std::string id = message_->queue_id();
    env_.log.info("{}: message-id={}", id,
                  commit.message_id.empty() ? std::string("<>") : commit.message_id);
    // Replies already produced (e.g. pipelined RCPT answers) go out while the disk works.
    co_await flush();
    // std::function needs a copyable callable: the message travels in a shared_ptr.
    auto message = std::make_shared<std::unique_ptr<MessageDraft>>(std::move(message_));
    // Named, not a temporary in the co_await expression: GCC 12 mishandles those.
    std::function<void(std::function<void(Result<std::string>)>)> start =
        [store = &env_.store, message](auto deliver) {
          store->commit(std::move(*message), std::move(deliver));
        };
    auto result = co_await await_result(env_.io, std::move(start));
    if (!result.ok()) env_.log.warning("{}: queue file commit: {}", id, result.error().message);
    co_return session_.commit_done(std::move(result));
  }

  // Writes the output without waiting when the socket takes it all (the usual case: a few
  // replies); true when nothing is left. A caller that would otherwise co_await flush()
  // calls this first and saves the coroutine's frame.
  bool flushed_at_once() {
    if (output_.empty() || closed_) return true;
    touch();
    output_.erase(0, transport_->write_now(output_));
    return output_.empty();
  }

  // Writes the output, waiting for the socket when it takes only part.
  asio::awaitable<void> flush() {
    if (flushed_at_once()) co_return;
    std::string out;
    out.swap(output_);
    if (!co_await transport_->write_all(out)) closed_ = true;
  }

  SessionEnvironment env_;
  std::unique_ptr<net::Transport> transport_;
  smtp::ClientInfo client_;
  std::string peer_;
  smtp::SessionSettings settings_;  // session_'s, with smtpd_forbid_bare_newline for client_
  smtp::ServerSession session_;
  SessionPolicy policy_;
  std::shared_ptr<Watchdog> dog_;
  std::unique_ptr<MessageDraft> message_;
  Error write_error_;  // why message_ was dropped (or never opened), for the commit's reply
  std::optional<std::string> refusal_;  // the cleanup stage refused the message: its reply
  std::unique_ptr<cleanup::ContentCleanup> content_;  // the current message's content stage
  uint32_t sasl_request_ = 0;  // the Dovecot request of an AUTH exchange in progress
  bool closed_ = false;
  std::string output_;
};

}  // namespace

asio::awaitable<void> run_smtp_session(SessionEnvironment env,
                                       std::unique_ptr<net::Transport> transport,
                                       smtp::ClientInfo client) {
  smtp::SessionSettings settings = env.settings.session;
  if (env.settings.wrapper_mode) {
    // Implicit TLS (port 465): handshake before the banner.
    if (env.tls == nullptr || !co_await transport->start_tls(*env.tls)) {
      env.log.info("SSL_accept error from {}[{}]", client.hostname, client.address);
      transport->close();
      co_return;
    }
    settings.tls_active = true;
    settings.starttls_available = false;
    if (env.anvil != nullptr && env.anvil_client != nullptr) {
      // smtpd_client_new_tls_session_rate_limit: this handshake counts; past it, 421.
      policy::AnvilVerdict verdict =
          co_await env.anvil->check(policy::AnvilEvent::NewTls, *env.anvil_client);
      if (!verdict.allowed) {
        env.anvil->log_refusal(verdict);
        std::string reply = verdict.reply + "\r\n";
        co_await transport->write_all(reply);
        transport->close();
        co_return;
      }
    }
  }
  // STARTTLS waits for anvil only when the client has a new-TLS-session limit.
  settings.ask_before_starttls = settings.starttls_available && env.anvil != nullptr &&
                                 env.anvil_client != nullptr && !env.anvil_client->exempt &&
                                 env.anvil->limits().new_tls_rate > 0;
  SessionDriver driver(env, std::move(transport), std::move(client), std::move(settings));
  co_await driver.run();
}

}  // namespace estafeta::daemon
