// ServerSession's SMTP AUTH: conversations against a scripted authentication server, each fed
// at fragment sizes 1, 2, 3, 5, 7, 64 and all at once (the transcripts must agree). The
// scripted server knows alice/secret for PLAIN and LOGIN (Dovecot's challenges), says "temp"
// for the user "down", and offers PLAIN and LOGIN.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "sasl/base64.h"
#include "smtp/server_session.h"

namespace estafeta::smtp {
namespace {

using Transcript = std::vector<std::string>;
using sasl::Answer;
using sasl::base64_decode;
using sasl::base64_encode;

const std::string kPlainOk = base64_encode(std::string("\0alice\0secret", 13));
const std::string kPlainBad = base64_encode(std::string("\0alice\0wrong", 12));
const std::string kPlainDown = base64_encode(std::string("\0down\0x", 7));

// A stand-in for Dovecot: the answer to each step of one exchange.
struct ScriptedServer {
  std::string mechanism;
  std::vector<std::string> responses;  // decoded client responses so far
  Answer step(const SaslStep& s) {
    if (s.first) {
      mechanism = s.mechanism;
      responses.clear();
    }
    if (s.response) responses.push_back(base64_decode(*s.response).value_or("?"));
    Answer a;
    if (mechanism == "PLAIN") {
      if (responses.empty() || responses.back().empty()) {
        a.kind = Answer::Kind::Continue;
        return a;
      }
      return check(responses.back().substr(1, responses.back().find('\0', 1) - 1),
                   responses.back().substr(responses.back().rfind('\0') + 1));
    }
    // LOGIN: ask for the user, then the password.
    if (responses.size() < 2) {
      a.kind = Answer::Kind::Continue;
      a.challenge = responses.empty() ? "VXNlcm5hbWU6" : "UGFzc3dvcmQ6";
      return a;
    }
    return check(responses[0], responses[1]);
  }
  static Answer check(const std::string& user, const std::string& password) {
    Answer a;
    a.user = user;
    if (user == "down") {
      a.kind = Answer::Kind::TemporaryFailure;
      a.reason = "Internal error";
    } else if (user == "alice" && password == "secret") {
      a.kind = Answer::Kind::Success;
    } else {
      a.kind = Answer::Kind::Failure;
    }
    return a;
  }
};

std::string describe(const Action& a) {
  if (const auto* r = std::get_if<SendReply>(&a)) return "S:" + r->text.substr(0, r->text.size() - 2);
  if (const auto* l = std::get_if<LogLine>(&a)) return "L:" + l->text;
  if (const auto* s = std::get_if<SaslStep>(&a)) {
    return "U:" + s->mechanism + (s->first ? " first" : "") +
           (s->response ? " [" + *s->response + "]" : "");
  }
  if (std::holds_alternative<SaslAbort>(a)) return "U:abort";
  if (const auto* c = std::get_if<CheckPolicy>(&a)) return "R:" + c->facts.recipient;
  if (std::holds_alternative<Close>(a)) return "Q";
  if (const auto* d = std::get_if<Delay>(&a)) return "D:" + std::to_string(d->milliseconds);
  if (std::holds_alternative<StartTls>(a)) return "T";
  return "other";
}

struct AuthSetup {
  SessionSettings settings;
  std::optional<std::vector<std::string>> mechanisms = std::vector<std::string>{"PLAIN", "LOGIN"};
  std::optional<std::vector<std::string>> tls_mechanisms = std::vector<std::string>{"PLAIN", "LOGIN"};
  AuthSetup() { settings.sasl_enabled = true; }
};

struct Outcome {
  Transcript transcript;
  std::string user, method, mail_auth, protocol;
};

Outcome run(const AuthSetup& setup, const std::vector<std::string>& segments, size_t fragment) {
  ServerSession s(setup.settings, ClientInfo{"192.0.2.7", "unknown", 4242});
  s.set_sasl_mechanisms(setup.mechanisms);
  ScriptedServer server;
  Outcome o;
  bool tls_pending = false;
  std::function<void(std::vector<Action>)> take = [&](std::vector<Action> actions) {
    for (const Action& a : actions) {
      o.transcript.push_back(describe(a));
      if (std::holds_alternative<StartTls>(a)) tls_pending = true;
    }
    if (actions.empty()) return;
    const Action& last = actions.back();
    if (const auto* step = std::get_if<SaslStep>(&last)) {
      EXPECT_TRUE(s.waiting());
      take(s.sasl_answered(server.step(*step)));
    } else if (std::holds_alternative<CheckPolicy>(last)) {
      o.mail_auth = s.mail_auth();
      take(s.policy_decided(PolicyDecision::accept()));
    }
  };
  take(s.start());
  for (const std::string& segment : segments) {
    for (size_t pos = 0; pos < segment.size(); pos += fragment) {
      take(s.feed(std::string_view(segment).substr(pos, fragment)));
    }
    if (tls_pending) {
      tls_pending = false;
      take(s.tls_done(true));
      s.set_sasl_mechanisms(setup.tls_mechanisms);
    }
  }
  o.transcript.push_back("stats:" + s.command_stats());
  o.user = s.sasl_username();
  o.method = s.sasl_method();
  o.protocol = s.protocol();
  return o;
}

Outcome converse(const AuthSetup& setup, const std::vector<std::string>& segments) {
  size_t total = 0;
  for (const auto& seg : segments) total += seg.size();
  Outcome whole = run(setup, segments, std::max<size_t>(total, 1));
  for (size_t fragment : {1, 2, 3, 5, 7, 64}) {
    Outcome part = run(setup, segments, fragment);
    EXPECT_EQ(part.transcript, whole.transcript) << "fragment size " << fragment;
    EXPECT_EQ(part.user, whole.user);
  }
  return whole;
}

Outcome converse(const std::string& client, const AuthSetup& setup = {}) {
  return converse(setup, std::vector<std::string>{client});
}

std::vector<std::string> replies(const Transcript& t) {
  std::vector<std::string> out;
  for (const std::string& s : t) {
    if (s.rfind("S:", 0) == 0) out.push_back(s.substr(2));
  }
  return out;
}

bool contains(const Transcript& t, const std::string& item) {
  return std::find(t.begin(), t.end(), item) != t.end();
}

TEST(SessionAuth, PlainWithInitialResponse) {
  Outcome o = converse("EHLO c\r\nAUTH PLAIN " + kPlainOk + "\r\nMAIL FROM:<a@b> AUTH=<>\r\n"
                       "RCPT TO:<x@y>\r\nQUIT\r\n");
  EXPECT_TRUE(contains(o.transcript, "U:PLAIN first [" + kPlainOk + "]"));
  EXPECT_TRUE(contains(o.transcript, "S:235 2.7.0 Authentication successful"));
  EXPECT_NE(replies(o.transcript)[1].find("\r\n250-AUTH PLAIN LOGIN\r\n"), std::string::npos);
  EXPECT_EQ(o.user, "alice");
  EXPECT_EQ(o.method, "PLAIN");
  EXPECT_EQ(o.mail_auth, "<>");
  EXPECT_EQ(o.protocol, "ESMTPA");
  EXPECT_EQ(o.transcript.back(), "stats:ehlo=1 auth=1 mail=1 rcpt=1 quit=1 commands=5");
}

TEST(SessionAuth, PlainWithEmptyInitialResponseThenChallenge) {
  Outcome o = converse("EHLO c\r\nAUTH PLAIN =\r\n" + kPlainOk + "\r\nNOOP\r\n");
  EXPECT_EQ(replies(o.transcript)[2], "334 ");
  EXPECT_EQ(replies(o.transcript)[3], "235 2.7.0 Authentication successful");
  EXPECT_TRUE(contains(o.transcript, "U:PLAIN first []"));
  EXPECT_TRUE(contains(o.transcript, "U:PLAIN [" + kPlainOk + "]"));
  o = converse("EHLO c\r\nAUTH PLAIN\r\n" + kPlainOk + "\r\nNOOP\r\n");
  EXPECT_TRUE(contains(o.transcript, "U:PLAIN first"));
  EXPECT_EQ(o.user, "alice");
}

TEST(SessionAuth, LoginExchange) {
  Outcome o = converse("EHLO c\r\nAUTH login\r\n" + base64_encode("alice") + "\r\n" +
                       base64_encode("secret") + "\r\nMAIL FROM:<a@b> AUTH=alice+40b\r\n"
                       "RCPT TO:<x@y>\r\n");
  const std::vector<std::string> r = replies(o.transcript);
  ASSERT_GE(r.size(), 7u);
  EXPECT_EQ(r[2], "334 VXNlcm5hbWU6");
  EXPECT_EQ(r[3], "334 UGFzc3dvcmQ6");
  EXPECT_EQ(r[4], "235 2.7.0 Authentication successful");
  EXPECT_EQ(o.method, "LOGIN");
  EXPECT_EQ(o.mail_auth, "alice@b");
}

TEST(SessionAuth, WrongPasswordIsAnErrorAndLogged) {
  Outcome o = converse("EHLO c\r\nAUTH PLAIN " + kPlainBad + "\r\nAUTH PLAIN " + kPlainOk +
                       "\r\n");
  EXPECT_TRUE(contains(o.transcript,
                       "S:535 5.7.8 Error: authentication failed: authentication failure"));
  EXPECT_TRUE(contains(o.transcript,
                       "L:warning: unknown[192.0.2.7]: SASL PLAIN authentication failed: "
                       "authentication failure, sasl_username=alice"));
  EXPECT_EQ(o.user, "alice");  // the second attempt succeeded
  EXPECT_EQ(o.transcript.back(), "stats:ehlo=1 auth=1/2 commands=2/3");
}

TEST(SessionAuth, TemporaryFailure) {
  Outcome o = converse("EHLO c\r\nAUTH PLAIN " + kPlainDown + "\r\n");
  EXPECT_TRUE(contains(o.transcript, "S:454 4.7.0 Temporary authentication failure: Internal error"));
  EXPECT_EQ(o.user, "");
}

TEST(SessionAuth, CancelAndUndecodableResponse) {
  Outcome o = converse("EHLO c\r\nAUTH LOGIN\r\n*\r\nAUTH LOGIN\r\nnot base64!\r\nNOOP\r\n");
  const std::vector<std::string> r = replies(o.transcript);
  EXPECT_EQ(r, (std::vector<std::string>{
                   "220 localhost ESMTP Estafeta", r[1], "334 VXNlcm5hbWU6",
                   "501 5.7.0 Authentication aborted", "334 VXNlcm5hbWU6",
                   "501 5.5.2 Cannot decode response", "250 2.0.0 Ok"}));
  EXPECT_TRUE(contains(o.transcript, "U:abort"));
  EXPECT_TRUE(contains(o.transcript,
                       "L:warning: unknown[192.0.2.7]: SASL LOGIN authentication aborted"));
  EXPECT_EQ(o.user, "");
  // An undecodable initial response never reaches the server.
  o = converse("EHLO c\r\nAUTH PLAIN %%%%\r\n");
  EXPECT_EQ(replies(o.transcript).back(), "501 5.5.2 Cannot decode response");
  EXPECT_FALSE(contains(o.transcript, "U:PLAIN first"));
}

TEST(SessionAuth, Refusals) {
  AuthSetup disabled;
  disabled.settings.sasl_enabled = false;
  EXPECT_EQ(replies(converse("EHLO c\r\nAUTH PLAIN\r\n", disabled).transcript).back(),
            "503 5.5.1 Error: authentication not enabled");
  EXPECT_EQ(replies(converse("EHLO c\r\n", disabled).transcript)[1].find("AUTH"),
            std::string::npos);
  AuthSetup helo_required;
  helo_required.settings.helo_required = true;
  EXPECT_EQ(replies(converse("AUTH PLAIN\r\n", helo_required).transcript).back(),
            "503 5.5.1 Error: send HELO/EHLO first");
  EXPECT_EQ(replies(converse("EHLO c\r\nMAIL FROM:<a@b>\r\nAUTH PLAIN\r\n").transcript).back(),
            "503 5.5.1 Error: MAIL transaction in progress");
  EXPECT_EQ(replies(converse("EHLO c\r\nAUTH PLAIN " + kPlainOk + "\r\nAUTH PLAIN\r\n").transcript)
                .back(),
            "503 5.5.1 Error: already authenticated");
  EXPECT_EQ(replies(converse("EHLO c\r\nAUTH CRAM-MD5\r\n").transcript).back(),
            "504 5.5.4 Unsupported authentication mechanism");
  EXPECT_EQ(replies(converse("EHLO c\r\nAUTH\r\n").transcript).back(),
            "501 5.5.4 Syntax: AUTH mechanism");
  AuthSetup unreachable;
  unreachable.mechanisms.reset();
  Outcome o = converse("EHLO c\r\nAUTH PLAIN\r\n", unreachable);
  EXPECT_EQ(replies(o.transcript).back(),
            "454 4.7.0 Temporary authentication failure: authentication server unavailable");
  EXPECT_EQ(replies(o.transcript)[1].find("AUTH"), std::string::npos);
}

TEST(SessionAuth, MailAuthParameter) {
  // Not authenticated: AUTH=addr is taken as AUTH=<> (RFC 4954 §5).
  EXPECT_EQ(converse("EHLO c\r\nMAIL FROM:<a@b> AUTH=x@y\r\nRCPT TO:<c@d>\r\n").mail_auth, "<>");
  EXPECT_EQ(converse("EHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n").mail_auth, "");
  EXPECT_EQ(replies(converse("EHLO c\r\nMAIL FROM:<a@b> AUTH=\r\n").transcript).back(),
            "501 5.5.4 Bad AUTH parameter syntax");  // the command parser's
  EXPECT_EQ(replies(converse("EHLO c\r\nMAIL FROM:<a@b> AUTH=a+4 \r\n").transcript).back(),
            "501 5.5.4 Bad AUTH parameter value");
  EXPECT_EQ(
      replies(converse("EHLO c\r\nMAIL FROM:<a@b> AUTH=<> AUTH=<>\r\n").transcript).back(),
      "503 5.5.4 Error: multiple AUTH= options");
}

TEST(SessionAuth, TlsOnlyOffersAuthAfterStartTls) {
  AuthSetup setup;
  setup.settings.sasl_tls_only = true;
  setup.settings.starttls_available = true;
  setup.mechanisms = std::vector<std::string>{};  // noplaintext before TLS
  Outcome o = converse(setup, {"EHLO c\r\nAUTH PLAIN " + kPlainOk + "\r\nSTARTTLS\r\n",
                               "EHLO c\r\nAUTH PLAIN " + kPlainOk + "\r\n"});
  const std::vector<std::string> r = replies(o.transcript);
  EXPECT_EQ(r[2], "503 5.5.1 Error: authentication not enabled");
  EXPECT_EQ(r[3], "220 2.0.0 Ready to start TLS");
  EXPECT_NE(r[1].find("250-STARTTLS\r\n250-ENHANCEDSTATUSCODES"), std::string::npos);
  EXPECT_NE(r[4].find("250-AUTH PLAIN LOGIN\r\n"), std::string::npos);
  EXPECT_EQ(r[5], "235 2.7.0 Authentication successful");
  EXPECT_EQ(o.protocol, "ESMTPSA");
}

TEST(SessionAuth, StartTlsForgetsAnEarlierAuthentication) {
  AuthSetup setup;
  setup.settings.starttls_available = true;
  Outcome o = converse(setup, {"EHLO c\r\nAUTH PLAIN " + kPlainOk + "\r\nSTARTTLS\r\n",
                               "EHLO c\r\n"});
  EXPECT_EQ(o.user, "");
  EXPECT_EQ(o.protocol, "ESMTPS");
}

TEST(SessionAuth, BrokenClientsGetTheOldKeywordToo) {
  AuthSetup setup;
  setup.settings.sasl_broken_clients = true;
  Outcome o = converse("EHLO c\r\n", setup);
  EXPECT_NE(replies(o.transcript)[1].find("250-AUTH PLAIN LOGIN\r\n250-AUTH=PLAIN LOGIN\r\n"),
            std::string::npos);
}

TEST(SessionAuth, FailuresCountTowardsTheErrorLimits) {
  AuthSetup setup;
  setup.settings.soft_error_limit = 1;
  setup.settings.error_sleep_ms = 250;
  setup.settings.hard_error_limit = 3;
  std::string client = "EHLO c\r\n";
  for (int i = 0; i < 4; ++i) client += "AUTH PLAIN " + kPlainBad + "\r\n";
  Outcome o = converse(client, setup);
  const std::vector<std::string> r = replies(o.transcript);
  EXPECT_TRUE(contains(o.transcript, "D:250"));
  EXPECT_EQ(r.back(), "421 4.7.0 localhost Error: too many errors");
  EXPECT_TRUE(contains(o.transcript, "Q"));
}

TEST(SessionAuth, PipelinedCommandsWaitForTheAnswer) {
  // A client that pipelines after its AUTH line (RFC 4954 forbids it, some do): the commands
  // are read after the exchange, never as its response.
  Outcome o = converse("EHLO c\r\nAUTH PLAIN " + kPlainOk + "\r\nNOOP\r\nQUIT\r\n");
  EXPECT_EQ(replies(o.transcript),
            (std::vector<std::string>{"220 localhost ESMTP Estafeta", replies(o.transcript)[1],
                                      "235 2.7.0 Authentication successful", "250 2.0.0 Ok",
                                      "221 2.0.0 Bye"}));
}

}  // namespace
}  // namespace estafeta::smtp
