// DestinationWindow: the concurrency window of one destination with Postfix's default feedback
// (qmgr_queue.c, qmgr_queue_unthrottle/_throttle): slow start at
// initial_destination_concurrency; +1 after `window` successes (1/window per success, with the
// hysteresis of 1); -1 per `window` failures, the first one taking effect at once; and the
// dead-destination verdict once failed pseudo-cohorts (1/window per failure, reset by any
// success) reach destination_concurrency_failed_cohort_limit. Pure arithmetic: the scheduler
// keeps the dead-until time and what is in flight.
#pragma once

namespace estafeta::qmgr {

class DestinationWindow {
 public:
  /// `initial` >= 1; `limit` 0 = no limit; `failed_cohort_limit` 0 = never dead.
  DestinationWindow(int initial, int limit, int failed_cohort_limit);

  /// How many deliveries to this destination may be in flight; 0 when dead.
  int window() const { return window_; }
  bool dead() const { return window_ == 0; }

  /// A delivery to this destination completed without a destination failure. `busy`: the
  /// deliveries in flight, counting the one that completed. Grows the window only while it is
  /// below the limit and below busy + initial (Postfix keeps the window near the actual
  /// concurrency, so that negative feedback stays effective). A success revives a dead
  /// destination with window `busy` (Postfix: "back from the almost grave").
  void success(int busy);

  /// The destination itself failed (connection refused, handshake failure...). Returns true if
  /// this failure declared it dead. A dead destination ignores further failures.
  bool failure();

  /// The dead-destination time is over (or a flush): window `busy` if > 0, else the initial.
  void revive(int busy);

  /// Failed pseudo-cohorts since the last success (for tests and diagnostics).
  double failed_cohorts() const { return fail_cohorts_; }

 private:
  int initial_;
  int limit_;
  int failed_cohort_limit_;
  int window_;
  double success_ = 0;
  double failure_ = 0;
  double fail_cohorts_ = 0;
};

}  // namespace estafeta::qmgr
