// ServerSession's SMTP AUTH (RFC 4954): the AUTH command, the client's answers to 334
// challenges, the authentication server's answers (sasl_answered), the AUTH keyword of EHLO
// and the AUTH= parameter of MAIL. The exchange itself is sasl/smtp_auth.h's; the session
// keeps its state and pauses (SaslStep) while the edge asks the authentication server.
// Order of checks follows Postfix smtpd: HELO (when smtpd_helo_required), enabled, transaction, already authenticated,
// syntax and mechanism, initial response.
#include <fmt/format.h>

#include "smtp/reply.h"
#include "smtp/server_session.h"

namespace estafeta::smtp {

void ServerSession::set_sasl_mechanisms(std::optional<std::vector<std::string>> mechanisms) {
  sasl_mechanisms_ = std::move(mechanisms);
}

bool ServerSession::sasl_allowed_now() const {
  return settings_.sasl_enabled && (tls_active_ || !settings_.sasl_tls_only);
}

std::vector<std::string> ServerSession::sasl_ehlo_mechanisms() const {
  if (!sasl_allowed_now() || !sasl_mechanisms_) return {};
  return *sasl_mechanisms_;
}

void ServerSession::cmd_auth(const Command& cmd, std::vector<Action>& out) {
  if (settings_.helo_required && helo_.empty()) {
    return reply("503 5.5.1 Error: send HELO/EHLO first", out);
  }
  if (!sasl_allowed_now()) return reply("503 5.5.1 Error: authentication not enabled", out);
  if (in_mail_) return reply("503 5.5.1 Error: MAIL transaction in progress", out);
  if (!sasl_username_.empty()) return reply("503 5.5.1 Error: already authenticated", out);
  if (!sasl_mechanisms_) {
    // The authentication server could not be reached when the session asked.
    log(fmt::format("warning: {}: SASL authentication server unavailable", client_text()), out);
    return reply("454 4.7.0 Temporary authentication failure: authentication server unavailable",
                 out);
  }
  Result<sasl::AuthCommand> parsed = sasl::parse_auth_command(cmd.argument, *sasl_mechanisms_);
  if (!parsed.ok()) return reply(parsed.error().message, out);
  sasl_pending_mechanism_ = parsed->mechanism;
  wait_ = Wait::Sasl;
  emit(SaslStep{parsed->mechanism, std::move(parsed->initial_response), true}, out);
}

bool ServerSession::sasl_take_line(std::string_view line, std::vector<Action>& out) {
  if (!sasl_awaiting_response_) return false;
  sasl_awaiting_response_ = false;
  sasl::ClientResponse response = sasl::parse_client_response(line);
  switch (response.kind) {
    case sasl::ClientResponse::Kind::Cancel:
      log(fmt::format("warning: {}: SASL {} authentication aborted", client_text(),
                      sasl_pending_mechanism_),
          out);
      sasl_pending_mechanism_.clear();
      emit(SaslAbort{}, out);
      reply("501 5.7.0 Authentication aborted", out);
      return true;
    case sasl::ClientResponse::Kind::Malformed:
      log(fmt::format("warning: {}: SASL {} authentication failed: cannot decode response",
                      client_text(), sasl_pending_mechanism_),
          out);
      sasl_pending_mechanism_.clear();
      emit(SaslAbort{}, out);
      reply("501 5.5.2 Cannot decode response", out);
      return true;
    case sasl::ClientResponse::Kind::Data:
      break;
  }
  wait_ = Wait::Sasl;
  emit(SaslStep{sasl_pending_mechanism_, std::move(response.data), false}, out);
  return true;
}

std::vector<Action> ServerSession::sasl_answered(sasl::Answer answer) {
  std::vector<Action> out;
  if (closed_ || wait_ != Wait::Sasl) return out;
  wait_ = Wait::None;
  switch (answer.kind) {
    case sasl::Answer::Kind::Continue:
      sasl_awaiting_response_ = true;
      reply(sasl::challenge_reply(answer.challenge), out);
      break;
    case sasl::Answer::Kind::Success:
      succeeded(Verb::Auth);
      sasl_username_ = answer.user.empty() ? "unknown" : printable(answer.user);
      sasl_method_ = sasl_pending_mechanism_;
      sasl_pending_mechanism_.clear();
      reply(sasl::final_reply(answer), out);
      break;
    case sasl::Answer::Kind::Failure:
    case sasl::Answer::Kind::TemporaryFailure:
      if (!answer.refusal.empty() && is_error_reply(answer.refusal)) {
        sasl_pending_mechanism_.clear();
        reply(answer.refusal, out);
        break;
      }
      // A failed attempt is an error like any 4xx/5xx reply: past smtpd_soft_error_limit
      // every reply waits, at smtpd_hard_error_limit the session ends.
      log("warning: " + sasl::failure_log(client_text(), sasl_pending_mechanism_, answer), out);
      sasl_pending_mechanism_.clear();
      reply(sasl::final_reply(answer), out);
      break;
  }
  run(out);
  return out;
}

void ServerSession::take_mail_auth(const std::optional<std::string>& value) {
  // RFC 4954 §5: without trust in the client (here: not authenticated) the server behaves as
  // if AUTH=<> was given; without SASL the parameter is ignored.
  mail_auth_.clear();
  if (!value || !settings_.sasl_enabled) return;
  mail_auth_ = sasl_username_.empty() ? "<>" : *value;
}

}  // namespace estafeta::smtp
