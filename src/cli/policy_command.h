// `estafeta policy query [-o name=value]... SERVICE`: asks a check_policy_service server
// (postgrey, policyd-spf, ...) what it would answer, through the same client smtpd uses
// (daemon/policy_client.h) with main.cf's smtpd_policy_service_* settings. Requests are
// read from standard input as smtpd sends them: name=value lines, an empty line (or the end
// of the input) ending each request; each answer's action is printed on a line of its own,
// in order, over one connection when the server keeps it open. See docs/access-policy.md.
#pragma once

#include <string>
#include <vector>

namespace estafeta::cli {

/// `args` excludes "policy". Exit 0 when the server answered every request, 1 when the
/// default action stood in for an answer or the configuration is broken, 2 on a usage error
/// or malformed input.
int run_policy_command(const std::string& config_dir, const std::vector<std::string>& args);

}  // namespace estafeta::cli
