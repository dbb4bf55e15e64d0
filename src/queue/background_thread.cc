// See background_thread.h.
#include "queue/background_thread.h"

#include <sched.h>

namespace estafeta::queue {

bool make_current_thread_background() {
#ifdef SCHED_BATCH
  sched_param param{};
  param.sched_priority = 0;
  // pid 0: the calling thread only (on Linux a thread is a schedulable task of its own).
  return ::sched_setscheduler(0, SCHED_BATCH, &param) == 0;
#else
  return false;
#endif
}

}  // namespace estafeta::queue
