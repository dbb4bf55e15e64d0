// Which deferrals are a problem of this mail system that notify_classes reports to the
// postmaster (error_notice_recipient): a resource problem (RFC 3463 X.3.1, "mail system
// full": a full disk or an exhausted quota of the file system, message/write_failure.h) or a
// software error (a delivery agent that failed or broke the protocol: the scheduler's
// kAgentDidNotReport). Everything else (a full mailbox, 4.2.2; a remote refusal; a transport
// without an agent yet) is the recipient's or the destination's problem. Pure.
#pragma once

#include "qmgr/scheduler.h"

namespace estafeta::qmgr {

enum class ProblemClass { kNone, kResource, kSoftware };

/// The class of a deferral's DSN.
ProblemClass problem_class(const Dsn& dsn);

}  // namespace estafeta::qmgr
