// The server half of SMTP AUTH (RFC 4954) as Postfix's smtpd runs it with Dovecot: the
// mechanism work is the authentication server's, so smtpd checks the AUTH command, relays
// base64 messages both ways and turns the server's answer into Postfix's replies:
//   AUTH PLAIN dGVzdAB0ZXN0AHBhc3M=        -> (the server)  -> 235 2.7.0 Authentication successful
//   AUTH LOGIN  -> 334 VXNlcm5hbWU6  -> <base64 user> -> 334 UGFzc3dvcmQ6 -> <base64 password>
//   a response "*"                         -> 501 5.7.0 Authentication aborted
//   a response that is not base64          -> 501 5.5.2 Cannot decode response
//   the server refuses                     -> 535 5.7.8 Error: authentication failed: <reason>
//   the server cannot decide               -> 454 4.7.0 Temporary authentication failure: <reason>
// Also the choice of mechanisms to offer (smtpd_sasl_security_options). Pure; the session
// (smtp/session_auth.cc) keeps the state, the edge talks to Dovecot.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "sasl/dovecot_protocol.h"

namespace estafeta::sasl {

/// The authentication server's answer to one step of an exchange.
struct Answer {
  enum class Kind { Continue, Success, Failure, TemporaryFailure };
  Kind kind = Kind::Failure;
  std::string challenge;  // Continue: base64 (may be "")
  std::string user;       // Success: the authenticated name; Failure: the name tried, if known
  std::string reason;     // Failure, TemporaryFailure: why ("" when the server said nothing)
  /// TemporaryFailure decided before the exchange by the edge (smtpd_client_auth_rate_limit):
  /// the full reply to send instead, e.g. "450 4.7.1 Error: too many AUTH commands from
  /// 192.0.2.1"; the edge has logged why.
  std::string refusal;
};

/// A checked "AUTH mechanism [initial-response]".
struct AuthCommand {
  std::string mechanism;  // as offered (the offered list's spelling)
  std::optional<std::string> initial_response;  // base64; "=" on the wire is "" here
};

/// Checks the argument of AUTH (everything after the verb) against the mechanisms offered.
/// The Error message is the reply line: "501 5.5.4 Syntax: AUTH mechanism",
/// "504 5.5.4 Unsupported authentication mechanism", "501 5.5.2 Cannot decode response".
Result<AuthCommand> parse_auth_command(std::string_view argument,
                                       const std::vector<std::string>& offered);

/// A line the client sends after a 334 challenge.
struct ClientResponse {
  enum class Kind { Data, Cancel, Malformed };
  Kind kind = Kind::Malformed;
  std::string data;  // Data: the base64 text as sent
};
ClientResponse parse_client_response(std::string_view line);

/// "334 <challenge>" (with the space when the challenge is empty, as Postfix sends it).
std::string challenge_reply(std::string_view challenge);

/// The final reply for a Success, Failure or TemporaryFailure answer (without CRLF). A
/// failure without a reason says "authentication failure".
std::string final_reply(const Answer& answer);

/// Postfix's warning for a failed attempt, without the "warning: " prefix:
/// "host[addr]: SASL PLAIN authentication failed: <reason>[, sasl_username=<user>]".
std::string failure_log(std::string_view client, std::string_view mechanism,
                        const Answer& answer);

/// smtpd_sasl_security_options / smtpd_sasl_tls_security_options: which mechanisms may be
/// offered. Words: noanonymous, noplaintext, nodictionary, noactive, mutual_auth,
/// forward_secrecy (Postfix's, for Dovecot's MECH flags).
struct SecurityOptions {
  bool noanonymous = false;
  bool noplaintext = false;
  bool nodictionary = false;
  bool noactive = false;
  bool mutual_auth = false;
  bool forward_secrecy = false;
};
/// Error names the unknown word.
Result<SecurityOptions> parse_security_options(std::string_view words);

/// The names to advertise, in the server's order: private mechanisms and those the options
/// exclude are left out.
std::vector<std::string> offered_mechanisms(const std::vector<Mechanism>& mechanisms,
                                            const SecurityOptions& options);

}  // namespace estafeta::sasl
