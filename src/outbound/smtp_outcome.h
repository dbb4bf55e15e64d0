// What a client session's answers mean for the recipients of a delivery request, in
// Postfix's words: the failure that ends an attempt on a server (failure_of: a refusal, a
// lost connection, a timeout, a failed STARTTLS; an SMTP AUTH failure is always deferred, as
// Postfix's smtp_sasl_auth_soft_bounce = yes) and a recipient's outcome from its own reply
// (reply_for). Pure.
#pragma once

#include <string>

#include "outbound/delivery_report.h"
#include "qmgr/protocol.h"
#include "smtp/client_session.h"

namespace estafeta::outbound {

// A failure that ends an attempt on one server (or all of them), for the recipients that
// have no answer yet.
struct AttemptFailure {
  std::string dsn = "4.4.1";
  std::string text;
  std::string diagnostic{};  // "smtp; 554 ..." for a remote reply, else ""
  bool permanent{false};
};

/// The failure a session ended with (`peer` is the server it talked to).
AttemptFailure failure_of(const smtp::client::SessionFailed& f, const Peer& peer);

// `peer_dsn`: the server announced DSN, so it got the recipient's NOTIFY and reports success
// itself.
qmgr::RecipientReply reply_for(const qmgr::AgentRecipient& r, const smtp::ServerReply& reply,
                               smtp::ClientStage stage, const Peer& peer, bool peer_dsn);

}  // namespace estafeta::outbound
