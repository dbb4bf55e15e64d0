// Failures and recipient outcomes of client sessions; see smtp_outcome.h.
#include "outbound/smtp_outcome.h"

#include <fmt/format.h>

namespace estafeta::outbound {
namespace {

// SMTP AUTH failed: always deferred (Postfix's smtp_sasl_auth_soft_bounce = yes), the next
// server is tried. The text never holds credentials (the session's reasons do not).
AttemptFailure sasl_failure(const smtp::client::SessionFailed& f, const Peer& peer) {
  const std::string host = peer.host.empty() ? peer.address : peer.host;
  AttemptFailure out;
  out.dsn = "4.7.0";
  if (f.reply) {
    const std::string text = f.reply->text();
    out.dsn = reply_status(f.reply->code, f.reply->enhanced);
    if (!out.dsn.empty()) out.dsn[0] = '4';
    out.diagnostic = smtp_diagnostic(text);
    out.text =
        fmt::format("SASL authentication failed; server {}[{}] said: {}", host, peer.address, text);
  } else if (f.reason.starts_with("SASL")) {
    out.text = f.reason;
  } else {
    out.text =
        fmt::format("SASL authentication failed; {} with {}[{}]", f.reason, host, peer.address);
  }
  return out;
}

}  // namespace

AttemptFailure failure_of(const smtp::client::SessionFailed& f, const Peer& peer) {
  AttemptFailure out;
  const std::string host = peer.host.empty() ? peer.address : peer.host;
  if (f.stage == smtp::ClientStage::Auth && !f.reason.starts_with("lost connection") &&
      !f.reason.starts_with("conversation timed out")) {
    return sasl_failure(f, peer);
  }
  if (f.reply) {
    const std::string text = f.reply->text();
    out.dsn = reply_status(f.reply->code, f.reply->enhanced);
    out.permanent = f.reply->klass() == 5;
    out.diagnostic = smtp_diagnostic(text);
    if (f.stage == smtp::ClientStage::Greeting) {
      out.text = fmt::format("host {}[{}] refused to talk to me: {}", host, peer.address, text);
    } else {
      out.text = remote_said(peer, text, smtp::reply_context(f.stage));
    }
    return out;
  }
  out.dsn = "4.4.2";
  if (f.reason.starts_with("lost connection")) {
    out.text = fmt::format("lost connection with {}[{}] while {}", host, peer.address,
                           smtp::activity(f.stage));
  } else if (f.reason.starts_with("conversation timed out")) {
    out.text = fmt::format("conversation with {}[{}] timed out while {}", host, peer.address,
                           smtp::activity(f.stage));
  } else if (f.stage == smtp::ClientStage::StartTls) {
    out.dsn = f.reason.find("not offered") != std::string::npos ? "4.7.4" : "4.7.5";
    out.text = f.reason;
  } else {
    out.text = fmt::format("{} with {}[{}] while {}", f.reason, host, peer.address,
                           smtp::activity(f.stage));
  }
  return out;
}

qmgr::RecipientReply reply_for(const qmgr::AgentRecipient& r, const smtp::ServerReply& reply,
                               smtp::ClientStage stage, const Peer& peer, bool peer_dsn) {
  qmgr::RecipientReply out;
  out.index = r.index;
  out.relay = relay_name(peer);
  out.status = reply_status(reply.code, reply.enhanced);
  const std::string text = reply.text();
  if (reply.klass() == 2) {
    out.outcome = qmgr::RecipientOutcome::kDelivered;
    out.reason = text;
    out.action = peer_dsn ? "passed" : "relayed";  // RFC 3461 5.2.2, 6.2
    return out;
  }
  out.outcome =
      reply.klass() == 5 ? qmgr::RecipientOutcome::kBounced : qmgr::RecipientOutcome::kDeferred;
  out.reason = reply.local ? text : remote_said(peer, text, smtp::reply_context(stage));
  if (!reply.local) out.diagnostic = smtp_diagnostic(text);
  return out;
}

}  // namespace estafeta::outbound
