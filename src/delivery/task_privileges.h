// Switching a delivery child to the recipient's identity (delivery/privileged_delivery.h).
// become() is the permanent drop: supplementary groups, then setresgid, then setresuid, then
// a check that root cannot come back. The effective-only switches serve the one case that
// needs the spool directory owner's privileges between steps (Mbox with
// create_with_spool_privileges): they keep the saved uid root, so the child runs no foreign
// code while using them. Call only in a single-threaded child process. Errors are Result.
#pragma once

#include <sys/types.h>

#include <vector>

#include "base/result.h"
#include "delivery/delivery_task.h"

namespace estafeta::delivery {

/// True when the process may switch identities (effective uid 0).
bool running_as_root();

/// Permanently becomes `as` (groups: `as.groups`, or just `as.gid` when empty). When not
/// root: succeeds only if `as` names the current uid and gid (nothing changes).
Status become(const Credentials& as);

/// Sets the supplementary groups of `as` and the effective gid and uid, keeping real and
/// saved ids (root). Precondition: running_as_root() at the time of the first call.
Status become_effective(const Credentials& as, uid_t uid, gid_t gid);

/// Back to effective root (after become_effective).
Status become_root_effective();

}  // namespace estafeta::delivery
