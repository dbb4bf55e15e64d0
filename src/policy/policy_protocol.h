// Postfix's policy delegation protocol (SMTPD_POLICY_README), as a pure codec: the request
// smtpd sends to a check_policy_service server (name=value lines in Postfix's attribute
// order, ended by an empty line) and a push parser for the server's response
// ("action=..." and an empty line). No sockets: daemon/policy_client.h carries the bytes.
//
// Encoding: attribute names are the caller's (request_attributes() gives Postfix's); a name
// that is empty or holds '=', CR, LF or NUL is refused. Values come from the SMTP client
// (HELO names, addresses), so they are sanitized, never refused: CR, LF and NUL become '?'
// (as Postfix's printable() does for logs), so a value can never end its line early and
// forge another attribute or end the request.
//
// Parsing (ResponseParser): lines end in LF; each is "name=value" with a non-empty name;
// the empty line ends the response. The first "action" attribute is the answer (Postfix
// takes the first too); other attributes are skipped. Malformed (a sticky error, the
// connection is then useless): a line without '=' or with an empty name, a CR or NUL
// anywhere, a line longer than the limit (seen before its end arrives), more attributes
// than the limit, a response without an action or with an empty one. Pure; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace estafeta::policy {

struct PolicyAttribute {
  std::string name;
  std::string value;
  bool operator==(const PolicyAttribute&) const = default;
};
using PolicyAttributes = std::vector<PolicyAttribute>;

/// What smtpd knows when it asks a policy server, one field per attribute of Postfix 3.8's
/// request (SMTPD_POLICY_README, "Protocol description"). Empty strings and zeros are sent
/// as such ("sasl_method=", "size=0"), as Postfix does, except the 3.8 additions
/// compatibility_level and mail_version, which are sent only when set.
struct PolicyRequestFacts {
  std::string protocol_state;       // CONNECT, EHLO, HELO, MAIL, RCPT, DATA, END-OF-MESSAGE, VRFY, ETRN
  std::string protocol_name;        // SMTP or ESMTP
  std::string helo_name;
  std::string queue_id;
  std::string sender;               // without <>; "" for the null sender
  std::string recipient;
  uint64_t recipient_count = 0;     // at DATA and END-OF-MESSAGE; 0 before
  std::string client_address;
  std::string client_name;          // "unknown" when not verified
  std::string reverse_client_name;  // "unknown" when no PTR
  std::string instance;             // the same for all requests of one message
  std::string sasl_method;
  std::string sasl_username;
  std::string sasl_sender;
  uint64_t size = 0;                // SIZE= of MAIL FROM, or the message size at END-OF-MESSAGE
  std::string ccert_subject;
  std::string ccert_issuer;
  std::string ccert_fingerprint;
  std::string encryption_protocol;  // "TLSv1.3", "" without TLS
  std::string encryption_cipher;
  uint32_t encryption_keysize = 0;
  std::string etrn_domain;
  std::string stress;               // "yes" under stress, else ""
  std::string ccert_pubkey_fingerprint;
  std::string client_port;          // as text, "" when unknown
  std::string policy_context;       // smtpd_policy_service_policy_context
  std::string server_address;
  std::string server_port;
  std::string compatibility_level;  // sent only when not empty
  std::string mail_version;         // sent only when not empty
};

/// The request's attributes in Postfix's order, starting with request=smtpd_access_policy.
PolicyAttributes request_attributes(const PolicyRequestFacts& facts);

/// "name=value\n" for each attribute, then "\n". Values are sanitized (see the file comment);
/// an Error names the first unusable attribute name.
Result<std::string> encode_request(std::span<const PolicyAttribute> attributes);

/// A value with CR, LF and NUL replaced by '?'.
std::string sanitize_attribute_value(std::string_view value);

/// The server's answer: the action text as sent, "DEFER_IF_PERMIT Greylisted, see ...".
struct PolicyResponse {
  std::string action;
};

struct ResponseLimits {
  size_t line_length = 2048;  // octets of a line without its LF (Postfix line_length_limit)
  size_t max_attributes = 100;  // attribute lines in one response (an Estafeta bound)
};

/// Push parser for one response. Feed the peer's bytes in any fragments; feed() consumes
/// up to and including the empty line that ends the response and no further, so bytes it
/// leaves are the peer's next data (for a client, a protocol violation). Memory: one line.
class ResponseParser {
 public:
  enum class State { NeedMore, Done, Failed };

  explicit ResponseParser(ResponseLimits limits = {}) : limits_(limits) {}

  /// How many of `bytes` were used: all of them while the response goes on; fewer once it
  /// is complete (Done) or malformed (Failed); none after that.
  size_t feed(std::string_view bytes);

  State state() const { return state_; }
  /// Precondition: state() is Done (the response) or Failed (why, "response line too long").
  Result<PolicyResponse> result() const;

 private:
  void end_line();
  void fail(std::string why);

  ResponseLimits limits_;
  State state_ = State::NeedMore;
  std::string line_;
  size_t attributes_ = 0;
  std::optional<std::string> action_;
  Error error_;
};

}  // namespace estafeta::policy
