// The pregreet test (see greet_pause.h).
#include "daemon/greet_pause.h"

#include <asio/steady_timer.hpp>
#include <memory>
#include <span>

#include "policy/pregreet.h"

namespace estafeta::daemon {

asio::awaitable<bool> greet_pause(asio::io_context& io, net::Transport& transport,
                                  const log::Logger& log, const smtp::ClientInfo& client,
                                  std::chrono::seconds pause) {
  struct Pause {
    explicit Pause(asio::io_context& io) : timer(io) {}
    asio::steady_timer timer;
    bool expired = false;
    bool over = false;  // a late timer handler must not cancel the session's later reads
  };
  auto state = std::make_shared<Pause>(io);
  const auto began = std::chrono::steady_clock::now();
  state->timer.expires_after(pause);
  state->timer.async_wait([state, &transport](const asio::error_code& ec) {
    if (ec || state->over) return;
    state->expired = true;
    transport.cancel();
  });
  auto first = std::make_unique<char[]>(512);
  size_t n = co_await transport.read_some(std::span<char>(first.get(), 512));
  state->over = true;
  state->timer.cancel();
  if (n == 0 && state->expired) co_return true;
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - began);
  if (n == 0) {
    log.info(policy::pregreet_hangup_log_line(elapsed, client.address, client.port));
  } else {
    log.info(policy::pregreet_log_line(std::string_view(first.get(), n), elapsed, client.address,
                                       client.port));
    co_await transport.write_all(policy::kPregreetReply);
  }
  co_return false;
}

}  // namespace estafeta::daemon
