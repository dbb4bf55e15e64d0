// What the smtp agent says about a recipient, in Postfix's words (pure): the relay name of a
// peer, the DSN status of a reply, the "host ... said: ..." reason, the texts of connection
// failures, and the log line of every attempt:
//   "4F2A1B: to=<bob@example.org>, relay=mx.example.org[192.0.2.1]:25, conn_use=2,
//    delay=1.2, delays=0.1/0/0.5/0.6, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as X)"
// delays: a = before this agent took the request, b = 0 (Estafeta's queue manager hands a
// request over at once; kept for pflogsumm and other parsers), c = connection set-up (DNS,
// connect, greeting, HELO, TLS), d = the transmission.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace estafeta::outbound {

struct Peer {
  std::string host;     // "mx.example.org" (the name we looked up, or the address)
  std::string address;  // "192.0.2.1", "2001:db8::1"
  uint16_t port = 25;
};

/// "mx.example.org[192.0.2.1]:25"; "none" for a peer without an address (no connection).
std::string relay_name(const Peer& peer);

/// The RFC 3463 status of a reply: its enhanced code when it has one whose class matches the
/// reply code, else "2.0.0", "4.0.0" or "5.0.0" by the first digit ("4.0.0" for anything
/// else).
std::string reply_status(int code, std::string_view enhanced);

/// "host mx.example.org[192.0.2.1] said: 550 5.1.1 <a@b>: User unknown (in reply to RCPT TO
/// command)". `reply_text`: the reply's lines joined with spaces; `context`: what the
/// parentheses say, smtp::reply_context() of the stage ("in reply to RCPT TO command").
std::string remote_said(const Peer& peer, std::string_view reply_text, std::string_view context);

/// The RFC 3464 Diagnostic-Code of a remote reply: "smtp; 550 5.1.1 <a@b>: User unknown".
std::string smtp_diagnostic(std::string_view reply_text);

/// One attempt's log line (without the "estafeta/smtp[pid]: " prefix). `orig_to` is left out
/// when empty or equal to `to`; `conn_use` when below 2 (a fresh connection).
struct AttemptLog {
  std::string queue_id;
  std::string to;
  std::string orig_to;
  std::string relay;  // relay_name() or "none"
  int conn_use = 0;
  double delay = 0;   // seconds since arrival
  double a = 0, b = 0, c = 0, d = 0;
  std::string dsn;
  std::string status;  // "sent", "deferred", "bounced"
  std::string reason;  // in the parentheses
};
std::string attempt_log_line(const AttemptLog& line);

}  // namespace estafeta::outbound
