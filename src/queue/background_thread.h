// Scheduling of the threads that wait on the disk (the spool's sync threads, the delivery
// agent): they run under SCHED_BATCH, so that when one of them wakes up from an fsync it
// takes a free CPU or waits for the next tick, instead of preempting the event loop that
// serves every session. They still get their fair share of CPU time; only wake-up
// preemption is given up.
#pragma once

namespace estafeta::queue {

/// Puts the calling thread under SCHED_BATCH (Linux; threads it starts later inherit it).
/// False where that is not possible; the thread then keeps running as before.
bool make_current_thread_background();

}  // namespace estafeta::queue
