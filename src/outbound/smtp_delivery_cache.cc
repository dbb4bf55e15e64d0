// The smtp agent's idle connections (connection cache): kept after a clean delivery, given
// QUIT when they expire, cannot be kept, or the agent shuts down. See smtp_delivery.h.
#include "outbound/smtp_delivery.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <variant>

#include "outbound/smtp_delivery_state.h"

namespace estafeta::outbound {

void SmtpDelivery::park(ConnectionPtr connection) {
  if (closing_ || !cache_.may_reuse(connection->use)) {
    quit_and_close(std::move(connection));
    return;
  }
  ConnectionLabels labels = connection->labels;
  const ConnectionUse use = connection->use;
  cache_.store(std::move(labels), std::move(connection), use);
  expire_cached();  // arms the timer for the earliest expiry
}

void SmtpDelivery::expire_cached() {
  for (ConnectionPtr& c : cache_.expire()) quit_and_close(std::move(c));
  const std::optional<Clock::TimePoint> next = cache_.next_expiry();
  if (!next) {
    cache_timer_.cancel();
    return;
  }
  cache_timer_.expires_after(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(*next - clock_.now()));
  cache_timer_.async_wait([this](const asio::error_code& ec) {
    if (!ec) expire_cached();
  });
}

void SmtpDelivery::quit_and_close(ConnectionPtr connection) {
  auto quit = [](ConnectionPtr c, std::chrono::seconds timeout,
                 asio::io_context& io) -> asio::awaitable<void> {
    for (smtp::ClientAction& action : c->session.quit()) {
      if (auto* send = std::get_if<smtp::client::Send>(&action)) {
        Deadline deadline(io, *c->transport);
        deadline.arm(timeout);
        co_await c->transport->write_all(send->bytes);
        deadline.disarm();
      }
    }
    c->transport->close();
  };
  asio::co_spawn(io_, quit(std::move(connection), settings_.timeouts.quit, io_), asio::detached);
}

void SmtpDelivery::close_cached_connections() {
  closing_ = true;
  cache_timer_.cancel();
  for (ConnectionPtr& c : cache_.take_all()) quit_and_close(std::move(c));
}

}  // namespace estafeta::outbound
