// The ESMTP server state machine (see server_session.h). Postfix smtpd's replies are the
// model; docs/smtp.md lists every reply and why. Structure: feed() appends to inbuf_, run()
// hands the buffered bytes to the step function of the current mode (command line, skipping
// an over-long line, DATA, BDAT chunk) until the input runs out, the session pauses for the
// edge, or it closes. Every Action goes through emit(), which drops anything after Close.
#include "smtp/server_session.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "smtp/reply.h"

namespace estafeta::smtp {
namespace {

constexpr std::string_view kLineTooLong = "500 5.5.2 Error: line too long";
constexpr std::string_view kEndOfMessage = "END-OF-MESSAGE";
// Actions a call usually emits (a reply, a log line, a policy check or the message's steps).
constexpr size_t kUsualActions = 4;

}  // namespace

ServerSession::ServerSession(SessionSettings settings, ClientInfo client)
    : settings_(std::move(settings)), client_(std::move(client)) {
  tls_active_ = settings_.tls_active;
}

bool ServerSession::waiting() const { return wait_ != Wait::None; }
bool ServerSession::closed() const { return closed_; }
bool ServerSession::tls_active() const { return tls_active_; }

std::string ServerSession::protocol() const {
  if (!esmtp_) return "SMTP";
  // RFC 3848: S for TLS, A for SMTP AUTH.
  std::string name = tls_active_ ? "ESMTPS" : "ESMTP";
  if (!sasl_username_.empty()) name += 'A';
  return name;
}

std::string ServerSession::client_text() const {
  return fmt::format("{}[{}]", printable(client_.hostname), printable(client_.address));
}

// ---- Action plumbing -----------------------------------------------------------------

void ServerSession::emit(Action action, std::vector<Action>& out) {
  if (closed_) return;  // Invariant: nothing follows Close.
  if (std::holds_alternative<Close>(action)) closed_ = true;
  // Most calls emit a few actions: room for them at once rather than a doubling per action.
  if (out.capacity() == 0) out.reserve(kUsualActions);
  out.push_back(std::move(action));
}

void ServerSession::log(std::string text, std::vector<Action>& out) {
  emit(LogLine{std::move(text)}, out);
}

void ServerSession::reply(std::string_view text, std::vector<Action>& out) {
  if (closed_) return;
  // smtpd_soft_error_limit: a client past it gets every reply late (Postfix 2.1 and later).
  if (settings_.soft_error_limit > 0 && errors_ > settings_.soft_error_limit &&
      settings_.error_sleep_ms > 0) {
    emit(Delay{settings_.error_sleep_ms}, out);
  }
  std::string line;
  line.reserve(text.size() + 2);
  line.append(text).append("\r\n");
  emit(SendReply{std::move(line)}, out);
  if (!is_error_reply(text)) return;
  ++errors_;
  // smtpd_hard_error_limit: every 4xx/5xx reply counts (Postfix error_count).
  if (settings_.hard_error_limit > 0 && errors_ >= settings_.hard_error_limit) {
    log(fmt::format("too many errors after {} from {}", last_command_, client_text()), out);
    emit(SendReply{fmt::format("421 4.7.0 {} Error: too many errors\r\n", settings_.hostname)},
         out);
    close(out);
  }
}

void ServerSession::close(std::vector<Action>& out) {
  if (closed_) return;
  if (message_open_) {
    emit(AbortMessage{}, out);
    message_open_ = false;
  }
  emit(Close{}, out);
  wait_ = Wait::None;
}

void ServerSession::attempted(Verb verb) { ++stats_[static_cast<size_t>(verb)].total; }
void ServerSession::succeeded(Verb verb) { ++stats_[static_cast<size_t>(verb)].ok; }

std::string ServerSession::command_stats() const {
  constexpr Verb kOrder[] = {Verb::Helo, Verb::Ehlo, Verb::StartTls, Verb::Auth, Verb::Mail,
                             Verb::Rcpt, Verb::Data, Verb::Bdat,     Verb::Rset, Verb::Noop,
                             Verb::Vrfy, Verb::Expn, Verb::Etrn,     Verb::Help, Verb::Quit};
  std::string out;
  int ok = 0;
  int total = 0;
  auto add = [&](std::string_view name, Counter c) {
    if (c.total == 0) return;
    ok += c.ok;
    total += c.total;
    if (!out.empty()) out += ' ';
    out += c.ok == c.total ? fmt::format("{}={}", name, c.ok)
                           : fmt::format("{}={}/{}", name, c.ok, c.total);
  };
  for (Verb v : kOrder) add(stats_name(v), stats_[static_cast<size_t>(v)]);
  Counter unknown = stats_[static_cast<size_t>(Verb::Unknown)];
  unknown.ok += stats_[static_cast<size_t>(Verb::NonSmtp)].ok;
  unknown.total += stats_[static_cast<size_t>(Verb::NonSmtp)].total;
  add("unknown", unknown);
  if (!out.empty()) out += ' ';
  out += ok == total ? fmt::format("commands={}", ok) : fmt::format("commands={}/{}", ok, total);
  // Postfix 3.9 smtpd_forbid_bare_newline = note: aggregated warnings after the counts.
  if (settings_.bare_newline == BareNewlineMode::Note && saw_bare_lf_) out += " notes=bare_lf";
  return out;
}

// ---- Entry points ----------------------------------------------------------------------

std::vector<Action> ServerSession::start() {
  std::vector<Action> out;
  ask(PolicyStage::Connect, out);  // the banner once the client is accepted
  return out;
}

std::vector<Action> ServerSession::feed(std::string_view bytes) {
  std::vector<Action> out;
  if (closed_) return out;
  if (wait_ == Wait::Tls) {
    // CVE-2011-0411: plaintext after STARTTLS must never be read as commands after TLS.
    if (!bytes.empty() && !tls_discard_logged_) {
      tls_discard_logged_ = true;
      log(fmt::format("improper command pipelining after STARTTLS from {}", client_text()), out);
    }
    return out;
  }
  inbuf_.append(bytes);
  if (wait_ == Wait::None) run(out);
  return out;
}

void ServerSession::run(std::vector<Action>& out) {
  size_t pos = 0;
  while (!closed_ && wait_ == Wait::None && pos < inbuf_.size()) {
    std::string_view in = std::string_view(inbuf_).substr(pos);
    size_t used = 0;
    switch (mode_) {
      case Mode::Command: used = step_command(in, out); break;
      case Mode::SkipLine: used = step_skip(in, out); break;
      case Mode::Data: used = step_data(in, out); break;
      case Mode::Bdat: used = step_bdat(in, out); break;
    }
    if (used == 0) break;  // an incomplete command line: wait for more
    pos += used;
  }
  if (closed_) {
    inbuf_.clear();
    return;
  }
  if (wait_ == Wait::Tls) {
    if (pos < inbuf_.size() && !tls_discard_logged_) {
      tls_discard_logged_ = true;
      log(fmt::format("improper command pipelining after STARTTLS from {}", client_text()), out);
    }
    inbuf_.clear();
    return;
  }
  inbuf_.erase(0, pos);
}

std::vector<Action> ServerSession::flush_decided(FlushAnswer answer) {
  std::vector<Action> out;
  if (closed_ || wait_ != Wait::Flush) return out;
  wait_ = Wait::None;
  const std::string& site = pending_flush_site_;
  switch (answer) {
    case FlushAnswer::Started:
      succeeded(Verb::Etrn);
      reply(fmt::format("250 Queuing for node {} started", site), out);
      break;
    case FlushAnswer::NotAllowed:
      reply(fmt::format("459 4.3.0 <{}>: service unavailable", site), out);
      break;
    case FlushAnswer::Failed:
      reply(fmt::format("458 4.3.0 Unable to queue messages for node {}", site), out);
      break;
  }
  pending_flush_site_.clear();
  run(out);
  return out;
}

std::vector<Action> ServerSession::starttls_decided(std::optional<std::string> refusal) {
  std::vector<Action> out;
  if (closed_ || wait_ != Wait::StartTlsCheck) return out;
  wait_ = Wait::None;
  if (refusal) {
    reply(*refusal, out);
  } else {
    begin_starttls(out);
  }
  // Refused: the commands pipelined after STARTTLS are read in clear. Accepted: run() drops
  // them (and logs it) as it does for bytes that come while the handshake is pending.
  run(out);
  return out;
}

std::vector<Action> ServerSession::commit_done(Result<std::string> queue_id) {
  std::vector<Action> out;
  if (closed_ || wait_ != Wait::Commit) return out;
  wait_ = Wait::None;
  if (queue_id.ok()) {
    succeeded(commit_verb_);
    reply(fmt::format("250 2.0.0 Ok: queued as {}", queue_id.value()), out);
  } else {
    reply(commit_failure_reply(queue_id.error().code), out);
  }
  reset_transaction(out);
  run(out);
  return out;
}

std::vector<Action> ServerSession::commit_refused(std::string reply) {
  std::vector<Action> out;
  if (closed_ || wait_ != Wait::Commit) return out;
  wait_ = Wait::None;
  this->reply(std::move(reply), out);
  reset_transaction(out);
  run(out);
  return out;
}

std::vector<Action> ServerSession::tls_done(bool ok) {
  std::vector<Action> out;
  if (closed_ || wait_ != Wait::Tls) return out;
  wait_ = Wait::None;
  inbuf_.clear();
  if (!ok) {
    close(out);
    return out;
  }
  // RFC 3207 §4.2: discard all knowledge obtained from the client before TLS.
  tls_active_ = true;
  tls_discard_logged_ = false;
  helo_.clear();
  esmtp_ = false;
  sasl_username_.clear();  // an authentication before TLS is knowledge to discard too
  sasl_method_.clear();
  reset_transaction(out);
  mode_ = Mode::Command;
  return out;
}

std::vector<Action> ServerSession::timed_out() {
  std::vector<Action> out;
  if (closed_) return out;
  log(fmt::format("timeout after {} from {}", last_command_, client_text()), out);
  if (message_open_) {
    emit(AbortMessage{}, out);
    message_open_ = false;
  }
  emit(SendReply{fmt::format("421 4.4.2 {} Error: timeout exceeded\r\n", settings_.hostname)},
       out);
  close(out);
  return out;
}

std::vector<Action> ServerSession::peer_closed() {
  std::vector<Action> out;
  if (closed_) return out;
  log(fmt::format("lost connection after {} from {}", last_command_, client_text()), out);
  if (message_open_) {
    emit(AbortMessage{}, out);
    message_open_ = false;
  }
  closed_ = true;
  wait_ = Wait::None;
  inbuf_.clear();
  return out;
}

// ---- Framing ---------------------------------------------------------------------------

size_t ServerSession::step_command(std::string_view in, std::vector<Action>& out) {
  const size_t limit = settings_.command_line_limit;
  const size_t lf = in.find('\n');
  if (lf == std::string_view::npos) {
    // Bounded memory: an unterminated line longer than the limit (plus a possible CR) is
    // answered now and its remainder skipped up to the next LF.
    if (in.size() > limit + 1) {
      reply(kLineTooLong, out);
      mode_ = Mode::SkipLine;
      skip_prev_cr_ = in.back() == '\r';
      return in.size();
    }
    return 0;
  }
  std::string_view line = in.substr(0, lf);
  const bool ends_in_cr = !line.empty() && line.back() == '\r';
  if (ends_in_cr) line.remove_suffix(1);
  // smtpd_forbid_bare_newline (all but `no`): a bare LF ends the line as CRLF would (unless
  // refused). The length is judged with one CR off, as for a line still unterminated, so
  // that the verdict never depends on how the bytes arrived.
  const bool bare_lf = !ends_in_cr && settings_.bare_newline != BareNewlineMode::No;
  const bool reject = bare_lf && settings_.bare_newline == BareNewlineMode::Reject;
  if (line.size() > limit) {
    reply(kLineTooLong, out);
    // Judge the line end after the reply, as when the line arrives unterminated and its end
    // is skipped (step_skip): never once the reply has closed the session.
    if (closed_) return lf + 1;
    saw_bare_lf_ = saw_bare_lf_ || bare_lf;
    if (reject) reject_bare_lf_command(out);
    return lf + 1;
  }
  saw_bare_lf_ = saw_bare_lf_ || bare_lf;
  if (reject) {
    reject_bare_lf_command(out);
    return lf + 1;
  }
  if (settings_.bare_newline != BareNewlineMode::No) {
    // Every CR just before the newline goes, as Postfix's smtp_get() strips them; a CR
    // inside the line stays and is the command parser's to refuse.
    while (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  }
  // RFC 2920: only a client that saw PIPELINING may send ahead, and never past a command
  // that ends a group (HELO, EHLO, DATA): reject_unauth_pipelining's fact.
  if (in.size() > lf + 1) {
    Verb verb = classify_verb(line);
    if (!esmtp_ || verb == Verb::Helo || verb == Verb::Ehlo || verb == Verb::Data) {
      unauth_pipelining_ = true;
    }
  }
  handle_line(line, out);
  return lf + 1;
}

size_t ServerSession::step_skip(std::string_view in, std::vector<Action>& out) {
  const size_t lf = in.find('\n');
  if (lf == std::string_view::npos) {
    skip_prev_cr_ = in.back() == '\r';
    return in.size();
  }
  const bool bare_lf = (lf == 0 ? !skip_prev_cr_ : in[lf - 1] != '\r') &&
                       settings_.bare_newline != BareNewlineMode::No;
  mode_ = Mode::Command;
  saw_bare_lf_ = saw_bare_lf_ || bare_lf;
  if (bare_lf && settings_.bare_newline == BareNewlineMode::Reject) reject_bare_lf_command(out);
  return lf + 1;
}

size_t ServerSession::step_data(std::string_view in, std::vector<Action>& out) {
  body_buf_.clear();
  DataReader::Step step = data_reader_->feed(in, body_buf_);
  append_content(body_buf_, out);
  if (step.status == DataReader::Status::Done) finish_data(out);
  return std::max<size_t>(step.consumed, 1);
}

size_t ServerSession::step_bdat(std::string_view in, std::vector<Action>& out) {
  const size_t n = static_cast<size_t>(std::min<uint64_t>(in.size(), bdat_remaining_));
  std::string_view chunk = in.substr(0, n);
  bdat_remaining_ -= n;
  if (bdat_refusal_.empty()) {
    if (settings_.bare_newline == BareNewlineMode::No) {
      append_content(chunk, out);
    } else {
      body_buf_.clear();
      bdat_content_.feed(chunk, body_buf_);
      append_content(body_buf_, out);
    }
  }
  if (bdat_remaining_ == 0) finish_bdat_chunk(out);
  return n;
}

std::string ServerSession::bare_lf_reply() const {
  return fmt::format("{} 5.5.2 {} Error: bare <LF> received", settings_.bare_newline_reject_code,
                     settings_.hostname);
}

// Postfix's log_whatsup(): "NOQUEUE: reject: <where> from host[addr]: <why>; from=<s>
// to=<r> proto=ESMTP helo=<h>", each of from/to/helo only when known.
std::string ServerSession::reject_log_line(std::string_view where, std::string_view why) const {
  std::string line = fmt::format("NOQUEUE: reject: {} from {}: {};", where, client_text(), why);
  if (in_mail_) line += fmt::format(" from=<{}>", printable(envelope_.sender));
  if (!envelope_.recipients.empty()) {
    line += fmt::format(" to=<{}>", printable(envelope_.recipients.back().address));
  }
  line += fmt::format(" proto={}", protocol());
  if (!helo_.empty()) line += fmt::format(" helo=<{}>", printable(helo_));
  return line;
}

void ServerSession::reject_bare_lf_command(std::vector<Action>& out) {
  // smtpd_forbid_bare_newline = reject, a command line: Postfix replies and ends the session
  // whatever the reply code, so nothing that follows can be read as a command.
  log(reject_log_line(last_command_, "bare <LF> received"), out);
  if (message_open_) {
    emit(AbortMessage{}, out);
    message_open_ = false;
  }
  emit(SendReply{bare_lf_reply() + "\r\n"}, out);
  close(out);
}

void ServerSession::reject_bare_lf_content(std::string_view where, std::vector<Action>& out) {
  // smtpd_forbid_bare_newline = reject, message content: refused once the data (or the BDAT
  // chunk) has been read to its real end, so framing is kept; the session goes on unless the
  // code is 521 (Postfix hangs up after any 521 reply).
  if (message_open_) {
    emit(AbortMessage{}, out);
    message_open_ = false;
  }
  log(reject_log_line(where, "bare <LF> received"), out);
  reply(bare_lf_reply(), out);
  if (settings_.bare_newline_reject_code == 521) close(out);
  reset_transaction(out);
}

// ---- Message content -------------------------------------------------------------------

void ServerSession::begin_message(std::vector<Action>& out) {
  envelope_.helo = helo_;
  envelope_.protocol = protocol();
  envelope_.client_address = client_.address;
  envelope_.client_hostname = client_.hostname;
  headers_ = HeaderScanner{};
  bdat_content_ = BdatNormalizer{settings_.bare_newline};
  body_size_ = 0;
  too_big_ = false;
  message_open_ = true;
  emit(BeginMessage{envelope_, all_actions()}, out);
}

void ServerSession::append_content(std::string_view content, std::vector<Action>& out) {
  if (content.empty() || too_big_) return;
  const uint64_t limit = settings_.message_size_limit;
  if (limit != 0 && body_size_ + content.size() > limit) {
    // Emit exactly the first `limit` octets whatever the fragmentation, then nothing.
    content = content.substr(0, static_cast<size_t>(limit - body_size_));
    too_big_ = true;
  }
  body_size_ += content.size();
  if (content.empty()) return;
  headers_.feed(content);
  emit(AppendBody{std::string(content)}, out);
}

void ServerSession::finish_data(std::vector<Action>& out) {
  mode_ = Mode::Command;
  const bool bare_lf = data_reader_->saw_bare_lf();
  data_reader_.reset();
  last_command_ = kEndOfMessage;
  saw_bare_lf_ = saw_bare_lf_ || bare_lf;
  // Postfix reports a bare LF before a size overflow.
  if (bare_lf && settings_.bare_newline == BareNewlineMode::Reject) {
    return reject_bare_lf_content(kEndOfMessage, out);
  }
  if (too_big_) {
    if (message_open_) {
      emit(AbortMessage{}, out);
      message_open_ = false;
    }
    reply("552 5.3.4 Error: message file too big", out);
    reset_transaction(out);
    return;
  }
  commit(Verb::Data, out);
}

void ServerSession::finish_bdat_chunk(std::vector<Action>& out) {
  mode_ = Mode::Command;
  if (!bdat_refusal_.empty()) {
    std::string text = std::move(bdat_refusal_);
    bdat_refusal_.clear();
    reply(text, out);
    return;
  }
  auto abort_with = [&](std::string_view text) {
    if (message_open_) {
      emit(AbortMessage{}, out);
      message_open_ = false;
    }
    reply(text, out);
    reset_transaction(out);
  };
  if (bdat_last_) {
    body_buf_.clear();
    bdat_content_.finish(body_buf_);
    append_content(body_buf_, out);
  }
  saw_bare_lf_ = saw_bare_lf_ || bdat_content_.saw_bare_lf();
  // Postfix refuses at the end of the chunk that held the bare LF, before a size overflow.
  if (bdat_content_.saw_bare_lf() && settings_.bare_newline == BareNewlineMode::Reject) {
    return reject_bare_lf_content(bdat_last_ ? kEndOfMessage : "BDAT", out);
  }
  if (too_big_) return abort_with("552 5.3.4 Error: message file too big");
  if (!bdat_last_) {
    succeeded(Verb::Bdat);
    reply(fmt::format("250 2.0.0 Ok: {} octets received", bdat_chunk_), out);
    return;
  }
  commit(Verb::Bdat, out);
}

void ServerSession::reset_transaction(std::vector<Action>& out) {
  if (message_open_) {
    emit(AbortMessage{}, out);
    message_open_ = false;
  }
  in_mail_ = false;
  envelope_ = {};
  mail_auth_.clear();
  pending_rcpt_ = {};
  pending_mail_ = {};
  transaction_actions_ = {};
  bdat_used_ = false;
  bdat_content_ = BdatNormalizer{settings_.bare_newline};
  headers_ = HeaderScanner{};
  body_size_ = 0;
  too_big_ = false;
}

}  // namespace estafeta::smtp
