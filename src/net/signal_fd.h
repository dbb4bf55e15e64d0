// The stop signals of a service as a descriptor to poll: every long-running service (qmgr,
// pickup, the delivery agents, bounce) finishes the request in hand on SIGTERM or SIGINT
// instead of dying in the middle of it, by blocking the signals and reading them from a
// signalfd in its loop.
#pragma once

#include <initializer_list>

#include "base/result.h"

namespace estafeta::net {

/// Blocks `signals` in the calling thread (threads it starts later inherit the mask) and
/// returns a close-on-exec signalfd (plus `flags`, e.g. SFD_NONBLOCK) that delivers them.
Result<int> block_into_signalfd(std::initializer_list<int> signals, int flags = 0);

}  // namespace estafeta::net
