// Identity switches of a delivery child. See task_privileges.h.
#include "delivery/task_privileges.h"

#include <fmt/format.h>
#include <grp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace estafeta::delivery {
namespace {

Error errno_error(std::string_view what) {
  const int code = errno;
  return make_error(fmt::format("{}: {}", what, std::strerror(code)), code);
}

Status set_groups(const Credentials& as) {
  std::vector<gid_t> groups = as.groups;
  if (groups.empty()) groups.push_back(as.gid);
  if (::setgroups(groups.size(), groups.data()) != 0) return errno_error("setgroups");
  return {};
}

}  // namespace

bool running_as_root() { return ::geteuid() == 0; }

Status become(const Credentials& as) {
  if (as.uid == 0 || as.gid == 0) return make_error("refusing to become root");
  if (!running_as_root()) {
    if (as.uid != ::getuid() || as.gid != ::getgid()) {
      return make_error(
          fmt::format("cannot switch to uid {} gid {}: not running as root", as.uid, as.gid));
    }
    return {};
  }
  if (::seteuid(0) != 0) return errno_error("seteuid(0)");  // after become_effective
  if (Status s = set_groups(as); !s.ok()) return s;
  if (::setresgid(as.gid, as.gid, as.gid) != 0) return errno_error("setresgid");
  if (::setresuid(as.uid, as.uid, as.uid) != 0) return errno_error("setresuid");
  // Invariant: root is gone for good.
  if (::setuid(0) == 0 || ::seteuid(0) == 0 || ::setgid(0) == 0 || ::geteuid() == 0) {
    return make_error("the privilege drop did not stick");
  }
  return {};
}

Status become_effective(const Credentials& as, uid_t uid, gid_t gid) {
  if (Status s = become_root_effective(); !s.ok()) return s;
  if (Status s = set_groups(as); !s.ok()) return s;
  if (::setresgid(-1, gid, -1) != 0) return errno_error("setresgid");
  if (::setresuid(-1, uid, -1) != 0) return errno_error("setresuid");
  return {};
}

Status become_root_effective() {
  if (::geteuid() != 0 && ::seteuid(0) != 0) return errno_error("seteuid(0)");
  if (::setegid(0) != 0) return errno_error("setegid(0)");
  return {};
}

}  // namespace estafeta::delivery
