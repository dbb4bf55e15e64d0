// The smtp agent's settings from main.cf (with its master.cf row's -o overrides): timeouts,
// HELO name, bind addresses, fallback relays, the MX plan's and the TLS client's settings.
// Pure: reads a config::Config snapshot.
#pragma once

#include "base/result.h"
#include "config/config.h"
#include "outbound/smtp_delivery.h"

namespace estafeta::outbound {

/// Errors name the parameter ("smtp_bind_address: not an IPv4 address: x").
Result<SmtpDeliverySettings> make_smtp_delivery_settings(const config::Config& config,
                                                         std::string queue_directory);

}  // namespace estafeta::outbound
