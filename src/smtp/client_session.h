// smtp::ClientSession: the sans-I/O SMTP client state machine for one outbound connection
// (RFC 5321 with EHLO/HELO, STARTTLS, PIPELINING, SIZE, 8BITMIME, SMTPUTF8, DSN), able to
// carry several messages (connection reuse). The edge connects, feeds the peer's bytes to
// feed(), and performs the returned actions in order; an action marked PAUSE is the last of
// its batch and the session waits for the matching call (tls_done, content_sent). No
// sockets, clocks, DNS or threads here; not thread-safe; one session per connection.
//
// Conversation (every case, with the replies generated locally, is in docs/smtp-client.md):
// - Greeting: 2xx -> EHLO (HELO if !use_ehlo); anything else -> SessionFailed{Greeting}.
// - EHLO: 2xx -> capabilities; 5xx (and no STARTTLS done) -> HELO once, capabilities none;
//   else SessionFailed{Ehlo}. HELO: 2xx -> ready, else SessionFailed{Helo}.
// - STARTTLS is sent when offered, try_starttls and not tls_active; 2xx -> StartTls (PAUSE);
//   tls_done(true) -> EHLO again, capabilities from that reply only; tls_done(false) ->
//   SessionFailed{StartTls, "TLS handshake failed"}. A refusal: SessionFailed when
//   require_tls, else the session goes on in clear. Not offered (or HELO) with require_tls
//   -> SessionFailed{StartTls, "TLS is required, but was not offered by host ..."}, and no
//   mail is sent in clear. Peer bytes already buffered when TLS starts -> SessionFailed
//   (they would be plaintext injected before TLS, CVE-2011-0411 style).
// - AUTH (RFC 4954), when settings.auth is set and the last EHLO offered AUTH: the first of
//   PLAIN, LOGIN that the server offers and auth.mechanisms allows; none -> go on without
//   AUTH. A usable one that the security options forbid on this connection (plaintext in
//   clear) -> SessionFailed{Auth, "SASL authentication failed; cannot authenticate to
//   server X: no mechanism available"}. PLAIN sends its initial response with the command;
//   LOGIN answers two 334 challenges. 235 -> ready; any other reply (535, 4xx) ->
//   SessionFailed{Auth, reply}; a 334 where none is expected -> SessionFailed{Auth, no
//   reply, "unexpected SASL challenge"}. Credentials appear only in Send bytes.
// - Ready: the session is idle; the edge calls send_message() or quit().
// - send_message(): local refusals first (RecipientDone with a ServerReply whose local is
//   true): SIZE limit exceeded -> "552 5.3.4 Message size exceeds fixed limit" for all;
//   SMTPUTF8 needed and not offered -> "550 5.6.7 SMTPUTF8 is required, but was not offered
//   by host ..." for all; sender with control characters -> "501 5.1.7 Bad sender address
//   syntax" for all; a recipient with control characters -> "501 5.1.3 Bad recipient address
//   syntax" for it. Then [RSET] MAIL FROM, RCPT TO..., DATA: with PIPELINING all in one Send,
//   else one per reply. MAIL not 2xx -> RecipientDone{Mail} for all; RCPT not 2xx ->
//   RecipientDone{Rcpt} for it; no RCPT accepted -> no DATA (pipelined DATA: its error reply
//   is absorbed; a 354 is answered with an empty ".\r\n" whose reply is ignored). DATA 354 ->
//   SendContent (PAUSE): the edge writes the content through ContentEncoder (finish()
//   included) then calls content_sent(). DATA not 354 -> RecipientDone{Data} for each
//   accepted. The end-of-data reply -> RecipientDone{EndOfData} for each accepted.
//   MessageDone ends every transaction; Ready follows. A transaction that did not reach the
//   end-of-data reply leaves the server in an unknown state: RSET precedes the next MAIL.
// - 421 from any command -> SessionFailed (no QUIT). Any other SessionFailed sends QUIT
//   when the connection is usable. Close always follows SessionFailed; nothing follows Close.
// - Recipients of the current message that have no RecipientDone when SessionFailed comes
//   are the edge's to retry (next MX) or defer; RecipientDone is never sent for them after.
// - quit(): "QUIT\r\n" then Close, without waiting for the 221 (Postfix's default
//   smtp_skip_quit_response = yes). peer_closed()/timed_out(): SessionFailed{stage, "lost
//   connection" / "conversation timed out"} + Close while something is outstanding; just
//   Close when idle.
// Bytes the peer sends while the session is idle (or paused) wait in the buffer and are
// read as the replies to the next commands, as a client that reads only what it awaits
// does; so the outcome never depends on how the peer's bytes were split. A server that
// closes an idle connection (421, EOF) is seen by the edge as peer_closed() -> Close, or
// its 421 becomes the reply to the next MAIL (SessionFailed{Mail}, recipients to retry).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "smtp/client_reply.h"

namespace estafeta::smtp {

/// SMTP AUTH (RFC 4954) with PLAIN (RFC 4616) or LOGIN: credentials and what may be used.
struct ClientAuth {
  std::string username;
  std::string password;
  /// smtp_sasl_mechanism_filter: upper-case names allowed; empty: all we know (PLAIN, LOGIN).
  std::vector<std::string> mechanisms;
  bool plaintext_in_clear = false;  // smtp_sasl_security_options lacks noplaintext & co.
  bool plaintext_with_tls = true;   // smtp_sasl_tls_security_options lacks noplaintext & co.
};

struct ClientSettings {
  std::string helo_name = "localhost";  // smtp_helo_name ($myhostname)
  std::string peer;                     // "mx.example.org[192.0.2.1]" for locally generated texts
  bool use_ehlo = true;                 // !smtp_never_send_ehlo
  bool try_starttls = true;             // TLS security level may and up: STARTTLS when offered
  bool require_tls = false;             // encrypt and up: no TLS -> fail, never send mail in clear
  bool tls_active = false;              // implicit TLS (smtps): the connection is already TLS
  bool pipelining = true;               // use PIPELINING when offered (smtp_use_pipelining... )
  ReplyLimits reply_limits;             // line_length_limit; lines per reply
  std::optional<ClientAuth> auth;       // SMTP AUTH credentials (smtp_sasl_password_maps)
};

struct OutgoingRecipient {
  std::string address;  // as queued: "user@example.org" (local part quoted if needed)
  std::string notify;   // DSN NOTIFY ("SUCCESS,FAILURE", "NEVER") or ""
  std::string orcpt;    // DSN ORCPT "rfc822;user@example.org" (xtext), or ""
};

struct OutgoingMessage {
  std::string sender;  // "" for the null sender
  std::vector<OutgoingRecipient> recipients;
  uint64_t size = 0;       // content octets, for SIZE= (RFC 1870)
  bool eight_bit = false;  // BODY=8BITMIME when offered
  bool smtputf8 = false;   // needs SMTPUTF8: refused locally when not offered
  std::string envid;       // DSN ENVID (decoded; xtext-encoded on the wire) or ""
  std::string ret;         // DSN RET: "FULL", "HDRS" or ""
};

/// Where the conversation is: names the command whose reply is awaited.
enum class ClientStage {
  Greeting,  // waiting for the 220
  Ehlo,
  Helo,
  StartTls,  // STARTTLS reply, the handshake, or "TLS required" failures
  Auth,      // AUTH and its challenges
  Idle,      // no command outstanding
  Rset,
  Mail,
  Rcpt,
  Data,
  Body,       // the edge streams the content (SendContent .. content_sent)
  EndOfData,  // the final reply to "."
  Quit,
  Closed,
};

/// Postfix wording after "host X said: ...": "in reply to RCPT TO command" etc.; "while
/// receiving the initial server greeting" for the greeting.
std::string_view reply_context(ClientStage stage);

/// Postfix wording after "lost connection with X" / "conversation with X timed out":
/// "while sending MAIL FROM", "while sending end of data -- message may be sent more than
/// once", ... (returns the text after "while ").
std::string_view activity(ClientStage stage);

namespace client {
struct Send {
  std::string bytes;  // command line(s), each ending in CRLF
};
struct StartTls {};     // PAUSE: handshake, then tls_done(ok)
struct SendContent {};  // PAUSE: stream the content through ContentEncoder, then content_sent()
struct RecipientDone {
  size_t index;       // into OutgoingMessage::recipients
  ServerReply reply;  // 2xx: delivered; 4xx: deferred; 5xx: bounced (local: made here)
  ClientStage stage;  // Mail, Rcpt, Data or EndOfData (the reply's command)
};
struct MessageDone {};  // the transaction ended: every recipient had its RecipientDone
struct Ready {};        // idle: send_message() or quit() may be called
struct SessionFailed {
  ClientStage stage;                 // the command (or phase) that failed
  std::optional<ServerReply> reply;  // the peer's reply, or nullopt (see reason)
  std::string reason;                // without a reply: "lost connection", "malformed reply: ..."
};
struct Close {};  // close after writing what came before
}  // namespace client

using ClientAction =
    std::variant<client::Send, client::StartTls, client::SendContent, client::RecipientDone,
                 client::MessageDone, client::Ready, client::SessionFailed, client::Close>;

class ClientSession {
 public:
  explicit ClientSession(ClientSettings settings);

  /// After connect (after the TLS handshake for implicit TLS): nothing to send, the greeting
  /// is awaited. Returns no actions; present for symmetry with ServerSession::start().
  std::vector<ClientAction> start();
  /// Bytes as read from the peer. While paused or idle they are only buffered.
  std::vector<ClientAction> feed(std::string_view bytes);
  /// After StartTls: the handshake's outcome.
  std::vector<ClientAction> tls_done(bool ok);
  /// Precondition: idle(). Starts one transaction (local refusals may end it at once).
  std::vector<ClientAction> send_message(OutgoingMessage message);
  /// After SendContent: the whole content and ".\r\n" were written.
  std::vector<ClientAction> content_sent();
  /// QUIT and Close; from any state (when not idle the outstanding transaction is abandoned
  /// without more actions).
  std::vector<ClientAction> quit();
  std::vector<ClientAction> peer_closed();
  std::vector<ClientAction> timed_out();

  ClientStage stage() const;
  /// The extensions in effect (from the last EHLO; none after HELO or before EHLO).
  const EhloCapabilities& capabilities() const { return caps_; }
  /// Ready for send_message().
  bool idle() const;
  bool closed() const { return closed_; }
  bool tls_active() const { return tls_active_; }
  /// "ESMTP" / "SMTP" (HELO) as Postfix logs in the TLS and delivery lines.
  bool esmtp() const { return esmtp_; }
  /// The message being sent, if any.
  const OutgoingMessage* message() const { return in_transaction_ ? &message_ : nullptr; }

 private:
  enum class Expect {
    Greeting,
    Ehlo,
    Helo,
    StartTls,
    Auth,  // index: 0 the AUTH command, 1 LOGIN's username, 2 LOGIN's password
    Rset,
    Mail,
    Rcpt,
    Data,
    EndOfData,
    DiscardEnd
  };
  struct Pending {
    Expect what;
    size_t index = 0;  // Rcpt: recipient index
  };
  using Out = std::vector<ClientAction>;

  void run(Out& out);
  void on_reply(const ServerReply& reply, Out& out);
  void on_greeting(const ServerReply& reply, Out& out);
  void on_ehlo(const ServerReply& reply, Out& out);
  void on_helo(const ServerReply& reply, Out& out);
  void on_starttls(const ServerReply& reply, Out& out);
  void on_mail(const ServerReply& reply, Out& out);
  void on_rcpt(size_t index, const ServerReply& reply, Out& out);
  void on_data(const ServerReply& reply, Out& out);
  void on_end_of_data(const ServerReply& reply, Out& out);
  void on_auth(size_t step, const ServerReply& reply, Out& out);
  void handshake_done(Out& out);
  bool start_auth(Out& out);  // false: no AUTH (ready now, or failed)
  void send_helo(bool ehlo, Out& out);
  void send_next_command(Out& out);  // without PIPELINING: the next of MAIL/RCPT/DATA
  void after_rcpts(Out& out);        // without PIPELINING: DATA or end
  void report_all(const ServerReply& reply, ClientStage stage, Out& out);
  void report(size_t index, const ServerReply& reply, ClientStage stage, Out& out);
  void end_transaction(bool clean, Out& out);
  void fail(ClientStage stage, std::optional<ServerReply> reply, std::string reason, bool send_quit,
            Out& out);
  std::vector<ClientAction> connection_ended(std::string reason);  // EOF or timeout
  void send(std::string bytes, Out& out);
  void expect(Expect what, size_t index = 0) { expect_.push_back(Pending{what, index}); }
  ClientStage stage_of(Expect e) const;
  std::string mail_command() const;
  std::string rcpt_command(size_t index) const;

  ClientSettings settings_;
  ReplyReader reader_;
  std::deque<Pending> expect_;  // replies awaited, in command order (pipelining)
  EhloCapabilities caps_;
  bool closed_ = false;
  bool tls_active_ = false;
  bool esmtp_ = false;
  bool tried_helo_ = false;  // EHLO refused, HELO sent
  bool did_starttls_ = false;
  bool ready_ = false;          // handshake complete
  bool wait_tls_ = false;       // PAUSE after StartTls
  bool wait_content_ = false;   // PAUSE after SendContent
  bool needs_rset_ = false;     // last transaction ended without its end-of-data reply
  bool auth_done_ = false;      // AUTH tried (or skipped): handshake_done goes to Ready
  std::string auth_mechanism_;  // "PLAIN" or "LOGIN" while authenticating

  // The transaction.
  bool in_transaction_ = false;
  OutgoingMessage message_;
  std::vector<bool> reported_;    // per recipient: RecipientDone sent
  std::vector<size_t> to_send_;   // recipients that get an RCPT (not refused locally)
  size_t next_rcpt_ = 0;          // without PIPELINING: position in to_send_
  std::vector<size_t> accepted_;  // RCPT 2xx
  bool mail_failed_ = false;
};

}  // namespace estafeta::smtp
