// Reply text helpers (see reply.h).
#include "smtp/reply.h"

#include <fmt/format.h>

#include "message/write_failure.h"

namespace estafeta::smtp {

std::string ehlo_reply(const EhloOptions& o) {
  std::string out = fmt::format("250-{}\r\n250-PIPELINING\r\n", o.hostname);
  out += o.size_limit ? fmt::format("250-SIZE {}\r\n", o.size_limit) : "250-SIZE\r\n";
  if (o.vrfy) out += "250-VRFY\r\n";
  if (o.etrn) out += "250-ETRN\r\n";
  if (o.starttls) out += "250-STARTTLS\r\n";
  if (!o.auth_mechanisms.empty()) {
    std::string names;
    for (const std::string& name : o.auth_mechanisms) names += " " + name;
    out += fmt::format("250-AUTH{}\r\n", names);
    // Outlook Express and old Microsoft clients know only the pre-RFC "AUTH=" form.
    if (o.auth_broken_clients) out += fmt::format("250-AUTH={}\r\n", names.substr(1));
  }
  out += "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n";
  if (o.smtputf8) out += "250-SMTPUTF8\r\n";
  out += "250 CHUNKING\r\n";
  return out;
}

bool is_error_reply(std::string_view reply) {
  return !reply.empty() && (reply[0] == '4' || reply[0] == '5');
}

bool is_well_formed_rejection(std::string_view reply) {
  if (reply.size() < 3 || !is_error_reply(reply)) return false;
  if (reply[1] < '0' || reply[1] > '9' || reply[2] < '0' || reply[2] > '9') return false;
  if (reply.size() > 3 && reply[3] != ' ') return false;
  return reply.find_first_of("\r\n") == std::string_view::npos;
}

std::string too_many_connections_reply(std::string_view hostname, std::string_view address) {
  return fmt::format("421 4.7.0 {} Error: too many connections from {}\r\n", hostname, address);
}

std::string commit_failure_reply(int error_code) {
  const message::WriteFailure f = message::queue_write_failure(error_code);
  return fmt::format("{} {} {}", f.reply_code, f.dsn, f.text);
}

std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    out += (u < 32 || u == 127) ? '?' : c;
  }
  return out;
}

}  // namespace estafeta::smtp
