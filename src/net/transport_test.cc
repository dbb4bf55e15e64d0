// The TCP transport's write_now on a real loopback connection: what the socket takes at once
// is written without waiting, a full socket takes only part (the rest is the caller's, for
// write_all), and the stdio transport writes nothing so.
#include "net/transport.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <memory>
#include <string>
#include <string_view>

namespace estafeta::net {
namespace {

// A connected pair on 127.0.0.1: the server end as a Transport, the client end as a socket.
struct Connection {
  asio::io_context io;
  asio::ip::tcp::socket client{io};
  std::unique_ptr<Transport> server;

  Connection() {
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    client.connect(acceptor.local_endpoint());
    server = make_tcp_transport(acceptor.accept());
  }
};

TEST(TcpTransport, WriteNowWritesWhatTheSocketTakesAtOnce) {
  Connection c;
  const std::string reply = "250 2.0.0 Ok\r\n";
  ASSERT_EQ(c.server->write_now(reply), reply.size());
  std::string got(reply.size(), '\0');
  asio::read(c.client, asio::buffer(got));
  EXPECT_EQ(got, reply);
}

TEST(TcpTransport, WriteNowOnAFullSocketWritesPartAndNeverBlocks) {
  Connection c;
  // Nobody reads: the buffers fill, and write_now returns with part of the bytes (and then
  // none) instead of waiting.
  const std::string big(64 * 1024 * 1024, 'x');
  size_t total = 0;
  for (int i = 0; i < 4; ++i) total += c.server->write_now(std::string_view(big).substr(total));
  EXPECT_GT(total, 0u);
  EXPECT_LT(total, big.size());
}

TEST(StdioTransport, WriteNowLeavesEverythingToWriteAll) {
  asio::io_context io;
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  {
    std::unique_ptr<Transport> stdio = make_stdio_transport(io, fds[0], fds[1]);
    EXPECT_EQ(stdio->write_now("220 ready\r\n"), 0u);
  }
  ::close(fds[0]);
  ::close(fds[1]);
}

}  // namespace
}  // namespace estafeta::net
