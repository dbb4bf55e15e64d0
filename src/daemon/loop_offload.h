// Waiting on the event loop for work done on another thread: await_result() starts the work
// with a `deliver` function (callable once, from any thread) and resumes the coroutine on
// the io_context when the result comes, without blocking the loop. The shared state outlives
// both sides whichever finishes first. Used by smtpd's sessions to run decisions that may
// block on remote tables (pgsql:, redis:) on a maps::LookupPool.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <utility>

namespace estafeta::daemon {

template <class T>
asio::awaitable<T> await_result(asio::io_context& io,
                                std::function<void(std::function<void(T)>)> start) {
  struct Wait {
    explicit Wait(asio::io_context& io)
        : timer(io, std::chrono::steady_clock::time_point::max()) {}
    asio::steady_timer timer;
    std::optional<T> result;
  };
  auto wait = std::make_shared<Wait>(io);
  start([wait, &io](T result) {
    asio::post(io, [wait, result = std::move(result)]() mutable {
      wait->result.emplace(std::move(result));
      wait->timer.cancel();
    });
  });
  while (!wait->result) {
    co_await wait->timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
  }
  co_return std::move(*wait->result);
}

}  // namespace estafeta::daemon
