// Privilege drop (see privileges.h).
#include "daemon/privileges.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

namespace estafeta::daemon {

Result<UserIds> lookup_user(const std::string& name) {
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  int rc = getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found);
  if (rc != 0 || found == nullptr) {
    return make_error(fmt::format("mail_owner {}: no such user (create it: useradd --system "
                                  "--no-create-home --shell /usr/sbin/nologin {})",
                                  name, name));
  }
  return UserIds{entry.pw_uid, entry.pw_gid};
}

Status drop_privileges(const std::string& user) {
  if (geteuid() != 0) return {};
  auto ids = lookup_user(user);
  if (!ids.ok()) return ids.error();
  if (ids->uid == 0) return make_error("mail_owner must not be root");
  if (setgroups(1, &ids->gid) != 0 || setresgid(ids->gid, ids->gid, ids->gid) != 0 ||
      setresuid(ids->uid, ids->uid, ids->uid) != 0) {
    const int code = errno;
    return make_error(fmt::format("cannot become {}: {}", user, std::strerror(code)), code);
  }
  // Invariant: root is gone for good.
  if (setuid(0) == 0 || geteuid() == 0) return make_error("privilege drop did not stick");
  return {};
}

}  // namespace estafeta::daemon
