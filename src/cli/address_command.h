// `estafeta address resolve [-a CLIENT_IP] [-f SENDER] ADDRESS...`: what the daemons would do
// with an address, computed by the same code they run (route/ and policy/recipient_check.h,
// settings from main.cf through route/route_config.h): its canonical form, address class,
// transport, next hop and final recipient, and smtpd's RCPT answer for a client (by default one
// outside mynetworks). Postfix has no single tool for this (postmap -q, sendmail -bv,
// trivial-rewrite queries); see docs/routing.md.
#pragma once

#include <string>
#include <vector>

namespace estafeta::cli {

/// `args` excludes "address". Exit 0 when every address resolved, 1 when a table could not
/// answer or the configuration is broken, 2 on a usage error.
int run_address_command(const std::string& config_dir, const std::vector<std::string>& args);

}  // namespace estafeta::cli
