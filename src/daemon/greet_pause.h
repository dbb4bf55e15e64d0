// The pregreet test at the edge (smtpd_greet_pause, an Estafeta addition; see
// policy/pregreet.h): waits before the banner and watches whether the client talks first.
// Edge (Asio).
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <chrono>

#include "log/logger.h"
#include "net/transport.h"
#include "smtp/server_session.h"

namespace estafeta::daemon {

/// Waits `pause` for input from `transport`. Returns true when the client stayed silent (the
/// banner may follow). Otherwise logs PREGREET (and sends postscreen's 521 reply) or HANGUP,
/// and returns false: the session ends without a banner.
asio::awaitable<bool> greet_pause(asio::io_context& io, net::Transport& transport,
                                  const log::Logger& log, const smtp::ClientInfo& client,
                                  std::chrono::seconds pause);

}  // namespace estafeta::daemon
