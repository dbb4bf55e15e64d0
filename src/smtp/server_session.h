// smtp::ServerSession: the sans-I/O ESMTP server state machine (RFC 5321 with PIPELINING,
// SIZE, 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES, DSN, CHUNKING, STARTTLS, ETRN). The edge reads
// the socket, calls feed(), and performs the returned Actions in order; Actions marked PAUSE
// stop processing until the matching resume call (policy_decided, commit_done, tls_done,
// flush_decided, sasl_answered), which continues with the input still buffered. Policy pauses
// (smtp/policy_facts.h) come at the stages SessionSettings::policy_stages asks for: connect
// (before the banner), HELO, MAIL, RCPT, DATA, end of data, ETRN and VRFY; the session
// applies the verdict (the reply, Postfix's log line) and hands the decision's transaction
// actions to the edge with BeginMessage and CommitMessage. No sockets, files, clocks or threads here.
// Memory: at most one command line plus the bytes of one feed() are held; message content
// leaves in AppendBody actions. Not thread-safe; one session per connection.
// Every reply and its reason are listed in docs/smtp.md.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/result.h"
#include "message/envelope.h"
#include "sasl/smtp_auth.h"
#include "smtp/command.h"
#include "smtp/data_reader.h"
#include "smtp/header_scanner.h"
#include "smtp/policy_facts.h"

namespace estafeta::smtp {

struct SessionSettings {
  std::string hostname = "localhost";   // myhostname: EHLO greeting, 221/421 texts
  std::string banner = "localhost ESMTP Estafeta";  // expanded smtpd_banner: "220 <banner>"
  uint64_t message_size_limit = 10240000;  // 0 = unlimited
  size_t recipient_limit = 1000;
  int soft_error_limit = 10;           // beyond it every reply waits error_sleep_ms (0 = never)
  int64_t error_sleep_ms = 1000;        // smtpd_error_sleep_time
  int hard_error_limit = 20;            // reaching it: "421 4.7.0 <host> Error: too many errors", Close
  bool helo_required = false;           // smtpd_helo_required
  bool vrfy_enabled = false;            // !disable_vrfy_command; either way VRFY answers 252
  bool etrn_advertised = false;         // EHLO lists ETRN (fast_flush_domains is not empty)
  bool starttls_available = false;      // a certificate is configured and TLS not yet active
  bool tls_required = false;            // smtpd_tls_security_level=encrypt: MAIL before TLS -> 530 5.7.0
  // smtpd_forbid_bare_newline, already resolved for this client: the edge passes No for a
  // client in smtpd_forbid_bare_newline_exclusions (Postfix).
  BareNewlineMode bare_newline = BareNewlineMode::Normalize;
  int bare_newline_reject_code = 550;   // smtpd_forbid_bare_newline_reject_code (521: hang up)
  bool smtputf8_enabled = true;
  size_t command_line_limit = 2048;     // longer command line -> "500 5.5.2 Error: line too long"
  bool tls_active = false;              // session already runs over TLS (port 465)
  PolicyStages policy_stages;           // where to pause for a policy decision (RCPT only)
  // SMTP AUTH (RFC 4954, docs/smtp-auth.md). The mechanisms come from the authentication
  // server at run time: the edge passes them with set_sasl_mechanisms().
  bool sasl_enabled = false;         // smtpd_sasl_auth_enable
  bool sasl_tls_only = false;        // smtpd_tls_auth_only: AUTH only over TLS
  bool sasl_broken_clients = false;  // broken_sasl_auth_clients: EHLO also says "AUTH=..."
  // The edge decides each STARTTLS before its 220 (smtpd_client_new_tls_session_rate_limit):
  // CheckStartTls, then starttls_decided(). Off: STARTTLS is answered at once.
  bool ask_before_starttls = false;
};
struct ClientInfo {
  std::string address;
  std::string hostname = "unknown";  // forward-confirmed name (Postfix's client_name)
  uint16_t port = 0;
  NameStatus hostname_status = NameStatus::NotFound;
  std::string reverse_hostname = "unknown";  // the PTR name (reverse_client_name)
  NameStatus reverse_hostname_status = NameStatus::NotFound;
};

struct SendReply { std::string text; };          // complete reply line(s), each ending "\r\n"
struct CheckPolicy { PolicyFacts facts; };     // PAUSE until policy_decided()
// The edge opens a queue file (no pause); `actions` were decided before DATA (PREPEND goes
// above the message's first header).
struct BeginMessage { message::Envelope envelope; PolicyActions actions; };
struct AppendBody { std::string data; };         // message bytes: dot-unstuffed, CRLF lines
// PAUSE until commit_done(); `actions`: every decision's of this transaction (as in
// BeginMessage, plus the end-of-data decision's).
struct CommitMessage { std::string message_id; uint64_t size; PolicyActions actions; };
struct AbortMessage {};                          // discard the open message, if any
struct StartTls {};                              // after "220 2.0.0 Ready to start TLS"; PAUSE until tls_done()
// STARTTLS with ask_before_starttls, before any reply: PAUSE until starttls_decided().
struct CheckStartTls {};
struct LogLine { std::string text; };            // Postfix-style, e.g. "NOQUEUE: reject: RCPT from host[addr]: 554 5.7.1 <a@b>: Relay access denied; from=<s> to=<a@b> proto=ESMTP helo=<h>"
struct FlushSite { std::string site; };          // ETRN (RFC 1985): PAUSE until flush_decided()
struct Close {};                                 // close after sending what precedes it
struct Delay { int64_t milliseconds; };          // send what precedes, wait, then go on (tarpit)
// One step of an SMTP AUTH exchange for the authentication server: `first` starts a new
// request with `mechanism` and the optional initial response; otherwise `response` answers
// the last challenge. Base64 as the client sent it. PAUSE until sasl_answered().
struct SaslStep {
  std::string mechanism;
  std::optional<std::string> response;
  bool first = true;
};
struct SaslAbort {};  // the client cancelled (or garbled) an exchange: forget its request
using Action = std::variant<SendReply, CheckPolicy, BeginMessage, AppendBody, CommitMessage,
                            AbortMessage, StartTls, LogLine, FlushSite, Close, Delay, SaslStep,
                            SaslAbort, CheckStartTls>;

/// The edge's answer to FlushSite: the flush was asked of the queue manager, the site is not
/// in fast_flush_domains, or the request could not be made (or the lookup failed).
enum class FlushAnswer { Started, NotAllowed, Failed };

class ServerSession {
 public:
  ServerSession(SessionSettings settings, ClientInfo client);
  std::vector<Action> start();                      // the 220 banner (after a Connect decision)
  std::vector<Action> feed(std::string_view bytes); // bytes as read from the client
  std::vector<Action> policy_decided(PolicyDecision d);  // the answer to CheckPolicy
  std::vector<Action> commit_done(Result<std::string> queue_id);  // ok: "250 2.0.0 Ok: queued as <id>"; error: commit_failure_reply(error().code), e.g. "451 4.3.0 Error: queue file write error"
  /// The message was not accepted for a reason of the cleanup stage (a 4xx/5xx `reply` such
  /// as "451 4.6.0 Alias expansion error"); answered like a failed commit.
  std::vector<Action> commit_refused(std::string reply);
  std::vector<Action> flush_decided(FlushAnswer answer);  // the ETRN reply: 250, 459 or 458
  /// The answer to CheckStartTls: nullopt lets the STARTTLS go on ("220 2.0.0 Ready to start
  /// TLS", StartTls); otherwise `refusal` is the reply (4xx/5xx, an error like any other) and
  /// the session goes on in clear, with the commands the client pipelined after STARTTLS.
  std::vector<Action> starttls_decided(std::optional<std::string> refusal);
  std::vector<Action> tls_done(bool ok);            // ok: forget HELO and transaction, tls_active; !ok: Close
  /// The authentication server's answer to the SaslStep: a challenge ("334 ..."), success
  /// ("235 2.7.0 Authentication successful"; the user is kept for the session), failure
  /// ("535 5.7.8 ...", logged as Postfix's warning, and counted as an error) or a temporary
  /// failure ("454 4.7.0 ...").
  std::vector<Action> sasl_answered(sasl::Answer answer);
  /// The mechanisms to offer now (the authentication server's, after the security options
  /// for the current TLS state); nullopt: the server cannot be reached (AUTH gets 454).
  /// The edge calls it before start() and again after a successful tls_done().
  void set_sasl_mechanisms(std::optional<std::vector<std::string>> mechanisms);
  std::vector<Action> timed_out();                  // "421 4.4.2 <host> Error: timeout exceeded", Close
  std::vector<Action> peer_closed();                // AbortMessage if a message is open
  bool waiting() const;                             // paused for a decision/commit/tls
  bool closed() const;
  bool tls_active() const;
  // Postfix disconnect format: "ehlo=1 mail=1 rcpt=1/2 data=1 quit=1 commands=5", plus
  // " notes=bare_lf" with BareNewlineMode::Note once a line ended in a bare LF.
  std::string command_stats() const;

  /// The helo name given by the client ("" before HELO/EHLO).
  const std::string& helo() const { return helo_; }
  /// "SMTP", "ESMTP", "ESMTPS", "ESMTPA" or "ESMTPSA" (RFC 3848), for the Received header
  /// and log lines.
  std::string protocol() const;
  /// SMTP AUTH: the authenticated name and mechanism ("" before a successful AUTH), for the
  /// log ("sasl_method=PLAIN, sasl_username=alice"), the Received header and relay decisions.
  const std::string& sasl_username() const { return sasl_username_; }
  const std::string& sasl_method() const { return sasl_method_; }
  /// The AUTH= parameter of the current MAIL (RFC 4954 §5), xtext-decoded: "" when none was
  /// given, "<>" when the client gave <> or is not authenticated (the RFC's rule).
  const std::string& mail_auth() const { return mail_auth_; }

 private:
  enum class Mode { Command, SkipLine, Data, Bdat };
  enum class Wait { None, Policy, Commit, StartTlsCheck, Tls, Flush, Sasl };
  struct Counter {
    int ok = 0;
    int total = 0;
  };

  void run(std::vector<Action>& out);
  size_t step_command(std::string_view in, std::vector<Action>& out);
  size_t step_skip(std::string_view in, std::vector<Action>& out);
  size_t step_data(std::string_view in, std::vector<Action>& out);
  size_t step_bdat(std::string_view in, std::vector<Action>& out);
  void handle_line(std::string_view line, std::vector<Action>& out);
  void cmd_helo(const Command& cmd, std::vector<Action>& out);
  void cmd_mail(const Command& cmd, std::vector<Action>& out);
  void cmd_rcpt(const Command& cmd, std::vector<Action>& out);
  void cmd_data(std::vector<Action>& out);
  void cmd_bdat(const Command& cmd, std::vector<Action>& out);
  void cmd_starttls(std::vector<Action>& out);
  void begin_starttls(std::vector<Action>& out);
  void cmd_vrfy(const Command& cmd, std::vector<Action>& out);
  void cmd_etrn(const Command& cmd, std::vector<Action>& out);
  // Policy pauses (session_policy.cc): ask() pauses when the stage is asked for, else the
  // stage is accepted at once; the resume functions carry out the command once accepted.
  void ask(PolicyStage stage, std::vector<Action>& out);
  PolicyFacts facts_for(PolicyStage stage) const;
  void accept_stage(PolicyStage stage, std::vector<Action>& out);
  void refuse_stage(PolicyStage stage, const PolicyDecision& d, std::vector<Action>& out);
  void log_notes(PolicyStage stage, const std::vector<PolicyNote>& notes,
                 std::vector<Action>& out);
  void resume_helo(std::vector<Action>& out);
  void resume_mail(std::vector<Action>& out);
  void resume_rcpt(std::vector<Action>& out);
  void resume_data(std::vector<Action>& out);
  void resume_etrn(std::vector<Action>& out);
  void resume_vrfy(std::vector<Action>& out);
  void commit(Verb verb, std::vector<Action>& out);
  PolicyActions all_actions() const;
  // SMTP AUTH (session_auth.cc).
  void cmd_auth(const Command& cmd, std::vector<Action>& out);
  bool sasl_take_line(std::string_view line, std::vector<Action>& out);
  std::vector<std::string> sasl_ehlo_mechanisms() const;
  bool sasl_allowed_now() const;
  void take_mail_auth(const std::optional<std::string>& value);
  void finish_data(std::vector<Action>& out);
  void finish_bdat_chunk(std::vector<Action>& out);
  void append_content(std::string_view content, std::vector<Action>& out);
  void begin_message(std::vector<Action>& out);
  void reset_transaction(std::vector<Action>& out);
  void reject_bare_lf_command(std::vector<Action>& out);
  void reject_bare_lf_content(std::string_view where, std::vector<Action>& out);
  std::string reject_log_line(std::string_view where, std::string_view why) const;
  std::string policy_log_line(std::string_view action, std::string_view where,
                              std::string_view why) const;
  std::string bare_lf_reply() const;
  void reply(std::string_view text, std::vector<Action>& out);
  void log(std::string text, std::vector<Action>& out);
  void close(std::vector<Action>& out);
  void emit(Action action, std::vector<Action>& out);
  void attempted(Verb verb);
  void succeeded(Verb verb);
  std::string client_text() const;  // "host[addr]"

  SessionSettings settings_;
  ClientInfo client_;
  std::string inbuf_;  // unprocessed client bytes
  Mode mode_ = Mode::Command;
  Wait wait_ = Wait::None;
  bool closed_ = false;
  bool tls_active_ = false;
  bool tls_discard_logged_ = false;
  bool skip_prev_cr_ = false;  // SkipLine: last skipped byte was CR
  bool saw_bare_lf_ = false;   // some line ended in a bare LF (BareNewlineMode::Note)
  int errors_ = 0;
  std::string helo_;
  bool esmtp_ = false;
  std::string last_command_ = "CONNECT";  // for "lost connection after X" log lines
  std::array<Counter, 17> stats_{};

  // The mail transaction (RFC 5321 §3.3).
  bool in_mail_ = false;
  message::Envelope envelope_;
  message::Recipient pending_rcpt_;
  // What waits for a policy decision: the stage and the command's parsed parts.
  PolicyStage pending_stage_ = PolicyStage::Connect;
  Command pending_helo_;              // Helo: the command
  message::Envelope pending_mail_;    // Mail: the new transaction's envelope
  uint64_t pending_mail_size_ = 0;    // Mail: SIZE=
  bool pending_bdat_ = false;         // Data: asked at the first BDAT (else DATA)
  std::string pending_vrfy_;          // Vrfy: the address
  uint64_t transactions_ = 0;         // MAIL commands accepted so far
  bool unauth_pipelining_ = false;  // sent ahead where RFC 2920 forbids it (sticky)
  std::string access_denied_;         // a refused Connect: every command but QUIT gets 503
  PolicyActions session_actions_;     // decided at connect or HELO: every transaction's
  PolicyActions transaction_actions_; // decided at MAIL, RCPT and DATA, for this transaction
  std::string pending_flush_site_;  // ETRN waiting for flush_decided()
  bool message_open_ = false;  // BeginMessage sent, no Commit/Abort yet
  bool bdat_used_ = false;
  Verb commit_verb_ = Verb::Data;

  // SMTP AUTH.
  std::optional<std::vector<std::string>> sasl_mechanisms_;  // nullopt: server unreachable
  std::string sasl_pending_mechanism_;  // an exchange in progress
  bool sasl_awaiting_response_ = false;  // a 334 was sent: the next line is the response
  std::string sasl_username_;
  std::string sasl_method_;
  std::string mail_auth_;

  // Message content.
  std::optional<DataReader> data_reader_;
  HeaderScanner headers_;
  BdatNormalizer bdat_content_;
  uint64_t body_size_ = 0;
  bool too_big_ = false;
  std::string body_buf_;
  uint64_t bdat_remaining_ = 0;
  uint64_t bdat_chunk_ = 0;
  bool bdat_last_ = false;
  std::string bdat_refusal_;  // non-empty: chunk is read and discarded, then this reply
};

}  // namespace estafeta::smtp
