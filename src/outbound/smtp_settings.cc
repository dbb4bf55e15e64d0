// main.cf -> SmtpDeliverySettings. See smtp_settings.h.
#include "outbound/smtp_settings.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include "outbound/dane.h"
#include "outbound/dns_settings.h"
#include "outbound/next_hop_tables.h"

namespace estafeta::outbound {
namespace {

bool is_numeric_address(const std::string& text, int family) {
  unsigned char buf[sizeof(in6_addr)];
  return ::inet_pton(family, text.c_str(), buf) == 1;
}

}  // namespace

Result<SmtpDeliverySettings> make_smtp_delivery_settings(const config::Config& c,
                                                         std::string queue_directory,
                                                         std::vector<std::string>* warnings) {
  SmtpDeliverySettings s;
  s.queue_directory = std::move(queue_directory);
  s.helo_name = c.get("smtp_helo_name");
  s.never_send_ehlo = c.get_bool("smtp_never_send_ehlo");
  auto seconds = [&](const char* name) { return std::chrono::seconds(c.get_seconds(name)); };
  s.timeouts.connect = seconds("smtp_connect_timeout");
  s.timeouts.helo = seconds("smtp_helo_timeout");
  s.timeouts.starttls = seconds("smtp_starttls_timeout");
  s.timeouts.mail = seconds("smtp_mail_timeout");
  s.timeouts.rcpt = seconds("smtp_rcpt_timeout");
  s.timeouts.data_init = seconds("smtp_data_init_timeout");
  s.timeouts.data_xfer = seconds("smtp_data_xfer_timeout");
  s.timeouts.data_done = seconds("smtp_data_done_timeout");
  s.timeouts.quit = seconds("smtp_quit_timeout");
  s.mx = mx_plan_settings(c);
  s.bind_address = c.get("smtp_bind_address");
  if (!s.bind_address.empty() && !is_numeric_address(s.bind_address, AF_INET)) {
    return make_error(fmt::format("smtp_bind_address: not an IPv4 address: {}", s.bind_address));
  }
  s.bind_address6 = c.get("smtp_bind_address6");
  if (!s.bind_address6.empty() && !is_numeric_address(s.bind_address6, AF_INET6)) {
    return make_error(fmt::format("smtp_bind_address6: not an IPv6 address: {}", s.bind_address6));
  }
  s.fallback_relay = c.get_list("smtp_fallback_relay");
  s.cache_on_demand = c.get_bool("smtp_connection_cache_on_demand");
  for (std::string& name :
       split_cache_destinations(c.get_list("smtp_connection_cache_destinations")).names) {
    if (name.starts_with('!')) {
      if (warnings) {
        warnings->push_back(fmt::format(
            "smtp_connection_cache_destinations: exclusion {} is not supported and is ignored",
            name));
      }
      continue;
    }
    s.cache_destinations.push_back(std::move(name));
  }
  s.cache_limits.idle_limit = seconds("smtp_connection_cache_time_limit");
  s.cache_limits.reuse_time_limit = seconds("smtp_connection_reuse_time_limit");
  s.cache_limits.reuse_count_limit =
      static_cast<uint32_t>(c.get_int("smtp_connection_reuse_count_limit"));
  auto tls = make_client_tls_settings(c);
  if (!tls.ok()) return tls.error();
  s.tls = std::move(*tls);
  const auto dns_support = parse_dns_support_level(c.get("smtp_dns_support_level"));
  if (!dns_support) {
    return make_error(fmt::format("smtp_dns_support_level: unknown value \"{}\"",
                                  c.get("smtp_dns_support_level")));
  }
  s.dnssec = *dns_support == DnsSupportLevel::Dnssec;
  s.mta_sts.enable = c.get_bool("smtp_mta_sts_enable");
  s.mta_sts.cache_directory = c.get("smtp_mta_sts_cache_directory");
  if (s.mta_sts.cache_directory.empty()) s.mta_sts.cache_directory = s.queue_directory + "/mta-sts";
  s.mta_sts.ca_file = c.get("smtp_mta_sts_CAfile");
  s.mta_sts.https_port = static_cast<uint16_t>(c.get_int("smtp_mta_sts_https_port"));
  s.mta_sts.fetch_timeout = seconds("smtp_mta_sts_fetch_timeout");
  s.mta_sts.max_policy_bytes = static_cast<size_t>(c.get_int("smtp_mta_sts_max_policy_bytes"));
  std::vector<std::string> sasl_warnings;
  s.sasl = make_sasl_settings(c, sasl_warnings);
  if (warnings) warnings->insert(warnings->end(), sasl_warnings.begin(), sasl_warnings.end());
  return s;
}

}  // namespace estafeta::outbound
