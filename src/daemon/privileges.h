// Dropping root: the one visible sequence every worker runs before it reads a network byte
// (setgroups, setresgid, setresuid, in that order, then a check that root cannot come back).
// When the process is not root this does nothing: Estafeta runs unchanged as a plain user.
#pragma once

#include <sys/types.h>

#include <string>

#include "base/result.h"

namespace estafeta::daemon {

struct UserIds {
  uid_t uid = 0;
  gid_t gid = 0;
};

/// Looks up a user name in the password database.
Result<UserIds> lookup_user(const std::string& name);

/// If running as root: become `user` for good. Otherwise: no-op.
Status drop_privileges(const std::string& user);

}  // namespace estafeta::daemon
