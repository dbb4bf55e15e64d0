// Transport: the byte stream one SMTP session runs over — a TCP socket that may switch to TLS
// (STARTTLS, or at once for port 465; as the server for smtpd, as the client for the smtp
// agent, see net/tls_client.h), or stdin/stdout for inetd mode (`smtpd -bs`).
// Coroutine interface on Asio; errors are returned, never thrown.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/ssl.hpp>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "net/tls_client.h"

namespace estafeta::net {

class Transport {
 public:
  virtual ~Transport() = default;
  /// Reads at least one byte; 0 means end of stream or error.
  virtual asio::awaitable<size_t> read_some(std::span<char> buffer) = 0;
  /// Writes everything; false on error.
  virtual asio::awaitable<bool> write_all(std::string_view bytes) = 0;
  /// Writes what the stream takes now, without waiting: the number of bytes written, 0 when
  /// it takes none, cannot write so (TLS, stdio) or fails (write_all then reports the error).
  /// For callers that would otherwise start a write_all, a coroutine whose frame is an
  /// allocation, for a few bytes the socket takes at once.
  virtual size_t write_now(std::string_view bytes) {
    (void)bytes;
    return 0;
  }
  /// Server-side TLS handshake over the current stream; false if unsupported or failed.
  virtual asio::awaitable<bool> start_tls(asio::ssl::context& context) = 0;
  /// Client-side TLS handshake (the SMTP client's STARTTLS) with `params` applied (SNI,
  /// protocol versions, ciphers; net/tls_client.h); false if unsupported, if OpenSSL refuses
  /// the params or if the handshake fails. Whether the peer is good enough for the level is
  /// the caller's decision, from tls_peer_trust().
  virtual asio::awaitable<bool> start_tls_client(asio::ssl::context& context,
                                                 const ClientTlsParams& params);
  /// After a successful start_tls_client: the server's classification (classify_peer);
  /// nullopt before, or on the server side.
  virtual std::optional<outbound::PeerTrust> tls_peer_trust() const { return std::nullopt; }
  /// After a successful start_tls_client: why the certificate did not verify (OpenSSL's
  /// text, "no matching DANE TLSA records"), "" when it did or before.
  virtual std::string tls_verify_error() const { return {}; }
  /// "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)" once TLS is up, else "".
  virtual std::string tls_description() const = 0;
  /// Aborts pending reads and writes; the stream stays open (to send a 421 after a timeout).
  virtual void cancel() = 0;
  /// Closes the stream.
  virtual void close() = 0;
};

/// A TCP connection (the socket is moved in).
std::unique_ptr<Transport> make_tcp_transport(asio::ip::tcp::socket socket);
/// inetd mode: reads fd `in`, writes fd `out` (both borrowed, not closed). No TLS.
std::unique_ptr<Transport> make_stdio_transport(asio::io_context& io, int in, int out);

/// A server TLS context from PEM files; error text in the Result.
struct TlsFiles {
  std::string cert_file;
  std::string key_file;
};
std::shared_ptr<asio::ssl::context> make_server_tls_context(const TlsFiles& files,
                                                            std::string* error);

}  // namespace estafeta::net
