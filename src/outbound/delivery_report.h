// What the smtp agent says about a recipient, in Postfix's words (pure): the relay name of a
// peer, the DSN status of a reply, the "host ... said: ..." reason, the texts of connection
// failures. The log line itself is log/delivery_line.h.
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

}  // namespace estafeta::outbound
