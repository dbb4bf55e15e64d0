// TCP/TLS and stdio transports (see transport.h).
#include "net/transport.h"

#include <unistd.h>

#include <asio/experimental/as_tuple.hpp>
#include <asio/read.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "net/tls_dane.h"

namespace estafeta::net {
namespace {

constexpr auto kNoThrow = asio::experimental::as_tuple(asio::use_awaitable);

class TcpTransport : public Transport {
 public:
  explicit TcpTransport(asio::ip::tcp::socket socket) : socket_(std::move(socket)) {}

  asio::awaitable<size_t> read_some(std::span<char> buffer) override {
    auto buf = asio::buffer(buffer.data(), buffer.size());
    auto [ec, n] = tls_ ? co_await tls_->async_read_some(buf, kNoThrow)
                        : co_await socket_.async_read_some(buf, kNoThrow);
    co_return ec ? 0 : n;
  }

  asio::awaitable<bool> write_all(std::string_view bytes) override {
    auto buf = asio::buffer(bytes.data(), bytes.size());
    auto [ec, n] = tls_ ? co_await asio::async_write(*tls_, buf, kNoThrow)
                        : co_await asio::async_write(socket_, buf, kNoThrow);
    co_return !ec && n == bytes.size();
  }

  size_t write_now(std::string_view bytes) override {
    if (tls_) return 0;
    asio::error_code ec;
    // Asio's own descriptor is non-blocking already; this flag makes write_some say so
    // instead of polling until the socket takes the bytes.
    if (!socket_.non_blocking()) socket_.non_blocking(true, ec);
    if (ec) return 0;
    const size_t n = socket_.write_some(asio::buffer(bytes.data(), bytes.size()), ec);
    return ec ? 0 : n;
  }

  asio::awaitable<bool> start_tls(asio::ssl::context& context) override {
    if (tls_) co_return false;
    tls_.emplace(socket_, context);
    auto [ec] = co_await tls_->async_handshake(asio::ssl::stream_base::server, kNoThrow);
    co_return !ec;
  }

  asio::awaitable<bool> start_tls_client(asio::ssl::context& context,
                                         const ClientTlsParams& params) override {
    if (tls_) co_return false;
    tls_.emplace(socket_, context);
    if (!prepare_client_ssl(tls_->native_handle(), params).ok()) co_return false;
    auto [ec] = co_await tls_->async_handshake(asio::ssl::stream_base::client, kNoThrow);
    if (ec) co_return false;
    peer_trust_ = classify_peer(tls_->native_handle(), params);
    verify_error_ = verify_error(tls_->native_handle());
    co_return true;
  }

  std::optional<outbound::PeerTrust> tls_peer_trust() const override { return peer_trust_; }
  std::string tls_verify_error() const override { return verify_error_; }

  std::string tls_description() const override {
    if (!tls_) return {};
    SSL* ssl = const_cast<asio::ssl::stream<asio::ip::tcp::socket&>&>(*tls_).native_handle();
    int alg_bits = 0;
    int bits = SSL_get_cipher_bits(ssl, &alg_bits);
    return std::string(SSL_get_version(ssl)) + " with cipher " + SSL_get_cipher_name(ssl) + " (" +
           std::to_string(bits) + "/" + std::to_string(alg_bits) + " bits)";
  }

  void cancel() override {
    asio::error_code ignored;
    socket_.cancel(ignored);
  }

  void close() override {
    asio::error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

 private:
  asio::ip::tcp::socket socket_;
  std::optional<asio::ssl::stream<asio::ip::tcp::socket&>> tls_;
  std::optional<outbound::PeerTrust> peer_trust_;
  std::string verify_error_;
};

class StdioTransport : public Transport {
 public:
  StdioTransport(asio::io_context& io, int in, int out)
      : in_(io, ::dup(in)), out_(io, ::dup(out)) {}

  asio::awaitable<size_t> read_some(std::span<char> buffer) override {
    auto [ec, n] =
        co_await in_.async_read_some(asio::buffer(buffer.data(), buffer.size()), kNoThrow);
    co_return ec ? 0 : n;
  }

  asio::awaitable<bool> write_all(std::string_view bytes) override {
    auto [ec, n] =
        co_await asio::async_write(out_, asio::buffer(bytes.data(), bytes.size()), kNoThrow);
    co_return !ec && n == bytes.size();
  }

  asio::awaitable<bool> start_tls(asio::ssl::context&) override { co_return false; }
  std::string tls_description() const override { return {}; }

  void cancel() override {
    asio::error_code ignored;
    in_.cancel(ignored);
  }

  void close() override {
    asio::error_code ignored;
    in_.close(ignored);
    out_.close(ignored);
  }

 private:
  asio::posix::stream_descriptor in_;
  asio::posix::stream_descriptor out_;
};

}  // namespace

asio::awaitable<bool> Transport::start_tls_client(asio::ssl::context&, const ClientTlsParams&) {
  co_return false;
}

std::unique_ptr<Transport> make_tcp_transport(asio::ip::tcp::socket socket) {
  return std::make_unique<TcpTransport>(std::move(socket));
}

std::unique_ptr<Transport> make_stdio_transport(asio::io_context& io, int in, int out) {
  return std::make_unique<StdioTransport>(io, in, out);
}

std::shared_ptr<asio::ssl::context> make_server_tls_context(const TlsFiles& files,
                                                            std::string* error) {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  asio::error_code ec;
  context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                           asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                           asio::ssl::context::no_tlsv1_1,
                       ec);
  if (!ec) context->use_certificate_chain_file(files.cert_file, ec);
  if (ec) {
    *error = "cannot load smtpd_tls_cert_file " + files.cert_file + ": " + ec.message();
    return nullptr;
  }
  context->use_private_key_file(files.key_file, asio::ssl::context::pem, ec);
  if (ec) {
    *error = "cannot load smtpd_tls_key_file " + files.key_file + ": " + ec.message();
    return nullptr;
  }
  if (SSL_CTX_check_private_key(context->native_handle()) != 1) {
    *error = "smtpd_tls_key_file does not match smtpd_tls_cert_file";
    return nullptr;
  }
  return context;
}

}  // namespace estafeta::net
