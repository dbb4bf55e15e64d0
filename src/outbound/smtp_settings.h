// The smtp agent's settings from main.cf (with its master.cf row's -o overrides): timeouts,
// HELO name, bind addresses, fallback relays, the MX plan's, the TLS and SMTP AUTH settings.
// Pure: reads a config::Config snapshot.
#pragma once

#include "base/result.h"
#include "config/config.h"
#include "outbound/smtp_delivery.h"

namespace estafeta::outbound {

/// Errors name the parameter ("smtp_bind_address: not an IPv4 address: x"). `warnings`, when
/// given, gets what start-up should log (smtp_sasl_*security_options words not implemented).
Result<SmtpDeliverySettings> make_smtp_delivery_settings(
    const config::Config& config, std::string queue_directory,
    std::vector<std::string>* warnings = nullptr);

}  // namespace estafeta::outbound
