// Config -> SmtpdSettings (see smtpd_settings.h).
#include "daemon/smtpd_settings.h"

#include <fmt/format.h>

#include "base/ascii.h"

namespace estafeta::daemon {
namespace {

std::vector<std::string> lower_list(std::vector<std::string> items) {
  for (auto& item : items) item = ascii::lower(item);
  return items;
}

}  // namespace

Result<SmtpdSettings> make_smtpd_settings(const config::Config& config, long long max_sessions) {
  SmtpdSettings s;
  auto& session = s.session;
  session.hostname = config.get("myhostname");
  session.banner = config.get("smtpd_banner");
  session.message_size_limit = static_cast<uint64_t>(config.get_int("message_size_limit"));
  session.recipient_limit = static_cast<size_t>(config.get_int("smtpd_recipient_limit"));
  session.soft_error_limit = static_cast<int>(config.get_int("smtpd_soft_error_limit"));
  session.hard_error_limit = static_cast<int>(config.get_int("smtpd_hard_error_limit"));
  session.helo_required = config.get_bool("smtpd_helo_required");
  session.vrfy_enabled = !config.get_bool("disable_vrfy_command");
  session.forbid_bare_newline = config.get("smtpd_forbid_bare_newline") != "no";
  session.smtputf8_enabled = config.get_bool("smtputf8_enable");
  session.command_line_limit = static_cast<size_t>(config.get_int("line_length_limit"));

  s.tls_security_level = config.get("smtpd_tls_security_level");
  s.tls_cert_file = config.get("smtpd_tls_cert_file");
  s.tls_key_file = config.get("smtpd_tls_key_file");
  s.wrapper_mode = config.get_bool("smtpd_tls_wrappermode");
  if ((s.offer_starttls() || s.wrapper_mode) &&
      (s.tls_cert_file.empty() || s.tls_key_file.empty())) {
    return make_error(
        "smtpd_tls_security_level/smtpd_tls_wrappermode need smtpd_tls_cert_file and "
        "smtpd_tls_key_file");
  }
  session.starttls_available = s.offer_starttls() && !s.wrapper_mode;
  session.tls_required = s.tls_security_level == "encrypt" && !s.wrapper_mode;
  session.tls_active = false;  // set per connection once TLS is up

  std::vector<std::string> bad;
  s.recipients.local_domains = lower_list(config.get_list("mydestination"));
  s.recipients.relay_domains = lower_list(config.get_list("relay_domains"));
  s.recipients.mynetworks = policy::NetworkList::parse(config.get_list("mynetworks"), &bad);
  if (!bad.empty()) return make_error(fmt::format("mynetworks: bad network: {}", bad.front()));
  s.limit_exceptions = policy::NetworkList::parse(
      config.get_list("smtpd_client_event_limit_exceptions"), &bad);
  if (!bad.empty()) {
    return make_error(
        fmt::format("smtpd_client_event_limit_exceptions: bad network: {}", bad.front()));
  }
  s.timeout = std::chrono::seconds(config.get_seconds("smtpd_timeout"));
  s.max_sessions = max_sessions;
  s.per_client_limit = config.get_int("smtpd_client_connection_count_limit");
  return s;
}

}  // namespace estafeta::daemon
