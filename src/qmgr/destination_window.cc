// DestinationWindow: Postfix's concurrency feedback with feedback 1/window and hysteresis 1.
#include "qmgr/destination_window.h"

namespace estafeta::qmgr {

namespace {
constexpr double kHysteresis = 1.0;
// Sums of 1/window may land a hair below the whole number they stand for (7 x 1/7); Postfix
// compares without tolerance and then needs one failure more. Not here.
constexpr double kEpsilon = 1e-9;
}  // namespace

DestinationWindow::DestinationWindow(int initial, int limit, int failed_cohort_limit)
    : initial_(initial < 1 ? 1 : initial),
      limit_(limit),
      failed_cohort_limit_(failed_cohort_limit),
      window_(initial_) {}

void DestinationWindow::success(int busy) {
  // Any success ends a run of failed cohorts.
  fail_cohorts_ = 0;
  if (dead()) {
    revive(busy);
    return;
  }
  if (limit_ != 0 && window_ >= limit_) {
    return;
  }
  if (window_ >= busy + initial_) {
    return;
  }
  double feedback = 1.0 / window_;
  success_ += feedback;
  // feedback/2 absorbs rounding: five steps of 0.2 must make one full step.
  while (success_ + feedback / 2 >= kHysteresis) {
    window_ += 1;
    success_ -= kHysteresis;
    failure_ = 0;
  }
  if (limit_ != 0 && window_ > limit_) {
    window_ = limit_;
  }
}

bool DestinationWindow::failure() {
  if (dead()) {
    return false;
  }
  // Counted with the window before this failure shrinks it, as in Postfix.
  fail_cohorts_ += 1.0 / window_;
  if (failed_cohort_limit_ > 0 && fail_cohorts_ + kEpsilon >= failed_cohort_limit_) {
    window_ = 0;
    success_ = failure_ = 0;
    return true;
  }
  double feedback = 1.0 / window_;
  failure_ -= feedback;
  while (failure_ - feedback / 2 < 0) {
    window_ -= 1;
    success_ = 0;
    failure_ += kHysteresis;
  }
  if (window_ < 1) {
    window_ = 1;
  }
  return false;
}

void DestinationWindow::revive(int busy) {
  window_ = busy > 0 ? busy : initial_;
  success_ = failure_ = 0;
  fail_cohorts_ = 0;
}

}  // namespace estafeta::qmgr
