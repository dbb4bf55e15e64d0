// Result<T>: a value or an Error, for expected failures (bad input, missing file, full disk).
// Not for impossible states (use ESTAFETA_CHECK) and never thrown. Stand-in for std::expected,
// which GCC 12 offers only under -std=c++23.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace estafeta {

/// What went wrong: `message` for a human ("main.cf:12: unknown parameter",
/// "write(queue file): No space left on device"), and `code`, the errno of the system call
/// that failed (0 when the failure is not a system call's), for callers that choose a
/// reply by cause (ENOSPC -> "452 4.3.1") without parsing the message. Code that passes an
/// Error on keeps its code; code that wraps one in a new message passes the code along.
struct Error {
  std::string message;
  int code = 0;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Error error) : state_(std::move(error)) {}      // NOLINT: implicit by design

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  /// Precondition: ok().
  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  /// Precondition: !ok().
  const Error& error() const { return std::get<1>(state_); }

 private:
  std::variant<T, Error> state_;
};

/// Result<void>: success or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT: implicit by design

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

/// An Error; `code` is the errno of a failed system call (capture errno before anything
/// that may change it, such as formatting the message), 0 when none.
inline Error make_error(std::string message, int code = 0) {
  return Error{std::move(message), code};
}

}  // namespace estafeta
