// `estafeta drac add ADDRESS | list | expire`: the DRAC (POP-before-SMTP) grant store
// (daemon/drac_store.h; an Estafeta addition, docs/drac.md). `add` records that ADDRESS
// logged in over POP or IMAP just now (a Dovecot post-login script runs it), so that
// permit_drac_client lets it relay for drac_timeout; `list` prints the grants of
// drac_database ("ADDRESS GRANT-TIME active|expired"); `expire` removes the expired ones.
#pragma once

#include <string>
#include <vector>

namespace estafeta::cli {

/// `args` excludes "drac". Exit 0 on success, 1 when the store cannot be written or read,
/// 2 on a usage error or an ADDRESS that is not a numeric IP address.
int run_drac_command(const std::string& config_dir, const std::vector<std::string>& args);

}  // namespace estafeta::cli
