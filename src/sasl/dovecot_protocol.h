// The client side of Dovecot's authentication protocol (version 1.x, as Postfix's smtpd
// speaks it to Dovecot's auth-client socket): a push parser for what the server sends and
// encoders for what the client sends. Pure: bytes in, events out.
//
// The exchange (every line is TAB-separated fields ending in LF):
//   C: VERSION 1 1            C: CPID <pid>
//   S: VERSION 1 <minor>      S: MECH <name> [flags...] (once per mechanism)
//   S: SPID <pid>  S: CUID <n>  S: COOKIE <hex>  S: DONE
//   C: AUTH <id> <mech> service=smtp nologin lip=<ip> rip=<ip> [secured] [resp=<base64>]
//   S: CONT <id> <base64>     C: CONT <id> <base64>     (as often as the mechanism needs)
//   S: OK <id> [user=<name>] ...   or   S: FAIL <id> [reason=<text>] [temp] [user=<name>] ...
// Unknown commands and unknown optional fields are ignored, as the protocol asks; a server of
// another major version, a line longer than the limit or a reply without a numeric id is an
// Error, after which the connection is of no use. Fields are unescaped with Dovecot's \001
// escapes (protocol 1.2). Lifetime: one DovecotReader per connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/result.h"

namespace estafeta::sasl {

/// One MECH line: a mechanism the server offers and its security properties.
struct Mechanism {
  std::string name;  // as the server sends it, e.g. "PLAIN"
  bool anonymous = false;
  bool plaintext = false;
  bool dictionary = false;
  bool active = false;
  bool forward_secrecy = false;
  bool mutual_auth = false;
  bool is_private = false;  // usable but not to be advertised
};

/// Everything the server sends up to DONE.
struct Handshake {
  unsigned minor_version = 0;
  std::string spid, cuid, cookie;
  std::vector<Mechanism> mechanisms;
};

struct ServerContinue { uint32_t id = 0; std::string challenge; };  // base64, may be ""
struct ServerOk { uint32_t id = 0; std::string user; };
struct ServerFail {
  uint32_t id = 0;
  std::string reason;  // "" when the server gave none
  std::string user;    // "" when the server named none
  bool temporary = false;  // "temp": the server could not decide (e.g. its database is down)
};
using ServerEvent = std::variant<Handshake, ServerContinue, ServerOk, ServerFail>;

/// The push parser of the server's lines. Feed the bytes as they arrive; the Handshake event
/// comes once, at DONE; CONT/OK/FAIL before DONE are an Error.
class DovecotReader {
 public:
  static constexpr size_t kDefaultLineLimit = 16384;  // the protocol's expected maximum
  explicit DovecotReader(size_t line_limit = kDefaultLineLimit) : line_limit_(line_limit) {}

  /// Appends the events of every complete line in `bytes` to `out`. After an Error the
  /// reader stays failed (every later call returns it again).
  Status feed(std::string_view bytes, std::vector<ServerEvent>& out);
  bool handshake_done() const { return done_; }

 private:
  Status take_line(std::string_view line, std::vector<ServerEvent>& out);
  Status handshake_line(const std::vector<std::string>& fields, std::vector<ServerEvent>& out);

  size_t line_limit_;
  std::string buffer_;  // an incomplete line
  Handshake handshake_;
  bool version_seen_ = false;
  bool done_ = false;
  std::optional<Error> failed_;
};

/// "VERSION\t1\t1\nCPID\t<pid>\n": the client's half of the handshake.
std::string encode_client_handshake(long pid);

struct AuthRequest {
  uint32_t id = 0;
  std::string mechanism;  // one the server offered
  std::string service = "smtp";
  std::string local_ip, remote_ip;  // "" leaves the field out
  bool secured = false;             // the client connection is under TLS
  std::optional<std::string> initial_response;  // base64 ("" = an empty response)
};

/// The AUTH line. Error when a field would hold a TAB, LF, CR or NUL (it could smuggle a
/// field or a line) or the mechanism or service is empty.
Result<std::string> encode_auth(const AuthRequest& request);

/// "CONT\t<id>\t<base64>\n". Error when `response` holds a TAB, LF, CR or NUL.
Result<std::string> encode_continue(uint32_t id, std::string_view response);

/// Dovecot's tab-escaping reversed: \001 followed by 0, 1, t, r, n or l gives NUL, \001, TAB,
/// CR, LF, LF; \001 before any other byte gives that byte; a trailing \001 is dropped.
std::string unescape_field(std::string_view field);

}  // namespace estafeta::sasl
