// Clock: the time source of the pure cores (the queue manager's scheduler, later policy), passed
// in so that their tests run on a FakeClock, with no sleeps and no real time. SystemClock is
// the real one; only edges construct it. Header-only; not thread-safe (a FakeClock is moved by
// the test's thread; SystemClock has no state).
#pragma once

#include <chrono>
#include <cstdint>

namespace estafeta {

/// Microseconds since the epoch on the real wall clock: the edges' time stamps (queue ids,
/// arrival times, file ages), where no Clock is injected.
inline int64_t system_now_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

class Clock {
 public:
  using TimePoint = std::chrono::system_clock::time_point;
  using Duration = std::chrono::system_clock::duration;

  virtual ~Clock() = default;
  /// The current wall-clock time.
  virtual TimePoint now() const = 0;
};

/// The real wall clock (std::chrono::system_clock).
class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::system_clock::now(); }
};

/// A clock that moves only when told to. For tests.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimePoint start = TimePoint{}) : now_(start) {}

  TimePoint now() const override { return now_; }
  void advance(Duration d) { now_ += d; }
  void set(TimePoint t) { now_ = t; }

 private:
  TimePoint now_;
};

}  // namespace estafeta
