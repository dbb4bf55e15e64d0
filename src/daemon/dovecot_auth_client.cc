// The Dovecot auth connection of an smtpd process (see dovecot_auth_client.h). One
// Connection object per socket: a reader coroutine feeds the protocol parser and wakes the
// waiters of the handshake and of each request id; a writer coroutine drains the outbox so
// that lines of concurrent sessions never interleave. A waiter is a timer that the reader
// cancels once the answer is there (or that expires: the timeout).
#include "daemon/dovecot_auth_client.h"

#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/generic/stream_protocol.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <deque>
#include <unordered_map>
#include <unordered_set>

// XXX GCC 12 at -O2 reports -Wmismatched-new-delete on the frame of connect(), as on
// outbound/smtp_delivery.cc's coroutines: both ends are asio's awaitable frame operator
// new/delete, so the warning is taken as false.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace estafeta::daemon {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kNoThrow = asio::experimental::as_tuple(asio::use_awaitable);

sasl::Answer temporary_failure(std::string reason) {
  sasl::Answer a;
  a.kind = sasl::Answer::Kind::TemporaryFailure;
  a.reason = std::move(reason);
  return a;
}

}  // namespace

struct DovecotAuthClient::Waiter {
  Waiter(asio::io_context& io, Clock::time_point deadline) : timer(io), deadline(deadline) {}
  asio::steady_timer timer;
  Clock::time_point deadline;
  bool done = false;
  sasl::Answer answer;
  void wake() {
    done = true;
    timer.cancel();
  }
};

struct DovecotAuthClient::Connection {
  explicit Connection(asio::io_context& io) : socket(io) {}
  asio::generic::stream_protocol::socket socket;
  sasl::DovecotReader reader;
  bool ready = false;  // the handshake is complete
  bool dead = false;
  std::string error;   // why it died
  std::vector<sasl::Mechanism> mechanisms;
  std::vector<std::shared_ptr<Waiter>> handshake_waiters;
  std::unordered_map<uint32_t, std::shared_ptr<Waiter>> pending;  // waiting for an answer
  std::unordered_set<uint32_t> open;  // answered with CONT: the client's turn
  std::deque<std::string> outbox;
  bool writing = false;
};

DovecotAuthClient::DovecotAuthClient(asio::io_context& io, std::string endpoint,
                                     const log::Logger& log, std::chrono::seconds timeout)
    : io_(io), endpoint_(std::move(endpoint)), log_(log), timeout_(timeout) {}

DovecotAuthClient::~DovecotAuthClient() {
  if (connection_ && !connection_->dead) {
    asio::error_code ignored;
    connection_->socket.close(ignored);
  }
}

void DovecotAuthClient::fail(Connection& c, const std::string& why) {
  if (c.dead) return;
  c.dead = true;
  c.error = why;
  log_.warning("SASL: {}: {}", endpoint_, why);
  asio::error_code ignored;
  c.socket.close(ignored);
  for (auto& w : c.handshake_waiters) w->wake();
  c.handshake_waiters.clear();
  for (auto& [id, w] : c.pending) {
    w->answer = temporary_failure("authentication server unavailable");
    w->wake();
  }
  c.pending.clear();
  c.open.clear();
}

asio::awaitable<bool> DovecotAuthClient::wait(std::shared_ptr<Waiter> w) {
  w->timer.expires_at(w->deadline);
  while (!w->done) {
    co_await w->timer.async_wait(kNoThrow);
    if (!w->done && Clock::now() >= w->deadline) co_return false;
  }
  co_return true;
}

asio::awaitable<Status> DovecotAuthClient::connect(Connection& c) {
  if (!endpoint_.starts_with("inet:")) {
    asio::local::stream_protocol::endpoint unix_endpoint(endpoint_);
    auto [ec] = co_await c.socket.async_connect(
        asio::generic::stream_protocol::endpoint(unix_endpoint), kNoThrow);
    if (ec) co_return make_error(fmt::format("connect: {}", ec.message()));
    co_return Status{};
  }
  const std::string address = endpoint_.substr(5);
  const size_t colon = address.rfind(':');
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  asio::ip::tcp::resolver resolver(io_);
  auto [resolve_ec, results] =
      co_await resolver.async_resolve(host, address.substr(colon + 1), kNoThrow);
  if (resolve_ec) co_return make_error(fmt::format("resolve {}: {}", host, resolve_ec.message()));
  asio::error_code last = asio::error::host_not_found;
  for (const auto& entry : results) {
    asio::error_code ignored;
    c.socket.close(ignored);
    auto [ec] = co_await c.socket.async_connect(
        asio::generic::stream_protocol::endpoint(entry.endpoint()), kNoThrow);
    if (!ec) co_return Status{};
    last = ec;
  }
  co_return make_error(fmt::format("connect: {}", last.message()));
}

asio::awaitable<void> DovecotAuthClient::run_connection(std::shared_ptr<Connection> c) {
  Status connected = co_await connect(*c);
  if (!connected.ok()) {
    fail(*c, connected.error().message);
    co_return;
  }
  if (c->dead) co_return;  // timed out meanwhile
  c->outbox.push_front(sasl::encode_client_handshake(static_cast<long>(getpid())));
  if (!c->writing) {
    c->writing = true;
    asio::co_spawn(io_, write_outbox(c), asio::detached);
  }
  std::vector<char> buffer(4096);
  std::vector<sasl::ServerEvent> events;
  while (!c->dead) {
    auto [ec, n] = co_await c->socket.async_read_some(asio::buffer(buffer), kNoThrow);
    if (c->dead) co_return;
    if (ec) {
      fail(*c, ec == asio::error::eof ? "connection closed by the server" : ec.message());
      co_return;
    }
    events.clear();
    Status parsed = c->reader.feed(std::string_view(buffer.data(), n), events);
    for (sasl::ServerEvent& event : events) {
      if (auto* h = std::get_if<sasl::Handshake>(&event)) {
        c->mechanisms = std::move(h->mechanisms);
        c->ready = true;
        for (auto& w : c->handshake_waiters) w->wake();
        c->handshake_waiters.clear();
        continue;
      }
      uint32_t id = 0;
      sasl::Answer answer;
      if (auto* cont = std::get_if<sasl::ServerContinue>(&event)) {
        id = cont->id;
        answer.kind = sasl::Answer::Kind::Continue;
        answer.challenge = std::move(cont->challenge);
      } else if (auto* ok = std::get_if<sasl::ServerOk>(&event)) {
        id = ok->id;
        answer.kind = sasl::Answer::Kind::Success;
        answer.user = std::move(ok->user);
      } else if (auto* f = std::get_if<sasl::ServerFail>(&event)) {
        id = f->id;
        answer.kind = f->temporary ? sasl::Answer::Kind::TemporaryFailure
                                   : sasl::Answer::Kind::Failure;
        answer.reason = std::move(f->reason);
        answer.user = std::move(f->user);
      }
      auto it = c->pending.find(id);
      if (it == c->pending.end()) continue;  // forgotten (cancelled or timed out)
      auto waiter = std::move(it->second);
      c->pending.erase(it);
      if (answer.kind == sasl::Answer::Kind::Continue) c->open.insert(id);
      waiter->answer = std::move(answer);
      waiter->wake();
    }
    if (!parsed.ok()) {
      fail(*c, parsed.error().message);
      co_return;
    }
  }
}

void DovecotAuthClient::send(const std::shared_ptr<Connection>& c, std::string line) {
  c->outbox.push_back(std::move(line));
  if (c->writing) return;
  c->writing = true;
  asio::co_spawn(io_, write_outbox(c), asio::detached);
}

asio::awaitable<void> DovecotAuthClient::write_outbox(std::shared_ptr<Connection> c) {
  while (!c->dead && !c->outbox.empty()) {
    std::string line = std::move(c->outbox.front());
    c->outbox.pop_front();
    auto [ec, n] = co_await asio::async_write(c->socket, asio::buffer(line), kNoThrow);
    if (ec) {
      fail(*c, fmt::format("write: {}", ec.message()));
      break;
    }
  }
  c->writing = false;
}

asio::awaitable<Result<std::shared_ptr<DovecotAuthClient::Connection>>>
DovecotAuthClient::ready_connection() {
  if (!connection_ || connection_->dead) {
    connection_ = std::make_shared<Connection>(io_);
    asio::co_spawn(io_, run_connection(connection_), asio::detached);
  }
  std::shared_ptr<Connection> c = connection_;
  if (!c->ready && !c->dead) {
    auto w = std::make_shared<Waiter>(io_, Clock::now() + timeout_);
    c->handshake_waiters.push_back(w);
    if (!co_await wait(w)) fail(*c, "no handshake from the authentication server (timeout)");
  }
  if (c->dead || !c->ready) {
    co_return make_error(c->error.empty() ? std::string("not connected") : c->error);
  }
  co_return c;
}

asio::awaitable<Result<std::vector<sasl::Mechanism>>> DovecotAuthClient::mechanisms() {
  auto c = co_await ready_connection();
  if (!c.ok()) co_return c.error();
  co_return (*c)->mechanisms;
}

asio::awaitable<sasl::Answer> DovecotAuthClient::exchange(std::shared_ptr<Connection> c,
                                                          uint32_t id, std::string line) {
  auto w = std::make_shared<Waiter>(io_, Clock::now() + timeout_);
  c->pending[id] = w;
  send(c, std::move(line));
  if (!co_await wait(w)) {
    c->pending.erase(id);
    fail(*c, "no answer from the authentication server (timeout)");
    co_return temporary_failure("authentication server timeout");
  }
  co_return std::move(w->answer);
}

asio::awaitable<sasl::Answer> DovecotAuthClient::begin(Request request, uint32_t* id) {
  auto c = co_await ready_connection();
  if (!c.ok()) co_return temporary_failure("authentication server unavailable");
  sasl::AuthRequest auth;
  auth.id = next_id_++;
  if (next_id_ == 0) next_id_ = 1;
  auth.mechanism = std::move(request.mechanism);
  auth.service = std::move(request.service);
  auth.local_ip = std::move(request.local_ip);
  auth.remote_ip = std::move(request.remote_ip);
  auth.secured = request.secured;
  auth.initial_response = std::move(request.initial_response);
  auto line = sasl::encode_auth(auth);
  if (!line.ok()) co_return temporary_failure(line.error().message);
  *id = auth.id;
  co_return co_await exchange(*c, auth.id, std::move(*line));
}

asio::awaitable<sasl::Answer> DovecotAuthClient::next(uint32_t id, std::string response) {
  std::shared_ptr<Connection> c = connection_;
  if (!c || c->dead || !c->open.contains(id)) {
    co_return temporary_failure("authentication server connection lost");
  }
  c->open.erase(id);
  auto line = sasl::encode_continue(id, response);
  if (!line.ok()) co_return temporary_failure(line.error().message);
  co_return co_await exchange(c, id, std::move(*line));
}

void DovecotAuthClient::forget(uint32_t id) {
  if (!connection_) return;
  connection_->open.erase(id);
  connection_->pending.erase(id);
}

}  // namespace estafeta::daemon
