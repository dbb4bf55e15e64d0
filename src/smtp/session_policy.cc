// ServerSession's policy pauses (see server_session.h and policy_facts.h): each command that
// a policy may decide stops in ask() after its own syntax and sequence checks, with the
// parsed command kept in pending_*; policy_decided() then either carries the command out
// (the resume_* functions, which hold what the command handlers did before these pauses
// existed) or answers with the decision's reply and logs it as Postfix's smtpd does.
#include <fmt/format.h>

#include "smtp/reply.h"
#include "smtp/server_session.h"

namespace estafeta::smtp {

std::string_view policy_stage_name(PolicyStage stage) {
  switch (stage) {
    case PolicyStage::Connect: return "CONNECT";
    case PolicyStage::Helo: return "HELO";
    case PolicyStage::Mail: return "MAIL";
    case PolicyStage::Rcpt: return "RCPT";
    case PolicyStage::Data: return "DATA";
    case PolicyStage::EndOfData: return "END-OF-MESSAGE";
    case PolicyStage::Etrn: return "ETRN";
    case PolicyStage::Vrfy: return "VRFY";
  }
  return "UNKNOWN";
}

void PolicyActions::merge(const PolicyActions& other) {
  if (other.queue.hold) queue.hold = true;
  if (!other.queue.filter.empty()) queue.filter = other.queue.filter;  // the last one wins
  if (!other.queue.redirect.empty()) queue.redirect = other.queue.redirect;
  queue.bcc.insert(queue.bcc.end(), other.queue.bcc.begin(), other.queue.bcc.end());
  discard = discard || other.discard;
  prepend.insert(prepend.end(), other.prepend.begin(), other.prepend.end());
}

PolicyFacts ServerSession::facts_for(PolicyStage stage) const {
  PolicyFacts f;
  f.stage = stage;
  f.client_address = client_.address;
  f.client_port = client_.port;
  f.client_name = client_.hostname;
  f.client_name_status = client_.hostname_status;
  f.reverse_client_name = client_.reverse_hostname;
  f.reverse_client_name_status = client_.reverse_hostname_status;
  f.helo = stage == PolicyStage::Helo ? pending_helo_.argument : helo_;
  f.ehlo = stage == PolicyStage::Helo ? pending_helo_.verb == Verb::Ehlo : esmtp_;
  f.protocol = protocol();
  f.tls_active = tls_active_;
  f.unauth_pipelining = unauth_pipelining_;
  f.sasl_method = sasl_method_;
  f.sasl_username = sasl_username_;
  if (mail_auth_ != "<>") f.sasl_sender = mail_auth_;
  f.transaction = stage == PolicyStage::Mail ? transactions_ + 1 : transactions_;
  if (stage == PolicyStage::Mail) {
    f.have_mail = true;
    f.sender = pending_mail_.sender;
    f.size = pending_mail_size_;
  } else if (in_mail_) {
    f.have_mail = true;
    f.sender = envelope_.sender;
  }
  f.recipient_count = envelope_.recipients.size();
  switch (stage) {
    case PolicyStage::Rcpt: f.recipient = pending_rcpt_.address; break;
    case PolicyStage::Vrfy: f.recipient = pending_vrfy_; break;
    case PolicyStage::Etrn: f.etrn_domain = pending_flush_site_; break;
    case PolicyStage::EndOfData: f.size = body_size_; break;
    default: break;
  }
  return f;
}

void ServerSession::ask(PolicyStage stage, std::vector<Action>& out) {
  pending_stage_ = stage;
  if (!settings_.policy_stages.asks(stage)) return accept_stage(stage, out);
  wait_ = Wait::Policy;
  emit(CheckPolicy{facts_for(stage)}, out);
}

std::vector<Action> ServerSession::policy_decided(PolicyDecision d) {
  std::vector<Action> out;
  if (closed_ || wait_ != Wait::Policy) return out;
  wait_ = Wait::None;
  const PolicyStage stage = pending_stage_;
  log_notes(stage, d.notes, out);
  if (d.accepted) {
    if (stage == PolicyStage::Connect || stage == PolicyStage::Helo) {
      session_actions_.merge(d.actions);
    } else {
      transaction_actions_.merge(d.actions);
    }
    accept_stage(stage, out);
  } else {
    refuse_stage(stage, d, out);
    if (d.disconnect) close(out);
  }
  if (wait_ == Wait::None) run(out);
  return out;
}

void ServerSession::accept_stage(PolicyStage stage, std::vector<Action>& out) {
  switch (stage) {
    case PolicyStage::Connect:
      // RFC 5321 §4.2: the greeting carries no enhanced code; smtpd_banner has no version.
      return emit(SendReply{fmt::format("220 {}\r\n", settings_.banner)}, out);
    case PolicyStage::Helo: return resume_helo(out);
    case PolicyStage::Mail: return resume_mail(out);
    case PolicyStage::Rcpt: return resume_rcpt(out);
    case PolicyStage::Data: return resume_data(out);
    case PolicyStage::EndOfData:
      message_open_ = false;  // the edge's from here: committed or, failing that, dropped
      wait_ = Wait::Commit;
      return emit(CommitMessage{headers_.message_id(), body_size_, all_actions()}, out);
    case PolicyStage::Etrn: return resume_etrn(out);
    case PolicyStage::Vrfy: return resume_vrfy(out);
  }
}

void ServerSession::refuse_stage(PolicyStage stage, const PolicyDecision& d,
                                 std::vector<Action>& out) {
  std::string text = d.reply;
  if (!is_well_formed_rejection(text)) {
    // Never send what the edge did not make a reply: a generic refusal instead.
    text = stage == PolicyStage::Rcpt
               ? fmt::format("550 5.7.1 <{}>: Recipient address rejected", pending_rcpt_.address)
               : "550 5.7.1 Error: access denied";
  }
  // The log line shows the command's own parts, as Postfix's does.
  if (stage == PolicyStage::Rcpt) {
    log(fmt::format("NOQUEUE: reject: RCPT from {}: {}; from=<{}> to=<{}> proto={} helo=<{}>",
                    client_text(), text, printable(envelope_.sender),
                    printable(pending_rcpt_.address), protocol(), printable(helo_)),
        out);
  } else if (stage == PolicyStage::Mail) {
    log(fmt::format("NOQUEUE: reject: MAIL from {}: {}; from=<{}> proto={} helo=<{}>",
                    client_text(), text, printable(pending_mail_.sender), protocol(),
                    printable(helo_)),
        out);
  } else if (stage == PolicyStage::Helo) {
    log(fmt::format("NOQUEUE: reject: {} from {}: {}; proto={} helo=<{}>",
                    printable(pending_helo_.name), client_text(), text,
                    pending_helo_.verb == Verb::Ehlo ? "ESMTP" : "SMTP",
                    printable(pending_helo_.argument)),
        out);
  } else {
    log(reject_log_line(policy_stage_name(stage), text), out);
  }
  switch (stage) {
    case PolicyStage::Connect:
      // Postfix: the refusal instead of the banner; then every command but QUIT gets 503
      // (RFC 5321 §3.1: the client should send QUIT).
      access_denied_ = text;
      return reply(text, out);
    case PolicyStage::Helo:
      return reply(text, out);
    case PolicyStage::Mail:
      pending_mail_ = {};
      mail_auth_.clear();
      return reply(text, out);
    case PolicyStage::Rcpt:
      pending_rcpt_ = {};
      return reply(text, out);
    case PolicyStage::Data:
      if (pending_bdat_) {
        // The chunk is still read (RFC 3030 framing), then refused.
        bdat_refusal_ = text;
        mode_ = Mode::Bdat;
        if (bdat_remaining_ == 0) finish_bdat_chunk(out);
        return;
      }
      return reply(text, out);
    case PolicyStage::EndOfData:
      if (message_open_) {
        emit(AbortMessage{}, out);
        message_open_ = false;
      }
      reply(text, out);
      return reset_transaction(out);
    case PolicyStage::Etrn:
      pending_flush_site_.clear();
      return reply(text, out);
    case PolicyStage::Vrfy:
      return reply(text, out);
  }
}

void ServerSession::log_notes(PolicyStage stage, const std::vector<PolicyNote>& notes,
                              std::vector<Action>& out) {
  for (const PolicyNote& note : notes) {
    log(policy_log_line(note.action, policy_stage_name(stage), note.text), out);
  }
}

// Postfix's log_whatsup() for an action other than reject: "NOQUEUE: hold: RCPT from
// host[addr]: <text>; from=<s> to=<r> proto=ESMTP helo=<h>".
std::string ServerSession::policy_log_line(std::string_view action, std::string_view where,
                                           std::string_view why) const {
  std::string line =
      fmt::format("NOQUEUE: {}: {} from {}: {};", printable(action), where, client_text(),
                  printable(why));
  if (in_mail_) line += fmt::format(" from=<{}>", printable(envelope_.sender));
  if (pending_stage_ == PolicyStage::Rcpt && !pending_rcpt_.address.empty()) {
    line += fmt::format(" to=<{}>", printable(pending_rcpt_.address));
  } else if (!envelope_.recipients.empty()) {
    line += fmt::format(" to=<{}>", printable(envelope_.recipients.back().address));
  }
  line += fmt::format(" proto={}", protocol());
  if (!helo_.empty()) line += fmt::format(" helo=<{}>", printable(helo_));
  return line;
}

PolicyActions ServerSession::all_actions() const {
  PolicyActions all = session_actions_;
  all.merge(transaction_actions_);
  return all;
}

// The end of a message: the end-of-data decision, then the commit. The message stays open
// until the commit, so that a refusal (or a lost connection meanwhile) aborts it.
void ServerSession::commit(Verb verb, std::vector<Action>& out) {
  commit_verb_ = verb;
  ask(PolicyStage::EndOfData, out);
}

}  // namespace estafeta::smtp
