// The smtp agent's request server on Asio. See agent_loop.h.
#include "outbound/agent_loop.h"

#include <fmt/format.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/signal_set.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace estafeta::outbound {
namespace {

using asio::local::stream_protocol;
constexpr auto kNoThrow = asio::experimental::as_tuple(asio::use_awaitable);

// One connection from the queue manager. Replies are queued and written by one writer
// coroutine at a time, so that two replies never interleave.
struct Connection : std::enable_shared_from_this<Connection> {
  explicit Connection(stream_protocol::socket s) : socket(std::move(s)) {}
  stream_protocol::socket socket;
  std::deque<std::string> outgoing;
  bool writing = false;
  bool broken = false;

  void send(std::string bytes) {
    if (broken) return;  // the queue manager defers what it did not hear of
    outgoing.push_back(std::move(bytes));
    if (writing) return;
    writing = true;
    asio::co_spawn(socket.get_executor(), write_all(shared_from_this()), asio::detached);
  }

  static asio::awaitable<void> write_all(std::shared_ptr<Connection> self) {
    while (!self->outgoing.empty() && !self->broken) {
      std::string bytes = std::move(self->outgoing.front());
      self->outgoing.pop_front();
      auto [ec, n] = co_await asio::async_write(self->socket, asio::buffer(bytes), kNoThrow);
      if (ec) self->broken = true;
    }
    self->outgoing.clear();
    self->writing = false;
  }
};

struct Server {
  Server(asio::io_context& io, const AsyncDeliver& d, const log::Logger& l)
      : io(io), deliver(d), log(l) {}
  asio::io_context& io;
  const AsyncDeliver& deliver;
  const log::Logger& log;
  bool stopping = false;
  std::vector<std::weak_ptr<Connection>> connections;

  asio::awaitable<void> run_request(std::shared_ptr<Connection> c, qmgr::AgentRequest request) {
    qmgr::AgentReply reply = co_await deliver(std::move(request));
    c->send(qmgr::encode_reply(reply));
  }

  asio::awaitable<void> read_requests(std::shared_ptr<Connection> c) {
    std::string buffer;
    std::vector<char> chunk(64 * 1024);
    while (!stopping) {
      auto [ec, n] = co_await c->socket.async_read_some(asio::buffer(chunk), kNoThrow);
      if (ec || n == 0) break;
      buffer.append(chunk.data(), n);
      for (;;) {
        auto taken = qmgr::take_request(buffer);
        if (!taken.ok()) {
          log.warning("bad request from the queue manager: {}", taken.error().message);
          c->broken = true;
          asio::error_code ignored;
          c->socket.shutdown(stream_protocol::socket::shutdown_both, ignored);
          co_return;
        }
        if (!taken->has_value()) break;
        asio::co_spawn(io, run_request(c, std::move(**taken)), asio::detached);
      }
    }
  }

  asio::awaitable<void> accept(stream_protocol::acceptor& acceptor) {
    while (!stopping) {
      auto [ec, socket] = co_await acceptor.async_accept(kNoThrow);
      if (ec) {
        if (stopping || ec == asio::error::operation_aborted) break;
        log.warning("accept: {}", ec.message());
        continue;
      }
      auto c = std::make_shared<Connection>(std::move(socket));
      connections.push_back(c);
      asio::co_spawn(io, read_requests(c), asio::detached);
    }
  }

  // Stops accepting and reading; requests in progress keep their connection (and so the
  // loop) alive until their replies are written.
  void stop(stream_protocol::acceptor& acceptor) {
    stopping = true;
    asio::error_code ignored;
    acceptor.close(ignored);
    for (auto& weak : connections) {
      if (auto c = weak.lock()) c->socket.shutdown(stream_protocol::socket::shutdown_receive, ignored);
    }
  }
};

}  // namespace

int serve_agent_requests_async(asio::io_context& io, int listen_fd, const AsyncDeliver& deliver,
                               const log::Logger& log, const std::function<void()>& on_stop) {
  stream_protocol::acceptor acceptor(io);
  asio::error_code ec;
  acceptor.assign(stream_protocol(), listen_fd, ec);
  if (ec) {
    log.fatal(fmt::format("cannot use the service socket: {}", ec.message()));
    return 1;
  }
  Server server(io, deliver, log);
  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const asio::error_code& error, int) {
    if (error) return;
    server.stop(acceptor);
    if (on_stop) on_stop();
  });
  asio::co_spawn(io, server.accept(acceptor), asio::detached);
  io.run();
  return 0;
}

}  // namespace estafeta::outbound
