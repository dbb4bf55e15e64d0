// libFuzzer target: arbitrary client bytes into smtp::ServerSession. Byte 0 picks settings
// (bits 0 and 7: smtpd_forbid_bare_newline normalize/no/reject/note), byte 1 the fragment
// size (bits 0-5, bit 5 also: every policy stage is asked, else RCPT only), the reject code
// (bit 6: 521, else 550) and SMTP AUTH (bit 7, offering PLAIN and LOGIN); with STARTTLS
// offered, bit 0 also makes each STARTTLS wait for CheckStartTls, refused (454) when bit 1 is
// set; policy decisions
// (with actions), commits and SASL answers are decided from the input. A SaslStep's
// response is always strict base64. Invariants: replies are well-formed lines ending in CRLF; nothing
// follows Close; AppendBody only inside an open message; never two CommitMessage for one
// message; a committed message is pure CRLF text unless the mode is `no`; and (without
// STARTTLS, whose discard depends on read boundaries) the same Actions at the chosen
// fragment size as all at once.
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sasl/base64.h"
#include "smtp/server_session.h"

using namespace estafeta;
using namespace estafeta::smtp;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

struct Run {
  std::vector<std::string> transcript;
};

Run drive(const SessionSettings& settings, std::string_view input, size_t fragment,
          bool refuse_starttls) {
  ServerSession s(settings, ClientInfo{"192.0.2.1", "fuzz.example", 25});
  s.set_sasl_mechanisms(std::vector<std::string>{"PLAIN", "LOGIN"});
  Run run;
  bool closed = false;
  bool open = false;
  std::string body;  // content of the open message
  int commits_for_open = 0;
  int queue = 0;
  auto record = [&](const std::string& item) {
    if (!run.transcript.empty() && item[0] == 'A' && run.transcript.back()[0] == 'A') {
      run.transcript.back() += item.substr(1);
    } else {
      run.transcript.push_back(item);
    }
  };
  std::vector<Action> batch = s.start();
  size_t pos = 0;
  while (true) {
    for (size_t i = 0; i < batch.size(); ++i) {
      const Action& a = batch[i];
      check(!closed);
      if (const auto* r = std::get_if<SendReply>(&a)) {
        const std::string& t = r->text;
        check(t.size() >= 5 && t.compare(t.size() - 2, 2, "\r\n") == 0);
        check(t[0] >= '2' && t[0] <= '5' && (t[3] == ' ' || t[3] == '-'));
        record("S" + t);
      } else if (const auto* c = std::get_if<CheckPolicy>(&a)) {
        check(i + 1 == batch.size() && s.waiting());
        record("R" + c->facts.recipient);
      } else if (std::holds_alternative<BeginMessage>(a)) {
        check(!open);
        open = true;
        commits_for_open = 0;
        body.clear();
        record("B");
      } else if (const auto* b = std::get_if<AppendBody>(&a)) {
        check(open && !b->data.empty());
        body += b->data;
        record("A" + b->data);
      } else if (const auto* m = std::get_if<CommitMessage>(&a)) {
        check(open && ++commits_for_open == 1 && i + 1 == batch.size() && s.waiting());
        check(m->size == body.size());
        if (settings.bare_newline != BareNewlineMode::No) {
          // Normalized content: every CR starts a CRLF, every LF ends one.
          for (size_t k = 0; k < body.size(); ++k) {
            if (body[k] == '\r') check(k + 1 < body.size() && body[k + 1] == '\n');
            if (body[k] == '\n') check(k > 0 && body[k - 1] == '\r');
          }
        }
        open = false;
        record("C" + m->message_id + std::to_string(m->size));
      } else if (std::holds_alternative<AbortMessage>(a)) {
        open = false;
        record("X");
      } else if (std::holds_alternative<StartTls>(a)) {
        record("T");
      } else if (std::holds_alternative<CheckStartTls>(a)) {
        check(i + 1 == batch.size() && s.waiting() && settings.ask_before_starttls);
        record("K");
      } else if (const auto* f = std::get_if<FlushSite>(&a)) {
        check(i + 1 == batch.size() && s.waiting() && !f->site.empty());
        record("F" + f->site);
      } else if (const auto* l = std::get_if<LogLine>(&a)) {
        check(l->text.find('\n') == std::string::npos);
        record("L" + l->text);
      } else if (std::holds_alternative<Close>(a)) {
        closed = true;
        record("Q");
      } else if (const auto* d = std::get_if<Delay>(&a)) {
        check(d->milliseconds > 0);
        record("D");
      } else if (const auto* step = std::get_if<SaslStep>(&a)) {
        check(i + 1 == batch.size() && s.waiting() && settings.sasl_enabled);
        check(!step->response || sasl::is_base64(*step->response));
        check(step->first || step->response.has_value());
        record("U" + step->mechanism + step->response.value_or("-"));
      } else if (std::holds_alternative<SaslAbort>(a)) {
        record("V");
      }
    }
    std::vector<Action> next;
    if (!batch.empty()) {
      const Action& last = batch.back();
      if (const auto* c = std::get_if<CheckPolicy>(&last)) {
        const PolicyFacts& f = c->facts;
        const size_t h = f.recipient.size() + f.helo.size() * 3 + f.sender.size() * 5 +
                         static_cast<size_t>(f.stage) * 7 + f.etrn_domain.size();
        PolicyDecision d;
        d.accepted = h % 3 != 0;
        if (!d.accepted) d.reply = h % 2 ? "554 5.7.1 <" + f.recipient + ">: Relay access denied" : "bad reply";
        if (h % 5 == 1) d.actions.prepend.push_back("X-Policy: " + f.helo);
        if (h % 5 == 2) d.notes.push_back({"hold", f.sender});
        if (h % 11 == 3) d.actions.discard = true;
        next = s.policy_decided(std::move(d));
      } else if (const auto* f = std::get_if<FlushSite>(&last)) {
        next = s.flush_decided(f->site.size() % 3 == 0   ? FlushAnswer::Started
                               : f->site.size() % 3 == 1 ? FlushAnswer::NotAllowed
                                                         : FlushAnswer::Failed);
      } else if (const auto* step = std::get_if<SaslStep>(&last)) {
        sasl::Answer answer;
        constexpr sasl::Answer::Kind kKinds[] = {
            sasl::Answer::Kind::Continue, sasl::Answer::Kind::Success,
            sasl::Answer::Kind::Failure, sasl::Answer::Kind::TemporaryFailure};
        answer.kind = kKinds[step->response ? step->response->size() % 4 : 0];
        answer.challenge = "VXNlcm5hbWU6";
        answer.user = "user";
        next = s.sasl_answered(answer);
      } else if (std::holds_alternative<CheckStartTls>(last)) {
        next = refuse_starttls ? s.starttls_decided("454 4.7.0 Error: too many new TLS sessions")
                               : s.starttls_decided(std::nullopt);
        check(!next.empty());
      } else if (const auto* m = std::get_if<CommitMessage>(&last)) {
        next = m->size % 7 == 3 ? s.commit_done(Result<std::string>(make_error("io")))
                                : s.commit_done(Result<std::string>("Q" + std::to_string(++queue)));
      }
    }
    if (next.empty()) {
      for (const Action& a : batch) {
        if (std::holds_alternative<StartTls>(a)) next = s.tls_done(true);
      }
    }
    if (!next.empty()) {
      batch = std::move(next);
      continue;
    }
    if (pos >= input.size() || s.closed()) break;
    check(!s.waiting());
    size_t n = std::min(fragment, input.size() - pos);
    batch = s.feed(input.substr(pos, n));
    pos += n;
  }
  std::vector<Action> end = s.peer_closed();
  for (const Action& a : end) check(!std::holds_alternative<Close>(a) || !closed);
  run.transcript.push_back(s.command_stats());
  return run;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  SessionSettings settings;
  const uint8_t flags = data[0];
  constexpr BareNewlineMode kModes[] = {BareNewlineMode::Normalize, BareNewlineMode::No,
                                        BareNewlineMode::Reject, BareNewlineMode::Note};
  settings.bare_newline = kModes[(flags & 1) | ((flags >> 6) & 2)];
  settings.bare_newline_reject_code = (data[1] & 64) != 0 ? 521 : 550;
  settings.sasl_enabled = (data[1] & 128) != 0;
  settings.starttls_available = (flags & 2) != 0;
  settings.vrfy_enabled = (flags & 4) != 0;
  settings.helo_required = (flags & 8) != 0;
  settings.tls_required = (flags & 16) != 0;
  settings.smtputf8_enabled = (flags & 32) == 0;
  if (data[1] & 32) settings.policy_stages.ask.fill(true);
  if (flags & 64) {
    settings.message_size_limit = 64;
    settings.recipient_limit = 3;
    settings.command_line_limit = 32;
    settings.hard_error_limit = 5;
  }
  const size_t fragment = 1 + data[1] % 64;
  std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);
  settings.ask_before_starttls = settings.starttls_available && (data[1] & 1) != 0;
  const bool refuse_starttls = (data[1] & 2) != 0;
  Run a = drive(settings, input, fragment, refuse_starttls);
  if (!settings.starttls_available) {
    Run b = drive(settings, input, input.size() + 1, refuse_starttls);
    check(a.transcript == b.transcript);
  }
  return 0;
}
