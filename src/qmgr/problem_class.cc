// Deferrals that are this system's problem. See problem_class.h.
#include "qmgr/problem_class.h"

namespace estafeta::qmgr {

ProblemClass problem_class(const Dsn& dsn) {
  // RFC 3463 §3.4: X.3.1 "Mail system full".
  if (dsn.status.size() >= 5 && dsn.status.substr(1) == ".3.1") return ProblemClass::kResource;
  if (dsn.reason == kAgentDidNotReport) return ProblemClass::kSoftware;
  return ProblemClass::kNone;
}

}  // namespace estafeta::qmgr
