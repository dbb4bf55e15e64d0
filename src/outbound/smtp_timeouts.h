// The smtp agent's timeouts (Postfix's smtp_*_timeout parameters): which of them bounds the
// wait at each stage of a client session (timeout_for, pure), and a Deadline that enforces
// one on a transport by cancelling its pending operation.
#pragma once

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <memory>

#include "net/transport.h"
#include "smtp/client_session.h"

namespace estafeta::outbound {

/// Postfix's smtp_*_timeout parameters.
struct SmtpTimeouts {
  std::chrono::seconds connect{30};     // smtp_connect_timeout
  std::chrono::seconds helo{300};       // smtp_helo_timeout: greeting and EHLO/HELO
  std::chrono::seconds starttls{300};   // smtp_starttls_timeout: STARTTLS and the handshake
  std::chrono::seconds mail{300};       // smtp_mail_timeout (and RSET)
  std::chrono::seconds rcpt{300};       // smtp_rcpt_timeout
  std::chrono::seconds data_init{120};  // smtp_data_init_timeout: the 354
  std::chrono::seconds data_xfer{180};  // smtp_data_xfer_timeout: each write of the content
  std::chrono::seconds data_done{600};  // smtp_data_done_timeout: the reply to "."
  std::chrono::seconds quit{300};       // smtp_quit_timeout
};

/// The timeout of a wait at `stage`: smtp_helo_timeout for the greeting, EHLO/HELO and AUTH,
/// smtp_mail_timeout for MAIL and RSET, ... smtp_quit_timeout when idle or quitting.
std::chrono::seconds timeout_for(const SmtpTimeouts& t, smtp::ClientStage stage);

// Cancels the transport's pending operation when its deadline passes (the operation then
// ends with 0 / false, and `fired` tells a timeout from a closed connection).
class Deadline {
 public:
  Deadline(asio::io_context& io, net::Transport& transport) : timer_(io), transport_(transport) {}
  void arm(std::chrono::seconds after) {
    fired_ = std::make_shared<bool>(false);
    timer_.expires_after(after);
    timer_.async_wait([fired = fired_, t = &transport_](const asio::error_code& ec) {
      if (ec) return;
      *fired = true;
      t->cancel();
    });
  }
  // Disarms; true when the deadline had passed.
  bool disarm() {
    timer_.cancel();
    return fired_ && *fired_;
  }

 private:
  asio::steady_timer timer_;
  net::Transport& transport_;
  std::shared_ptr<bool> fired_;
};

}  // namespace estafeta::outbound
