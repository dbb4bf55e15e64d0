// ServerSession command handlers: one function per SMTP verb (see server_session.h).
// Split from server_session.cc, which holds framing, content and the entry points.
// Order of checks follows Postfix smtpd: sequence, then syntax, then limits.
#include <fmt/format.h>

#include "address/domain.h"
#include "address/mailbox.h"
#include "address/utf8.h"
#include "base/ascii.h"
#include "smtp/esmtp_params.h"
#include "smtp/reply.h"
#include "smtp/server_session.h"

namespace estafeta::smtp {
namespace {

constexpr std::string_view kNeedUtf8 = "553 5.6.7 Must declare SMTPUTF8 to send unicode address";

}  // namespace

void ServerSession::handle_line(std::string_view line, std::vector<Action>& out) {
  if (sasl_take_line(line, out)) return;  // the answer to a 334 challenge, not a command
  Result<Command> parsed = parse_command(line);
  if (!parsed.ok()) {
    Verb verb = classify_verb(line);
    attempted(verb);
    last_command_ = ascii::upper(stats_name(verb));
    reply(parsed.error().message, out);
    return;
  }
  const Command& cmd = *parsed;
  attempted(cmd.verb);
  last_command_ = cmd.verb == Verb::Unknown ? "UNKNOWN" : printable(cmd.name);
  if (!access_denied_.empty() && cmd.verb != Verb::Quit) {
    // The client was refused at connect (Postfix, smtpd_delay_reject = no).
    return reply(fmt::format("503 5.7.0 Error: access denied for {}", client_text()), out);
  }
  switch (cmd.verb) {
    case Verb::Helo:
    case Verb::Ehlo:
      return cmd_helo(cmd, out);
    case Verb::Mail:
      return cmd_mail(cmd, out);
    case Verb::Rcpt:
      return cmd_rcpt(cmd, out);
    case Verb::Data:
      return cmd_data(out);
    case Verb::Bdat:
      return cmd_bdat(cmd, out);
    case Verb::StartTls:
      return cmd_starttls(out);
    case Verb::Vrfy:
      return cmd_vrfy(cmd, out);
    case Verb::Rset:
      reset_transaction(out);
      succeeded(cmd.verb);
      return reply("250 2.0.0 Ok", out);
    case Verb::Noop:
      succeeded(cmd.verb);
      return reply("250 2.0.0 Ok", out);
    case Verb::Help:
      succeeded(cmd.verb);
      return reply(settings_.starttls_available && !tls_active_
                       ? "214 2.0.0 Commands: HELO EHLO STARTTLS MAIL RCPT DATA BDAT RSET "
                         "NOOP VRFY HELP QUIT"
                       : "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP VRFY "
                         "HELP QUIT",
                   out);
    case Verb::Quit:
      succeeded(cmd.verb);
      if (message_open_) {
        emit(AbortMessage{}, out);
        message_open_ = false;
      }
      emit(SendReply{"221 2.0.0 Bye\r\n"}, out);
      return close(out);
    case Verb::Auth:
      return cmd_auth(cmd, out);
    case Verb::NonSmtp:
      // Postfix smtpd_forbidden_commands: an HTTP client or proxy probe; hang up.
      log(fmt::format("warning: non-SMTP command from {}: {}", client_text(),
                      printable(line.substr(0, 100))),
          out);
      emit(SendReply{"221 2.7.0 Error: I can break rules, too. Goodbye.\r\n"}, out);
      return close(out);
    case Verb::Etrn:
      return cmd_etrn(cmd, out);
    case Verb::Expn:
    case Verb::Unknown:
      return reply("502 5.5.2 Error: command not recognized", out);
  }
}

void ServerSession::cmd_helo(const Command& cmd, std::vector<Action>& out) {
  // RFC 5321 §4.1.4: EHLO/HELO reset the transaction like RSET.
  reset_transaction(out);
  pending_helo_ = cmd;
  ask(PolicyStage::Helo, out);
}

void ServerSession::resume_helo(std::vector<Action>& out) {
  const Command cmd = std::move(pending_helo_);
  pending_helo_ = {};
  helo_ = cmd.argument;
  esmtp_ = cmd.verb == Verb::Ehlo;
  succeeded(cmd.verb);
  if (!esmtp_) return reply(fmt::format("250 {}", settings_.hostname), out);
  EhloOptions o;
  o.hostname = settings_.hostname;
  o.size_limit = settings_.message_size_limit;
  o.vrfy = settings_.vrfy_enabled;
  o.etrn = settings_.etrn_advertised;
  o.starttls = settings_.starttls_available && !tls_active_;
  o.smtputf8 = settings_.smtputf8_enabled;
  o.auth_mechanisms = sasl_ehlo_mechanisms();
  o.auth_broken_clients = settings_.sasl_broken_clients;
  emit(SendReply{ehlo_reply(o)}, out);
}

// RFC 1985. Postfix's order of checks: HELO first, no transaction, then the argument. A
// leading '@' (the domain and its subdomains) is taken as the domain alone; a '#' queue name
// is not supported.
void ServerSession::cmd_etrn(const Command& cmd, std::vector<Action>& out) {
  if (helo_.empty()) return reply("503 5.5.1 Error: send HELO/EHLO first", out);
  if (in_mail_) return reply("503 5.5.1 Error: MAIL transaction in progress", out);
  std::string_view site = cmd.argument;
  if (site.empty() || site.find_first_of(" \t") != std::string_view::npos) {
    return reply("501 5.5.4 Syntax: ETRN domain", out);
  }
  if (site.front() == '#') {
    return reply(fmt::format("458 4.3.0 Unable to queue messages for node {}", printable(site)),
                 out);
  }
  if (site.front() == '@') site.remove_prefix(1);
  if (!address::check_domain(site, false).ok()) {
    return reply("501 5.5.4 Error: invalid parameter syntax", out);
  }
  pending_flush_site_ = ascii::lower(site);
  ask(PolicyStage::Etrn, out);
}

void ServerSession::resume_etrn(std::vector<Action>& out) {
  wait_ = Wait::Flush;
  emit(FlushSite{pending_flush_site_}, out);
}

void ServerSession::cmd_mail(const Command& cmd, std::vector<Action>& out) {
  if (settings_.helo_required && helo_.empty()) {
    return reply("503 5.5.1 Error: send HELO/EHLO first", out);
  }
  if (settings_.tls_required && !tls_active_) {
    return reply("530 5.7.0 Must issue a STARTTLS command first", out);
  }
  if (in_mail_) return reply("503 5.5.1 Error: nested MAIL command", out);
  Result<MailParams> params = parse_mail_params(cmd.params, settings_.smtputf8_enabled);
  if (!params.ok()) return reply(params.error().message, out);
  if (address::has_non_ascii(cmd.path) && !params->smtputf8) return reply(kNeedUtf8, out);
  address::ParseOptions options;
  options.smtputf8 = params->smtputf8;
  options.allow_null = true;
  Result<address::Path> path = address::parse_path(cmd.path, options);
  if (!path.ok()) return reply("501 5.1.7 Bad sender address syntax", out);
  const uint64_t limit = settings_.message_size_limit;
  if (limit != 0 && params->size && *params->size > limit) {
    // RFC 1870 §6: refuse at MAIL when the declared size exceeds the fixed limit.
    constexpr std::string_view kTooBig = "552 5.3.4 Message size exceeds fixed limit";
    log(fmt::format("NOQUEUE: reject: MAIL from {}: {}; from=<{}> proto={} helo=<{}>",
                    client_text(), kTooBig, printable(path->address()), protocol(),
                    printable(helo_)),
        out);
    return reply(kTooBig, out);
  }
  pending_mail_ = {};
  pending_mail_.sender = path->address();
  pending_mail_.body_type = params->body_type;
  pending_mail_.smtputf8 = params->smtputf8;
  pending_mail_.dsn_ret = params->ret;
  pending_mail_.dsn_envid = params->envid;
  pending_mail_size_ = params->size.value_or(0);
  take_mail_auth(params->auth);  // RFC 4954 AUTH=: a fact of the MAIL decision
  ask(PolicyStage::Mail, out);
}

void ServerSession::resume_mail(std::vector<Action>& out) {
  in_mail_ = true;
  ++transactions_;
  envelope_ = std::move(pending_mail_);
  pending_mail_ = {};
  succeeded(Verb::Mail);
  reply("250 2.1.0 Ok", out);
}

void ServerSession::cmd_rcpt(const Command& cmd, std::vector<Action>& out) {
  if (!in_mail_) return reply("503 5.5.1 Error: need MAIL command", out);
  if (address::has_non_ascii(cmd.path) && !envelope_.smtputf8) return reply(kNeedUtf8, out);
  address::ParseOptions options;
  options.smtputf8 = envelope_.smtputf8;
  Result<address::Path> path = address::parse_path(cmd.path, options);
  if (!path.ok()) return reply("501 5.1.3 Bad recipient address syntax", out);
  Result<RcptParams> params = parse_rcpt_params(cmd.params);
  if (!params.ok()) return reply(params.error().message, out);
  if (settings_.recipient_limit != 0 &&
      envelope_.recipients.size() >= settings_.recipient_limit) {
    return reply("452 4.5.3 Error: too many recipients", out);
  }
  pending_rcpt_ = {};
  pending_rcpt_.address = path->address();
  pending_rcpt_.orcpt = params->orcpt;
  pending_rcpt_.notify = params->notify;
  ask(PolicyStage::Rcpt, out);
}

void ServerSession::resume_rcpt(std::vector<Action>& out) {
  succeeded(Verb::Rcpt);
  envelope_.recipients.push_back(std::move(pending_rcpt_));
  pending_rcpt_ = {};
  reply("250 2.1.5 Ok", out);
}

void ServerSession::cmd_data(std::vector<Action>& out) {
  if (envelope_.recipients.empty()) {
    if (!in_mail_) return reply("503 5.5.1 Error: need RCPT command", out);
    return reply("554 5.5.1 Error: no valid recipients", out);
  }
  // RFC 3030 §2: DATA and BDAT may not be mixed in one transaction.
  if (bdat_used_) return reply("503 5.5.1 Error: DATA after BDAT", out);
  pending_bdat_ = false;
  ask(PolicyStage::Data, out);
}

void ServerSession::resume_data(std::vector<Action>& out) {
  begin_message(out);
  if (pending_bdat_) {
    bdat_used_ = true;
    mode_ = Mode::Bdat;
    if (bdat_remaining_ == 0) finish_bdat_chunk(out);
    return;
  }
  reply("354 End data with <CR><LF>.<CR><LF>", out);
  data_reader_.emplace(settings_.bare_newline);
  mode_ = Mode::Data;
}

void ServerSession::cmd_bdat(const Command& cmd, std::vector<Action>& out) {
  // RFC 3030 §3: the chunk is read whatever the outcome, so framing is never lost.
  bdat_remaining_ = cmd.chunk_size;
  bdat_chunk_ = cmd.chunk_size;
  bdat_last_ = cmd.last;
  bdat_refusal_.clear();
  if (!in_mail_) {
    bdat_refusal_ = "503 5.5.1 Error: need MAIL command";
  } else if (envelope_.recipients.empty()) {
    bdat_refusal_ = "554 5.5.1 Error: no valid recipients";
  } else if (!message_open_) {
    // The first chunk: the DATA stage's decision before its bytes are taken.
    pending_bdat_ = true;
    return ask(PolicyStage::Data, out);
  }
  mode_ = Mode::Bdat;
  if (bdat_remaining_ == 0) finish_bdat_chunk(out);
}

void ServerSession::cmd_starttls(std::vector<Action>& out) {
  if (tls_active_) return reply("554 5.5.1 Error: TLS already active", out);
  if (!settings_.starttls_available) return reply("502 5.5.1 Error: command not implemented", out);
  if (in_mail_) return reply("503 5.5.1 Error: MAIL transaction in progress", out);
  if (settings_.ask_before_starttls) {
    wait_ = Wait::StartTlsCheck;
    return emit(CheckStartTls{}, out);
  }
  begin_starttls(out);
}

void ServerSession::begin_starttls(std::vector<Action>& out) {
  succeeded(Verb::StartTls);
  reply("220 2.0.0 Ready to start TLS", out);
  emit(StartTls{}, out);
  wait_ = Wait::Tls;
}

void ServerSession::cmd_vrfy(const Command& cmd, std::vector<Action>& out) {
  if (!settings_.vrfy_enabled) {
    succeeded(cmd.verb);
    return reply("252 2.5.2 Cannot VRFY user; try RCPT to attempt delivery", out);
  }
  std::string text = cmd.argument;
  if (text.front() != '<') text = "<" + text + ">";
  address::ParseOptions options;
  options.smtputf8 = settings_.smtputf8_enabled;
  Result<address::Path> path = address::parse_path(text, options);
  if (!path.ok()) return reply("501 5.1.3 Bad recipient address syntax", out);
  pending_vrfy_ = path->address();
  ask(PolicyStage::Vrfy, out);
}

void ServerSession::resume_vrfy(std::vector<Action>& out) {
  succeeded(Verb::Vrfy);
  reply(fmt::format("252 2.0.0 <{}>", pending_vrfy_), out);
  pending_vrfy_.clear();
}

}  // namespace estafeta::smtp
