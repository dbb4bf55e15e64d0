// ClientSession: see client_session.h for the conversation it implements.
#include "smtp/client_session.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "address/mailbox.h"
#include "base/ascii.h"
#include "base/assert.h"
#include "smtp/esmtp_params.h"

namespace estafeta::smtp {
namespace {

bool has_control(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 32 || c == 127) return true;
  }
  return false;
}

// RFC 5321 §4.1.2 path for an address as queued: "<>" for the null sender; the local part
// quoted when it is not already a valid dot-string or quoted-string.
std::string wire_path(std::string_view address) {
  if (address.empty()) return "<>";
  Result<address::Mailbox> parsed = address::parse_mailbox(address, {.smtputf8 = true});
  if (parsed.ok()) return "<" + parsed->text() + ">";
  size_t at = address.rfind('@');
  if (at == std::string_view::npos) return "<" + address::quote_local_part(address) + ">";
  return "<" + address::quote_local_part(address.substr(0, at)) + "@" +
         std::string(address.substr(at + 1)) + ">";
}

// RFC 3461 §4: xtext, "+HH" for '+', '=', and octets outside 33..126.
std::string xtext(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c < 33 || c > 126 || c == '+' || c == '=') {
      out += '+';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += ch;
    }
  }
  return out;
}

// ORCPT as queued is "addr-type;xtext" already; anything else is made so.
std::string wire_orcpt(std::string_view orcpt) {
  size_t semi = orcpt.find(';');
  if (semi != std::string_view::npos && semi > 0) {
    std::string_view type = orcpt.substr(0, semi);
    std::string_view value = orcpt.substr(semi + 1);
    bool atom = true;
    for (char c : type) {
      atom = atom && (ascii::is_alpha(c) || ascii::is_digit(c) || c == '-');
    }
    bool clean = !value.empty() && decode_xtext(value).has_value();
    for (char c : value) clean = clean && c >= 33 && c <= 126 && c != '=';
    if (atom && clean) return std::string(orcpt);
    if (atom) return std::string(type) + ";" + xtext(value);
  }
  return "rfc822;" + xtext(orcpt);
}

// RFC 4648 §4 base64 (with padding), for SASL responses.
std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < in.size()) {
    uint32_t v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

bool valid_notify(std::string_view notify) {
  if (notify.empty()) return false;
  for (char c : notify) {
    if (!ascii::is_alpha(c) && c != ',') return false;
  }
  return true;
}

}  // namespace

std::string_view reply_context(ClientStage stage) {
  switch (stage) {
    case ClientStage::Greeting:
      return "while receiving the initial server greeting";
    case ClientStage::Ehlo:
      return "in reply to EHLO command";
    case ClientStage::Helo:
      return "in reply to HELO command";
    case ClientStage::StartTls:
      return "in reply to STARTTLS command";
    case ClientStage::Auth:
      return "in reply to AUTH command";
    case ClientStage::Rset:
      return "in reply to RSET command";
    case ClientStage::Mail:
      return "in reply to MAIL FROM command";
    case ClientStage::Rcpt:
      return "in reply to RCPT TO command";
    case ClientStage::Data:
      return "in reply to DATA command";
    case ClientStage::Body:
    case ClientStage::EndOfData:
      return "in reply to end of DATA command";
    case ClientStage::Quit:
      return "in reply to QUIT command";
    case ClientStage::Idle:
    case ClientStage::Closed:
      break;
  }
  return "while the connection was idle";
}

std::string_view activity(ClientStage stage) {
  switch (stage) {
    case ClientStage::Greeting:
      return "receiving the initial server greeting";
    case ClientStage::Ehlo:
      return "performing the EHLO handshake";
    case ClientStage::Helo:
      return "performing the HELO handshake";
    case ClientStage::StartTls:
      return "sending STARTTLS";
    case ClientStage::Auth:
      return "performing the SASL authentication";
    case ClientStage::Rset:
      return "sending RSET";
    case ClientStage::Mail:
      return "sending MAIL FROM";
    case ClientStage::Rcpt:
      return "sending RCPT TO";
    case ClientStage::Data:
      return "sending DATA command";
    case ClientStage::Body:
      return "sending message body";
    case ClientStage::EndOfData:
      return "sending end of data -- message may be sent more than once";
    case ClientStage::Quit:
      return "sending QUIT";
    case ClientStage::Idle:
    case ClientStage::Closed:
      break;
  }
  return "idle";
}

ClientSession::ClientSession(ClientSettings settings)
    : settings_(std::move(settings)),
      reader_(settings_.reply_limits),
      tls_active_(settings_.tls_active) {
  expect(Expect::Greeting);
}

std::vector<ClientAction> ClientSession::start() { return {}; }

std::vector<ClientAction> ClientSession::feed(std::string_view bytes) {
  Out out;
  if (closed_) return out;
  reader_.feed(bytes);
  run(out);
  return out;
}

void ClientSession::run(Out& out) {
  // Idle is a pause too: bytes after the reply that made the session idle are read as the
  // replies to the next commands (as a client that reads only what it awaits would), so
  // the outcome never depends on how the peer's bytes were split.
  while (!closed_ && !wait_tls_ && !wait_content_ && !idle()) {
    Result<std::optional<ServerReply>> next = reader_.next();
    if (!next.ok()) {
      fail(stage(), std::nullopt, "malformed reply: " + next.error().message, false, out);
      return;
    }
    if (!next.value()) return;
    on_reply(*next.value(), out);
  }
}

ClientStage ClientSession::stage_of(Expect e) const {
  switch (e) {
    case Expect::Greeting:
      return ClientStage::Greeting;
    case Expect::Ehlo:
      return ClientStage::Ehlo;
    case Expect::Helo:
      return ClientStage::Helo;
    case Expect::StartTls:
      return ClientStage::StartTls;
    case Expect::Auth:
      return ClientStage::Auth;
    case Expect::Rset:
      return ClientStage::Rset;
    case Expect::Mail:
      return ClientStage::Mail;
    case Expect::Rcpt:
      return ClientStage::Rcpt;
    case Expect::Data:
      return ClientStage::Data;
    case Expect::EndOfData:
    case Expect::DiscardEnd:
      return ClientStage::EndOfData;
  }
  return ClientStage::Idle;
}

ClientStage ClientSession::stage() const {
  if (closed_) return ClientStage::Closed;
  if (wait_tls_) return ClientStage::StartTls;
  if (wait_content_) return ClientStage::Body;
  if (!expect_.empty()) return stage_of(expect_.front().what);
  return ClientStage::Idle;
}

bool ClientSession::idle() const {
  return !closed_ && ready_ && !in_transaction_ && expect_.empty() && !wait_tls_ && !wait_content_;
}

void ClientSession::on_reply(const ServerReply& reply, Out& out) {
  if (expect_.empty()) {  // not reached: run() reads only while a reply is awaited
    fail(ClientStage::Idle, reply, "unexpected reply", reply.code != 421, out);
    return;
  }
  Pending p = expect_.front();
  expect_.pop_front();
  if (reply.code == 421) {
    // RFC 5321 §3.8: the server is closing the transmission channel.
    fail(stage_of(p.what), reply, "", false, out);
    return;
  }
  switch (p.what) {
    case Expect::Greeting:
      on_greeting(reply, out);
      break;
    case Expect::Ehlo:
      on_ehlo(reply, out);
      break;
    case Expect::Helo:
      on_helo(reply, out);
      break;
    case Expect::StartTls:
      on_starttls(reply, out);
      break;
    case Expect::Auth:
      on_auth(p.index, reply, out);
      break;
    case Expect::Rset:
      if (reply.klass() != 2) {
        fail(ClientStage::Rset, reply, "", true, out);
      } else {
        needs_rset_ = false;
        if (!settings_.pipelining || !caps_.pipelining) send_next_command(out);
      }
      break;
    case Expect::Mail:
      on_mail(reply, out);
      break;
    case Expect::Rcpt:
      on_rcpt(p.index, reply, out);
      break;
    case Expect::Data:
      on_data(reply, out);
      break;
    case Expect::EndOfData:
      on_end_of_data(reply, out);
      break;
    case Expect::DiscardEnd:
      end_transaction(false, out);
      break;
  }
}

void ClientSession::on_greeting(const ServerReply& reply, Out& out) {
  if (reply.klass() != 2) {
    fail(ClientStage::Greeting, reply, "", true, out);
    return;
  }
  send_helo(settings_.use_ehlo, out);
}

void ClientSession::send_helo(bool ehlo, Out& out) {
  send((ehlo ? "EHLO " : "HELO ") + settings_.helo_name + "\r\n", out);
  expect(ehlo ? Expect::Ehlo : Expect::Helo);
}

void ClientSession::on_ehlo(const ServerReply& reply, Out& out) {
  if (reply.klass() == 5 && !did_starttls_ && !tried_helo_) {
    // RFC 5321 §4.1.4 / §3.2: a server that does not know EHLO gets HELO.
    tried_helo_ = true;
    send_helo(false, out);
    return;
  }
  if (reply.klass() != 2) {
    fail(ClientStage::Ehlo, reply, "", true, out);
    return;
  }
  esmtp_ = true;
  caps_ = parse_ehlo(reply);
  if (!tls_active_ && caps_.starttls && (settings_.try_starttls || settings_.require_tls)) {
    send("STARTTLS\r\n", out);
    expect(Expect::StartTls);
    return;
  }
  handshake_done(out);
}

void ClientSession::on_helo(const ServerReply& reply, Out& out) {
  if (reply.klass() != 2) {
    fail(ClientStage::Helo, reply, "", true, out);
    return;
  }
  esmtp_ = false;
  caps_ = EhloCapabilities();
  handshake_done(out);
}

void ClientSession::on_starttls(const ServerReply& reply, Out& out) {
  if (reply.klass() != 2) {
    if (settings_.require_tls) {
      fail(ClientStage::StartTls, reply, "", true, out);
      return;
    }
    caps_.starttls = false;  // opportunistic TLS: go on in clear
    handshake_done(out);
    return;
  }
  if (reader_.buffered() > 0) {
    fail(ClientStage::StartTls, std::nullopt, "unexpected plaintext after STARTTLS reply", false,
         out);
    return;
  }
  did_starttls_ = true;
  wait_tls_ = true;
  out.emplace_back(client::StartTls{});
}

std::vector<ClientAction> ClientSession::tls_done(bool ok) {
  Out out;
  if (closed_ || !wait_tls_) return out;
  wait_tls_ = false;
  if (!ok) {
    fail(ClientStage::StartTls, std::nullopt, "TLS handshake failed", false, out);
    return out;
  }
  if (reader_.buffered() > 0) {
    fail(ClientStage::StartTls, std::nullopt, "unexpected plaintext after STARTTLS reply", false,
         out);
    return out;
  }
  tls_active_ = true;
  caps_ = EhloCapabilities();  // RFC 3207 §4.2: forget what was learned in clear
  send_helo(true, out);
  run(out);
  return out;
}

void ClientSession::handshake_done(Out& out) {
  if (settings_.require_tls && !tls_active_) {
    std::string why = "TLS is required, but was not offered by host";
    if (!settings_.peer.empty()) why += " " + settings_.peer;
    fail(ClientStage::StartTls, std::nullopt, why, true, out);
    return;
  }
  if (!auth_done_) {
    auth_done_ = true;
    if (start_auth(out)) return;
    if (closed_) return;
  }
  ready_ = true;
  out.emplace_back(client::Ready{});
}

bool ClientSession::start_auth(Out& out) {
  if (!settings_.auth || !esmtp_) return false;
  const ClientAuth& auth = *settings_.auth;
  auto usable = [&](std::string_view mechanism) {
    const auto& offered = caps_.auth_mechanisms;
    if (std::find(offered.begin(), offered.end(), mechanism) == offered.end()) return false;
    return auth.mechanisms.empty() || std::find(auth.mechanisms.begin(), auth.mechanisms.end(),
                                                mechanism) != auth.mechanisms.end();
  };
  std::string mechanism;
  for (std::string_view m : {"PLAIN", "LOGIN"}) {
    if (usable(m)) {
      mechanism = std::string(m);
      break;
    }
  }
  if (mechanism.empty()) return false;  // nothing we can use offered: go on without AUTH
  // PLAIN and LOGIN send the password in the clear: the security options decide.
  if (!(tls_active_ ? auth.plaintext_with_tls : auth.plaintext_in_clear)) {
    std::string why = "SASL authentication failed; cannot authenticate to server";
    if (!settings_.peer.empty()) why += " " + settings_.peer;
    fail(ClientStage::Auth, std::nullopt, why + ": no mechanism available", true, out);
    return false;
  }
  auth_mechanism_ = mechanism;
  if (mechanism == "PLAIN") {
    // RFC 4616: authzid (empty) NUL authcid NUL passwd, as the initial response.
    std::string response;
    response += '\0';
    response += auth.username;
    response += '\0';
    response += auth.password;
    send("AUTH PLAIN " + base64(response) + "\r\n", out);
  } else {
    send("AUTH LOGIN\r\n", out);
  }
  expect(Expect::Auth, 0);
  return true;
}

void ClientSession::on_auth(size_t step, const ServerReply& reply, Out& out) {
  if (reply.klass() == 2) {
    auth_mechanism_.clear();
    handshake_done(out);
    return;
  }
  if (reply.code == 334) {
    if (auth_mechanism_ == "LOGIN" && step < 2) {
      const std::string& value = step == 0 ? settings_.auth->username : settings_.auth->password;
      send(base64(value) + "\r\n", out);
      expect(Expect::Auth, step + 1);
      return;
    }
    fail(ClientStage::Auth, std::nullopt, "unexpected SASL challenge", false, out);
    return;
  }
  fail(ClientStage::Auth, reply, "", true, out);
}

std::string ClientSession::mail_command() const {
  std::string cmd = "MAIL FROM:" + wire_path(message_.sender);
  if (caps_.size) cmd += " SIZE=" + std::to_string(message_.size);
  if (message_.eight_bit && caps_.eight_bit_mime) cmd += " BODY=8BITMIME";
  if (message_.smtputf8 && caps_.smtputf8) cmd += " SMTPUTF8";
  if (caps_.dsn) {
    if (ascii::iequals(message_.ret, "FULL") || ascii::iequals(message_.ret, "HDRS")) {
      cmd += " RET=" + ascii::upper(message_.ret);
    }
    if (!message_.envid.empty()) cmd += " ENVID=" + xtext(message_.envid);
  }
  return cmd + "\r\n";
}

std::string ClientSession::rcpt_command(size_t index) const {
  const OutgoingRecipient& r = message_.recipients[index];
  std::string cmd = "RCPT TO:" + wire_path(r.address);
  if (caps_.dsn) {
    if (valid_notify(r.notify)) cmd += " NOTIFY=" + ascii::upper(r.notify);
    if (!r.orcpt.empty()) cmd += " ORCPT=" + wire_orcpt(r.orcpt);
  }
  return cmd + "\r\n";
}

std::vector<ClientAction> ClientSession::send_message(OutgoingMessage message) {
  Out out;
  ESTAFETA_CHECK(idle());
  in_transaction_ = true;
  message_ = std::move(message);
  reported_.assign(message_.recipients.size(), false);
  to_send_.clear();
  accepted_.clear();
  next_rcpt_ = 0;
  mail_failed_ = false;

  // Refusals made here, before a byte is sent (Postfix does the same for SIZE and SMTPUTF8).
  std::optional<ServerReply> refuse_all;
  if (caps_.size && caps_.size_limit > 0 && message_.size > caps_.size_limit) {
    refuse_all = local_reply("552 5.3.4 Message size exceeds fixed limit");
  } else if (message_.smtputf8 && !caps_.smtputf8) {
    std::string text = "550 5.6.7 SMTPUTF8 is required, but was not offered by host";
    if (!settings_.peer.empty()) text += " " + settings_.peer;
    refuse_all = local_reply(text);
  } else if (has_control(message_.sender)) {
    refuse_all = local_reply("501 5.1.7 Bad sender address syntax");
  }
  if (refuse_all) {
    report_all(*refuse_all, ClientStage::Mail, out);
    end_transaction(true, out);
    return out;
  }
  for (size_t i = 0; i < message_.recipients.size(); ++i) {
    if (has_control(message_.recipients[i].address) || message_.recipients[i].address.empty()) {
      report(i, local_reply("501 5.1.3 Bad recipient address syntax"), ClientStage::Rcpt, out);
    } else {
      to_send_.push_back(i);
    }
  }
  if (to_send_.empty()) {
    end_transaction(true, out);
    return out;
  }
  if (settings_.pipelining && caps_.pipelining) {
    // RFC 2920 §3.1: RSET, MAIL and RCPT may be grouped; DATA ends the group.
    std::string batch;
    if (needs_rset_) {
      batch += "RSET\r\n";
      expect(Expect::Rset);
    }
    batch += mail_command();
    expect(Expect::Mail);
    for (size_t i : to_send_) {
      batch += rcpt_command(i);
      expect(Expect::Rcpt, i);
    }
    batch += "DATA\r\n";
    expect(Expect::Data);
    send(std::move(batch), out);
  } else if (needs_rset_) {
    send("RSET\r\n", out);
    expect(Expect::Rset);
  } else {
    send_next_command(out);
  }
  run(out);  // replies the peer sent early
  return out;
}

void ClientSession::send_next_command(Out& out) {
  // Without PIPELINING: MAIL first, then one RCPT per reply, then DATA.
  send(mail_command(), out);
  expect(Expect::Mail);
}

void ClientSession::on_mail(const ServerReply& reply, Out& out) {
  if (reply.klass() == 2) {
    if (expect_.empty()) {  // not pipelined: the first RCPT
      send(rcpt_command(to_send_[0]), out);
      expect(Expect::Rcpt, to_send_[0]);
    }
    return;
  }
  mail_failed_ = true;
  report_all(reply, ClientStage::Mail, out);
  if (expect_.empty()) end_transaction(true, out);  // pipelined: wait for RCPTs and DATA
}

void ClientSession::on_rcpt(size_t index, const ServerReply& reply, Out& out) {
  if (mail_failed_) return;  // pipelined after a refused MAIL: already reported
  if (reply.klass() == 2) {
    accepted_.push_back(index);
  } else {
    report(index, reply, ClientStage::Rcpt, out);
  }
  if (!expect_.empty()) return;  // pipelined: DATA's reply is next
  after_rcpts(out);
}

void ClientSession::after_rcpts(Out& out) {
  ++next_rcpt_;
  if (next_rcpt_ < to_send_.size()) {
    send(rcpt_command(to_send_[next_rcpt_]), out);
    expect(Expect::Rcpt, to_send_[next_rcpt_]);
    return;
  }
  if (accepted_.empty()) {
    end_transaction(false, out);  // MAIL accepted, nothing to send: RSET before reuse
    return;
  }
  send("DATA\r\n", out);
  expect(Expect::Data);
}

void ClientSession::on_data(const ServerReply& reply, Out& out) {
  if (reply.klass() == 3) {
    if (mail_failed_ || accepted_.empty()) {
      // RFC 2920 §3.1: a server that answers DATA with 354 although no recipient was
      // accepted gets an empty message, whose reply does not matter.
      send(".\r\n", out);
      expect(Expect::DiscardEnd);
      return;
    }
    wait_content_ = true;
    out.emplace_back(client::SendContent{});
    return;
  }
  if (!mail_failed_) {
    for (size_t i : accepted_) report(i, reply, ClientStage::Data, out);
  }
  end_transaction(false, out);
}

std::vector<ClientAction> ClientSession::content_sent() {
  Out out;
  if (closed_ || !wait_content_) return out;
  wait_content_ = false;
  expect(Expect::EndOfData);
  run(out);
  return out;
}

void ClientSession::on_end_of_data(const ServerReply& reply, Out& out) {
  for (size_t i : accepted_) report(i, reply, ClientStage::EndOfData, out);
  end_transaction(true, out);
}

void ClientSession::report(size_t index, const ServerReply& reply, ClientStage stage, Out& out) {
  if (reported_[index]) return;
  reported_[index] = true;
  out.emplace_back(client::RecipientDone{index, reply, stage});
}

void ClientSession::report_all(const ServerReply& reply, ClientStage stage, Out& out) {
  for (size_t i = 0; i < message_.recipients.size(); ++i) report(i, reply, stage, out);
}

void ClientSession::end_transaction(bool clean, Out& out) {
  // Invariant: every recipient has its RecipientDone.
  ESTAFETA_ASSERT(std::find(reported_.begin(), reported_.end(), false) == reported_.end());
  if (!clean) needs_rset_ = true;
  in_transaction_ = false;
  out.emplace_back(client::MessageDone{});
  if (ready_ && expect_.empty()) out.emplace_back(client::Ready{});
}

std::vector<ClientAction> ClientSession::quit() {
  Out out;
  if (closed_) return out;
  send("QUIT\r\n", out);
  closed_ = true;
  out.emplace_back(client::Close{});
  return out;
}

std::vector<ClientAction> ClientSession::peer_closed() {
  return connection_ended("lost connection");
}

std::vector<ClientAction> ClientSession::timed_out() {
  return connection_ended("conversation timed out");
}

std::vector<ClientAction> ClientSession::connection_ended(std::string reason) {
  Out out;
  if (closed_) return out;
  if (idle()) {
    closed_ = true;
    out.emplace_back(client::Close{});
    return out;
  }
  fail(stage(), std::nullopt, std::move(reason), false, out);
  return out;
}

void ClientSession::fail(ClientStage stage, std::optional<ServerReply> reply, std::string reason,
                         bool send_quit, Out& out) {
  out.emplace_back(client::SessionFailed{stage, std::move(reply), std::move(reason)});
  if (send_quit) send("QUIT\r\n", out);
  out.emplace_back(client::Close{});
  closed_ = true;
  wait_tls_ = false;
  wait_content_ = false;
  expect_.clear();
  in_transaction_ = false;
}

void ClientSession::send(std::string bytes, Out& out) {
  out.emplace_back(client::Send{std::move(bytes)});
}

}  // namespace estafeta::smtp
