// SMTP reply text helpers: the EHLO extension list, reply classification, and replies the
// edge sends without a session (too many connections). Every reply the server sends and
// why is listed in docs/smtp.md. Pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace estafeta::smtp {

struct EhloOptions {
  std::string hostname;
  uint64_t size_limit = 0;  // 0: "SIZE" without a number (unlimited)
  bool vrfy = false;
  bool etrn = false;
  bool starttls = false;
  bool smtputf8 = true;
  std::vector<std::string> auth_mechanisms;  // "AUTH PLAIN LOGIN" when not empty (RFC 4954)
  bool auth_broken_clients = false;  // also "AUTH=PLAIN LOGIN" (broken_sasl_auth_clients)
};

/// The multi-line 250 EHLO reply, each line ending in CRLF (RFC 5321 §4.1.1.1).
std::string ehlo_reply(const EhloOptions& options);

/// True for a 4xx or 5xx reply text.
bool is_error_reply(std::string_view reply);

/// True if `reply` looks like "ddd" or "ddd text" with a 4xx/5xx code and no CR/LF.
bool is_well_formed_rejection(std::string_view reply);

/// "421 4.7.0 <hostname> Error: too many connections from <address>\r\n"
/// (smtpd_client_connection_count_limit, sent by the edge before closing).
std::string too_many_connections_reply(std::string_view hostname, std::string_view address);

/// The reply to the end of DATA/BDAT when the queue file could not be written or
/// committed; `error_code` is the errno of the failure (Error::code, 0 when unknown), mapped
/// by message::queue_write_failure: "452 4.3.1 Insufficient system storage" for ENOSPC and
/// EDQUOT, else "451 4.3.0 Error: queue file write error". Without CRLF.
std::string commit_failure_reply(int error_code);

/// Replaces control bytes with '?' for log lines (Postfix printable()); keeps UTF-8.
std::string printable(std::string_view s);

}  // namespace estafeta::smtp
