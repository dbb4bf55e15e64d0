// ServerSession conversations. Every conversation runs through converse(), which feeds the
// client bytes at fragment sizes 1, 2, 3, 5, 7, 64 and all at once and requires identical
// Actions (adjacent AppendBody merged), while checking the Action invariants: replies end in
// CRLF, nothing follows Close, at most one CommitMessage per BeginMessage.
#include "smtp/server_session.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace estafeta::smtp {
namespace {

using Transcript = std::vector<std::string>;

struct Driver {
  // Recipients whose local part starts with "bad" are refused like a relay denial; every
  // other stage is accepted.
  std::function<PolicyDecision(const PolicyFacts&)> decide = [](const PolicyFacts& f) {
    const std::string& a = f.recipient;
    if (f.stage == PolicyStage::Rcpt && a.rfind("bad", 0) == 0) {
      return PolicyDecision::refuse("554 5.7.1 <" + a + ">: Relay access denied");
    }
    return PolicyDecision::accept();
  };
  bool commit_ok = true;
  bool tls_ok = true;
  // The answer to CheckStartTls (ask_before_starttls): nullopt lets the STARTTLS go on.
  std::optional<std::string> starttls_refusal;
  // ETRN: sites starting with "no" are not in fast_flush_domains, "down" fails.
  std::function<FlushAnswer(const std::string&)> flush = [](const std::string& site) {
    if (site.rfind("no", 0) == 0) return FlushAnswer::NotAllowed;
    if (site.rfind("down", 0) == 0) return FlushAnswer::Failed;
    return FlushAnswer::Started;
  };
};

std::string describe(const Action& a) {
  struct V {
    std::string operator()(const SendReply& r) { return "S:" + r.text; }
    std::string operator()(const CheckPolicy& r) {
      const PolicyFacts& f = r.facts;
      if (f.stage == PolicyStage::Rcpt) return "R:" + f.recipient;
      return fmt::format("P:{} helo={} mail={} from=<{}> rcpt={} n={} size={} etrn={}",
                         policy_stage_name(f.stage), f.helo, f.have_mail, f.sender, f.recipient,
                         f.recipient_count, f.size, f.etrn_domain);
    }
    std::string operator()(const BeginMessage& b) {
      std::string s = "B:<" + b.envelope.sender + ">";
      for (const auto& r : b.envelope.recipients) s += " <" + r.address + ">";
      for (const auto& h : b.actions.prepend) s += " +" + h;
      return s + " proto=" + b.envelope.protocol + " helo=" + b.envelope.helo +
             " body=" + b.envelope.body_type + (b.envelope.smtputf8 ? " utf8" : "");
    }
    std::string operator()(const AppendBody& b) { return "A:" + b.data; }
    std::string operator()(const CommitMessage& c) {
      return "C:" + c.message_id + " " + std::to_string(c.size) +
             (c.actions.discard ? " discard" : "") + (c.actions.queue.hold ? " hold" : "") +
             (c.actions.queue.redirect.empty() ? "" : " redirect=" + c.actions.queue.redirect);
    }
    std::string operator()(const AbortMessage&) { return "X"; }
    std::string operator()(const StartTls&) { return "T"; }
    std::string operator()(const LogLine& l) { return "L:" + l.text; }
    std::string operator()(const FlushSite& f) { return "F:" + f.site; }
    std::string operator()(const Close&) { return "Q"; }
    std::string operator()(const Delay& d) { return "D:" + std::to_string(d.milliseconds); }
    std::string operator()(const SaslStep& a) { return "U:" + a.mechanism; }
    std::string operator()(const SaslAbort&) { return "U:abort"; }
    std::string operator()(const CheckStartTls&) { return "K"; }
  };
  return std::visit(V{}, a);
}

// Runs one conversation: `segments` are client bytes; a TLS handshake (if StartTls is
// pending) completes between segments.
Transcript run(const SessionSettings& settings, const std::vector<std::string>& segments,
               size_t fragment, const Driver& driver = {}) {
  ServerSession s(settings, ClientInfo{"192.0.2.7", "client.example", 4242});
  Transcript t;
  bool closed = false;
  bool tls_pending = false;
  int open_messages = 0;
  int commits = 0;
  int queue_counter = 0;
  std::function<void(std::vector<Action>)> take = [&](std::vector<Action> actions) {
    for (const Action& a : actions) {
      EXPECT_FALSE(closed) << "action after Close: " << describe(a);
      std::string d = describe(a);
      if (const auto* r = std::get_if<SendReply>(&a)) {
        EXPECT_GE(r->text.size(), 2u);
        EXPECT_EQ(r->text.substr(r->text.size() - 2), "\r\n");
      }
      if (std::holds_alternative<Close>(a)) closed = true;
      if (std::holds_alternative<StartTls>(a)) tls_pending = true;
      if (std::holds_alternative<BeginMessage>(a)) {
        EXPECT_EQ(open_messages, 0);
        ++open_messages;
        commits = 0;
      }
      if (std::holds_alternative<AbortMessage>(a)) open_messages = 0;
      if (std::holds_alternative<CommitMessage>(a)) {
        EXPECT_EQ(++commits, 1) << "two commits for one message";
        open_messages = 0;
      }
      if (!t.empty() && d[0] == 'A' && t.back()[0] == 'A') {
        t.back() += d.substr(2);
      } else {
        t.push_back(d);
      }
    }
    if (actions.empty()) return;
    const Action& last = actions.back();
    if (const auto* c = std::get_if<CheckPolicy>(&last)) {
      EXPECT_TRUE(s.waiting());
      take(s.policy_decided(driver.decide(c->facts)));
    } else if (const auto* f = std::get_if<FlushSite>(&last)) {
      EXPECT_TRUE(s.waiting());
      take(s.flush_decided(driver.flush(f->site)));
    } else if (std::holds_alternative<CheckStartTls>(last)) {
      EXPECT_TRUE(s.waiting());
      take(s.starttls_decided(driver.starttls_refusal));
    } else if (std::holds_alternative<CommitMessage>(last)) {
      EXPECT_TRUE(s.waiting());
      if (driver.commit_ok) {
        take(s.commit_done(Result<std::string>("QID" + std::to_string(++queue_counter))));
      } else {
        take(s.commit_done(Result<std::string>(make_error("disk full"))));
      }
    }
  };
  take(s.start());
  for (const std::string& segment : segments) {
    for (size_t pos = 0; pos < segment.size(); pos += fragment) {
      take(s.feed(std::string_view(segment).substr(pos, fragment)));
    }
    if (tls_pending) {
      tls_pending = false;
      take(s.tls_done(driver.tls_ok));
      EXPECT_EQ(s.tls_active(), driver.tls_ok && !closed);
    }
  }
  t.push_back("stats:" + s.command_stats());
  return t;
}

Transcript converse(const SessionSettings& settings, const std::vector<std::string>& segments,
                    const Driver& driver = {}) {
  size_t total = 0;
  for (const auto& seg : segments) total += seg.size();
  Transcript whole = run(settings, segments, std::max<size_t>(total, 1), driver);
  for (size_t fragment : {1, 2, 3, 5, 7, 64}) {
    EXPECT_EQ(run(settings, segments, fragment, driver), whole) << "fragment size " << fragment;
  }
  return whole;
}

Transcript converse(const std::string& client, const SessionSettings& settings = {}) {
  return converse(settings, std::vector<std::string>{client});
}

// Only the reply lines, without "S:" and the final CRLF.
std::vector<std::string> replies(const Transcript& t) {
  std::vector<std::string> out;
  for (const std::string& s : t) {
    if (s.rfind("S:", 0) == 0) out.push_back(s.substr(2, s.size() - 4));
  }
  return out;
}

bool contains(const Transcript& t, const std::string& item) {
  return std::find(t.begin(), t.end(), item) != t.end();
}

size_t count_prefix(const Transcript& t, const std::string& prefix) {
  size_t n = 0;
  for (const std::string& s : t) n += s.rfind(prefix, 0) == 0;
  return n;
}

const std::string kEhlo =
    "250-localhost\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-ENHANCEDSTATUSCODES\r\n"
    "250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING";

TEST(ServerSession, WholeConversation) {
  Transcript t = converse(
      "EHLO client.example\r\nMAIL FROM:<alice@example.net> BODY=8BITMIME\r\n"
      "RCPT TO:<bob@localhost>\r\nDATA\r\n"
      "Message-ID: <1@example.net>\r\nSubject: hi\r\n\r\n..dot\r\nbody\r\n.\r\nQUIT\r\n");
  const Transcript expected = {
      "S:220 localhost ESMTP Estafeta\r\n",
      "S:" + kEhlo + "\r\n",
      "S:250 2.1.0 Ok\r\n",
      "R:bob@localhost",
      "S:250 2.1.5 Ok\r\n",
      "B:<alice@example.net> <bob@localhost> proto=ESMTP helo=client.example body=8BITMIME",
      "S:354 End data with <CR><LF>.<CR><LF>\r\n",
      "A:Message-ID: <1@example.net>\r\nSubject: hi\r\n\r\n.dot\r\nbody\r\n",
      "C:<1@example.net> 56",
      "S:250 2.0.0 Ok: queued as QID1\r\n",
      "S:221 2.0.0 Bye\r\n",
      "Q",
      "stats:ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5",
  };
  EXPECT_EQ(t, expected);
}

TEST(ServerSession, PipelinedMessagesAndRejectedRecipient) {
  Transcript t = converse(
      "HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<bad@x.example>\r\nRCPT TO:<ok@x.example>\r\n"
      "DATA\r\na\r\n.\r\nMAIL FROM:<s@x.example>\r\nRCPT TO:<bad@x.example>\r\nDATA\r\n"
      "RSET\r\nNOOP\r\nQUIT\r\n");
  EXPECT_EQ(replies(t), (std::vector<std::string>{
                            "220 localhost ESMTP Estafeta", "250 localhost", "250 2.1.0 Ok",
                            "554 5.7.1 <bad@x.example>: Relay access denied", "250 2.1.5 Ok",
                            "354 End data with <CR><LF>.<CR><LF>", "250 2.0.0 Ok: queued as QID1",
                            "250 2.1.0 Ok", "554 5.7.1 <bad@x.example>: Relay access denied",
                            "554 5.5.1 Error: no valid recipients", "250 2.0.0 Ok",
                            "250 2.0.0 Ok", "221 2.0.0 Bye"}));
  EXPECT_TRUE(contains(t,
                       "L:NOQUEUE: reject: RCPT from client.example[192.0.2.7]: 554 5.7.1 "
                       "<bad@x.example>: Relay access denied; from=<> to=<bad@x.example> "
                       "proto=SMTP helo=<c>"));
  EXPECT_TRUE(contains(t, "B:<> <ok@x.example> proto=SMTP helo=c body="));
  EXPECT_EQ(t.back(),
            "stats:helo=1 mail=2 rcpt=1/3 data=1/2 rset=1 noop=1 quit=1 commands=8/11");
}

TEST(ServerSession, SequenceAndSyntaxReplies) {
  struct Case {
    std::string client;
    std::string reply;  // the reply to the last line
  };
  const std::string mail = "EHLO c\r\nMAIL FROM:<a@b.example>\r\n";
  const Case cases[] = {
      {"RCPT TO:<a@b.example>\r\n", "503 5.5.1 Error: need MAIL command"},
      {"DATA\r\n", "503 5.5.1 Error: need RCPT command"},
      {mail + "DATA\r\n", "554 5.5.1 Error: no valid recipients"},
      {mail + "MAIL FROM:<a@b.example>\r\n", "503 5.5.1 Error: nested MAIL command"},
      {"MAIL FROM:<a@@b>\r\n", "501 5.1.7 Bad sender address syntax"},
      {mail + "RCPT TO:<>\r\n", "501 5.1.3 Bad recipient address syntax"},
      {mail + "RCPT TO:<a b@c>\r\n", "501 5.1.3 Bad recipient address syntax"},
      {"MAIL FROM <a@b>\r\n", "501 5.5.4 Syntax: MAIL FROM:<address>"},
      {"MAIL FROM:<a@b.example> FOO=1\r\n", "555 5.5.4 Unsupported option: FOO"},
      {mail + "RCPT TO:<a@b.example> FOO\r\n", "555 5.5.4 Unsupported option: FOO"},
      {"MAIL FROM:<j\xc3\xb6@b.example>\r\n",
       "553 5.6.7 Must declare SMTPUTF8 to send unicode address"},
      {mail + "RCPT TO:<j\xc3\xb6@b.example>\r\n",
       "553 5.6.7 Must declare SMTPUTF8 to send unicode address"},
      {"MAIL FROM:<j\xc3\xb6@b.example> SMTPUTF8\r\n", "250 2.1.0 Ok"},
      {"MAIL FROM:<a@b.example> SIZE=10240001\r\n", "552 5.3.4 Message size exceeds fixed limit"},
      {"MAIL FROM:<a@b.example> SIZE=10240000\r\n", "250 2.1.0 Ok"},
      {"XYZZY\r\n", "502 5.5.2 Error: command not recognized"},
      {"EXPN list\r\n", "502 5.5.2 Error: command not recognized"},
      {"AUTH PLAIN\r\n", "503 5.5.1 Error: authentication not enabled"},
      {"\r\n", "500 5.5.2 Error: bad syntax"},
      {"STARTTLS\r\n", "502 5.5.1 Error: command not implemented"},
      {"VRFY bob\r\n", "252 2.5.2 Cannot VRFY user; try RCPT to attempt delivery"},
      {"HELP\r\n",
       "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP VRFY HELP QUIT"},
      {"EHLO\r\n", "501 5.5.4 Syntax: EHLO hostname"},
      {"RSET\r\n", "250 2.0.0 Ok"},
      {"NOOP\r\n", "250 2.0.0 Ok"},
      {"HELO there\r\n", "250 localhost"},
      {"MAIL FROM:<@r.example:a@b.example>\r\n", "250 2.1.0 Ok"},
      {"MAIL FROM:a@b.example\r\n", "250 2.1.0 Ok"},
  };
  for (const Case& c : cases) {
    Transcript t = converse(c.client);
    ASSERT_FALSE(replies(t).empty());
    EXPECT_EQ(replies(t).back(), c.reply) << c.client;
  }
}

TEST(ServerSession, HeloRequiredAndVrfyEnabled) {
  SessionSettings s;
  s.helo_required = true;
  s.vrfy_enabled = true;
  Transcript t = converse(
      "MAIL FROM:<a@b.example>\r\nVRFY <bob@x.example>\r\nVRFY bob@x.example\r\nVRFY a@@b\r\n",
      s);
  EXPECT_EQ(replies(t), (std::vector<std::string>{
                            "220 localhost ESMTP Estafeta", "503 5.5.1 Error: send HELO/EHLO first",
                            "252 2.0.0 <bob@x.example>", "252 2.0.0 <bob@x.example>",
                            "501 5.1.3 Bad recipient address syntax"}));
  Transcript e = converse("EHLO c\r\n", s);
  EXPECT_NE(replies(e).back().find("250-VRFY\r\n"), std::string::npos);
}

TEST(ServerSession, Etrn) {
  // Pipelined after the ETRN: the session waits for the edge's answer, then goes on.
  Transcript t = converse(
      "ETRN example.org\r\nEHLO c\r\nETRN\r\nETRN a b\r\nETRN #queue\r\nETRN bad..name\r\n"
      "ETRN Example.ORG\r\nETRN @sub.example\r\nETRN no.example\r\nETRN down.example\r\n"
      "MAIL FROM:<a@b.example>\r\nETRN example.org\r\nRSET\r\nETRN example.org\r\n");
  const std::vector<std::string> r = replies(t);
  ASSERT_EQ(r.size(), 15u);
  EXPECT_EQ(
      std::vector<std::string>(r.begin() + 3, r.end()),
      (std::vector<std::string>{
          "501 5.5.4 Syntax: ETRN domain", "501 5.5.4 Syntax: ETRN domain",
          "458 4.3.0 Unable to queue messages for node #queue",
          "501 5.5.4 Error: invalid parameter syntax", "250 Queuing for node example.org started",
          "250 Queuing for node sub.example started", "459 4.3.0 <no.example>: service unavailable",
          "458 4.3.0 Unable to queue messages for node down.example", "250 2.1.0 Ok",
          "503 5.5.1 Error: MAIL transaction in progress", "250 2.0.0 Ok",
          "250 Queuing for node example.org started"}));
  EXPECT_EQ(r[0], "220 localhost ESMTP Estafeta");
  EXPECT_EQ(r[1], "503 5.5.1 Error: send HELO/EHLO first");
  EXPECT_EQ(count_prefix(t, "F:"), 5u);
  EXPECT_TRUE(contains(t, "F:example.org"));  // lower-cased
  EXPECT_NE(t.back().find(" etrn=3/11 "), std::string::npos) << t.back();

  // ETRN is listed in EHLO only when the edge says so (fast_flush_domains set).
  EXPECT_EQ(replies(converse("EHLO c\r\n")).back().find("ETRN"), std::string::npos);
  SessionSettings s;
  s.etrn_advertised = true;
  EXPECT_NE(replies(converse("EHLO c\r\n", s)).back().find("250-ETRN\r\n"), std::string::npos);
}

TEST(ServerSession, NonSmtpCommandHangsUp) {
  Transcript t = converse("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(replies(t).back(), "221 2.7.0 Error: I can break rules, too. Goodbye.");
  EXPECT_EQ(t[t.size() - 2], "Q");
}

TEST(ServerSession, StartTlsDiscardsPipelinedPlaintext) {
  SessionSettings s;
  s.starttls_available = true;
  Transcript t = converse(
      s, {"EHLO c\r\nSTARTTLS\r\nMAIL FROM:<evil@x.example>\r\nRCPT TO:<evil@x.example>\r\n",
          "MAIL FROM:<a@b.example>\r\nEHLO c2\r\nMAIL FROM:<a@b.example>\r\nQUIT\r\n"});
  std::vector<std::string> r = replies(t);
  ASSERT_EQ(r.size(), 7u);
  EXPECT_NE(r[1].find("250-STARTTLS\r\n"), std::string::npos);
  EXPECT_EQ(r[2], "220 2.0.0 Ready to start TLS");
  EXPECT_EQ(r[3], "250 2.1.0 Ok");  // MAIL after TLS: allowed without HELO by default
  EXPECT_EQ(r[4].find("250-STARTTLS"), std::string::npos);  // EHLO after TLS: not offered
  EXPECT_EQ(r[5], "250 2.1.0 Ok");
  EXPECT_EQ(r[6], "221 2.0.0 Bye");
  EXPECT_EQ(count_prefix(t, "R:"), 0u);  // the injected RCPT never reached policy
  EXPECT_TRUE(contains(t, "L:improper command pipelining after STARTTLS from "
                          "client.example[192.0.2.7]"));
  EXPECT_TRUE(contains(t, "T"));
}

TEST(ServerSession, StartTlsResetsHeloAndProtocol) {
  SessionSettings s;
  s.starttls_available = true;
  s.helo_required = true;
  s.tls_required = true;
  Transcript t = converse(
      s, {"EHLO c\r\nMAIL FROM:<a@b.example>\r\nSTARTTLS\r\n",
          "MAIL FROM:<a@b.example>\r\nEHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<r@x>\r\n"
          "DATA\r\nx\r\n.\r\nSTARTTLS\r\n"});
  std::vector<std::string> r = replies(t);
  EXPECT_EQ(r[2], "530 5.7.0 Must issue a STARTTLS command first");
  EXPECT_EQ(r[4], "503 5.5.1 Error: send HELO/EHLO first");
  EXPECT_TRUE(contains(t, "B:<a@b.example> <r@x> proto=ESMTPS helo=c body="));
  EXPECT_EQ(r.back(), "554 5.5.1 Error: TLS already active");
}

TEST(ServerSession, StartTlsInTransactionAndFailedHandshake) {
  SessionSettings s;
  s.starttls_available = true;
  Transcript t = converse("EHLO c\r\nMAIL FROM:<a@b.example>\r\nSTARTTLS\r\n", s);
  EXPECT_EQ(replies(t).back(), "503 5.5.1 Error: MAIL transaction in progress");
  Driver d;
  d.tls_ok = false;
  Transcript f = converse(s, {"STARTTLS\r\n", "NOOP\r\n"}, d);
  EXPECT_EQ(f[f.size() - 2], "Q");
  EXPECT_EQ(replies(f).back(), "220 2.0.0 Ready to start TLS");
}

TEST(ServerSession, StartTlsAskedBeforeItsReply) {
  SessionSettings s;
  s.starttls_available = true;
  s.ask_before_starttls = true;
  Transcript t = converse(
      s, {"EHLO c\r\nSTARTTLS\r\nMAIL FROM:<evil@x.example>\r\n", "EHLO c2\r\nQUIT\r\n"});
  std::vector<std::string> r = replies(t);
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(r[2], "220 2.0.0 Ready to start TLS");
  EXPECT_EQ(r[4], "221 2.0.0 Bye");
  auto at = [&](const std::string& item) { return std::find(t.begin(), t.end(), item); };
  ASSERT_NE(at("K"), t.end());
  EXPECT_LT(at("K"), at("S:220 2.0.0 Ready to start TLS\r\n"));
  EXPECT_LT(at("S:220 2.0.0 Ready to start TLS\r\n"), at("T"));
  // What was pipelined after STARTTLS is dropped, as without the check.
  EXPECT_TRUE(contains(t, "L:improper command pipelining after STARTTLS from "
                          "client.example[192.0.2.7]"));
  EXPECT_EQ(t.back(), "stats:ehlo=2 starttls=1 quit=1 commands=4");
}

TEST(ServerSession, StartTlsRefusedBeforeTheHandshakeGoesOnInClear) {
  SessionSettings s;
  s.starttls_available = true;
  s.ask_before_starttls = true;
  Driver d;
  d.starttls_refusal =
      "454 4.7.0 Error: too many new TLS sessions from client.example[192.0.2.7]";
  Transcript t = converse(
      s, {"EHLO c\r\nSTARTTLS\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<r@x.example>\r\n",
          "EHLO c2\r\nQUIT\r\n"},
      d);
  std::vector<std::string> r = replies(t);
  ASSERT_EQ(r.size(), 7u);
  EXPECT_EQ(r[2], *d.starttls_refusal);
  EXPECT_EQ(r[3], "250 2.1.0 Ok");  // the pipelined commands are read, in clear
  EXPECT_EQ(r[4], "250 2.1.5 Ok");
  EXPECT_NE(r[5].find("250-STARTTLS\r\n"), std::string::npos);  // still offered
  EXPECT_EQ(r[6], "221 2.0.0 Bye");
  EXPECT_TRUE(contains(t, "K"));
  EXPECT_FALSE(contains(t, "T"));
  EXPECT_EQ(count_prefix(t, "L:improper"), 0u);
  EXPECT_EQ(t.back(), "stats:ehlo=2 starttls=0/1 mail=1 rcpt=1 quit=1 commands=5/6");
}

TEST(ServerSession, Bdat) {
  Transcript t = converse(
      "EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<r@x.example>\r\n"
      "BDAT 21\r\nMessage-ID: <b@x>\r\n\r\n"
      "BDAT 17 LAST\r\n.\r\nMAIL FROM:<>\r\n"
      "DATA\r\nBDAT 3\r\nabcBDAT 0 LAST\r\nQUIT\r\n");
  EXPECT_EQ(replies(t), (std::vector<std::string>{
                            "220 localhost ESMTP Estafeta", kEhlo, "250 2.1.0 Ok", "250 2.1.5 Ok",
                            "250 2.0.0 Ok: 21 octets received", "250 2.0.0 Ok: queued as QID1",
                            "503 5.5.1 Error: need RCPT command",
                            "503 5.5.1 Error: need MAIL command",
                            "503 5.5.1 Error: need MAIL command", "221 2.0.0 Bye"}));
  EXPECT_TRUE(contains(t, "A:Message-ID: <b@x>\r\n\r\n"));
  EXPECT_TRUE(contains(t, "A:.\r\nMAIL FROM:<>\r\n"));
  EXPECT_TRUE(contains(t, "C:<b@x> 38"));
  EXPECT_EQ(t.back(), "stats:ehlo=1 mail=1 rcpt=1 data=0/1 bdat=2/4 quit=1 commands=6/9");
}

TEST(ServerSession, BdatZeroLastAndNoMixing) {
  Transcript t = converse(
      "EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<r@x.example>\r\nBDAT 0 LAST\r\n"
      "MAIL FROM:<a@b.example>\r\nRCPT TO:<r@x.example>\r\nBDAT 2\r\nhiDATA\r\nRSET\r\n"
      "MAIL FROM:<a@b.example>\r\nRCPT TO:<bad@x.example>\r\nBDAT 2 LAST\r\nhi");
  std::vector<std::string> r = replies(t);
  EXPECT_EQ(r[4], "250 2.0.0 Ok: queued as QID1");
  EXPECT_TRUE(contains(t, "C: 0"));
  EXPECT_EQ(r[8], "503 5.5.1 Error: DATA after BDAT");
  EXPECT_EQ(r[9], "250 2.0.0 Ok");
  EXPECT_EQ(r.back(), "554 5.5.1 Error: no valid recipients");
  EXPECT_EQ(count_prefix(t, "X"), 1u);  // RSET aborted the open BDAT message
}

// All message content of a transcript (AppendBody items split by replies, e.g. BDAT).
std::string body_of(const Transcript& t) {
  std::string body;
  for (const std::string& item : t) {
    if (item.rfind("A:", 0) == 0) body += item.substr(2);
  }
  return body;
}

SessionSettings with_mode(BareNewlineMode mode, int reject_code = 550) {
  SessionSettings s;
  s.bare_newline = mode;
  s.bare_newline_reject_code = reject_code;
  return s;
}

// smtpd_forbid_bare_newline in BDAT content: normalize stores CRLF, reject refuses at the
// end of the chunk that held the bare LF (Postfix), no keeps the bytes.
TEST(ServerSession, BdatBareNewline) {
  const std::string head = "EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<r@x.example>\r\n";
  auto two_chunks = [&](const std::string& a, const std::string& b) {
    return head + "BDAT " + std::to_string(a.size()) + "\r\n" + a + "BDAT " +
           std::to_string(b.size()) + " LAST\r\n" + b + "NOOP\r\n";
  };
  struct Case {
    std::string name;
    BareNewlineMode mode;
    std::string a, b;
    std::string content;  // committed content; empty: refused
  };
  using M = BareNewlineMode;
  const Case cases[] = {
      {"normalize lf", M::Normalize, "a\n", "b\r\n", "a\r\nb\r\n"},
      {"normalize cr and lf split", M::Normalize, "a\r", "\nb\r\n", "a\r\nb\r\n"},
      {"normalize bare cr", M::Normalize, "a\r", "b\r\r\n", "a b\r\n"},
      {"normalize trailing cr", M::Normalize, "a\n", "b\r", "a\r\nb "},
      {"normalize dot line is content", M::Normalize, "a\n.\n", "b", "a\r\n.\r\nb"},
      {"note", M::Note, "a\n", "b\r\n", "a\r\nb\r\n"},
      {"reject split crlf", M::Reject, "a\r", "\nb\r\n", "a\r\nb\r\n"},
      {"reject bare cr", M::Reject, "a\r", "b\r\n", "a b\r\n"},
      {"no", M::No, "a\n", "b\r", "a\nb\r"},
  };
  for (const Case& c : cases) {
    Transcript t = converse(with_mode(c.mode), {two_chunks(c.a, c.b)});
    EXPECT_EQ(body_of(t), c.content) << c.name;
    EXPECT_TRUE(contains(t, "C: " + std::to_string(c.content.size()))) << c.name;
    EXPECT_EQ(replies(t).back(), "250 2.0.0 Ok") << c.name;
  }

  // reject: refused at the end of the first chunk; the second is read and dropped.
  Transcript t = converse(with_mode(M::Reject), {two_chunks("a\nb", "c\r\n")});
  std::vector<std::string> r = replies(t);
  EXPECT_EQ(r[r.size() - 3], "550 5.5.2 localhost Error: bare <LF> received");
  EXPECT_EQ(r[r.size() - 2], "503 5.5.1 Error: need MAIL command");
  EXPECT_EQ(r.back(), "250 2.0.0 Ok");
  EXPECT_EQ(count_prefix(t, "C:"), 0u);
  EXPECT_EQ(count_prefix(t, "X"), 1u);
  EXPECT_TRUE(contains(t, "L:NOQUEUE: reject: BDAT from client.example[192.0.2.7]: bare <LF> "
                          "received; from=<a@b.example> to=<r@x.example> proto=ESMTP helo=<c>"));
  // In the LAST chunk, with 521: refused and closed.
  Transcript last = converse(with_mode(M::Reject, 521), {two_chunks("a\r\n", "b\nc")});
  EXPECT_EQ(replies(last).back(), "521 5.5.2 localhost Error: bare <LF> received");
  EXPECT_EQ(last[last.size() - 2], "Q");
  EXPECT_TRUE(contains(last, "L:NOQUEUE: reject: END-OF-MESSAGE from client.example[192.0.2.7]: "
                             "bare <LF> received; from=<a@b.example> to=<r@x.example> "
                             "proto=ESMTP helo=<c>"));
}

// Every end-of-data smuggling variant, followed by a smuggled transaction, in every mode:
// never a second message and never the smuggled RCPT as a command. normalize and no keep the
// carrier message (ended by the smuggled CRLF "." CRLF); reject refuses it if it held a
// bare LF.
TEST(ServerSession, SmugglingVariants) {
  const std::string head =
      "EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<r@x.example>\r\nDATA\r\nline\r\nx";
  const std::string inject = "MAIL FROM:<evil@x.example>\r\nRCPT TO:<victim@x.example>\r\n"
                             "DATA\r\nforged\r\n.\r\n";
  const std::string variants[] = {"\n.\n", "\r.\r\n", "\n.\r\n", "\r\n.\n", "\r\n.\r",
                                  "\r.\r", "\n.\r",   "\r.\n",   "\n\n.\n\n"};
  using M = BareNewlineMode;
  for (const std::string& v : variants) {
    bool bare = false;
    for (size_t i = 0; i < v.size(); ++i) bare |= v[i] == '\n' && (i == 0 || v[i - 1] != '\r');
    const std::string client = head + v + inject + "end\r\n.\r\nQUIT\r\n";
    for (M mode : {M::Normalize, M::Note, M::Reject, M::No}) {
      Transcript t = converse(with_mode(mode), {client});
      const bool refused = mode == M::Reject && bare;
      EXPECT_EQ(count_prefix(t, "B:"), 1u) << v;
      EXPECT_EQ(count_prefix(t, "R:"), 1u) << v;  // the forged RCPT was content
      EXPECT_EQ(count_prefix(t, "C:"), refused ? 0u : 1u) << v;
      std::vector<std::string> r = replies(t);
      ASSERT_GE(r.size(), 4u);
      EXPECT_EQ(r[r.size() - 4], refused ? "550 5.5.2 localhost Error: bare <LF> received"
                                          : "250 2.0.0 Ok: queued as QID1")
          << v << " mode " << int(mode);
      EXPECT_EQ(r.back(), "221 2.0.0 Bye") << v;  // "end" and "." were commands (502)
      if (mode != M::No && !refused) {
        // Stored as CRLF text: every LF ends a CRLF, every CR starts one.
        const std::string body = body_of(t);
        for (size_t i = 0; i < body.size(); ++i) {
          if (body[i] == '\n') {
            EXPECT_TRUE(i > 0 && body[i - 1] == '\r') << v;
          }
          if (body[i] == '\r') {
            EXPECT_TRUE(i + 1 < body.size() && body[i + 1] == '\n') << v;
          }
        }
        EXPECT_NE(body.find("forged\r\n"), std::string::npos) << v;
      }
    }
  }
}

TEST(ServerSession, DataWithBareNewlinesIsStoredAsCrlf) {
  const std::string client =
      "EHLO c\nMAIL FROM:<a@b.example>\nRCPT TO:<r@x.example>\nDATA\n"
      "Subject: lf\nline one\nline two\r\n..dot\n.\n\n.\r\ntab\r\r\nstray\rcr\r\n.\r\nQUIT\n";
  Transcript t = converse(with_mode(BareNewlineMode::Normalize), {client});
  EXPECT_TRUE(contains(t, "A:Subject: lf\r\nline one\r\nline two\r\n.dot\r\n\r\ntab\r\n"
                          "stray cr\r\n"));
  EXPECT_EQ(replies(t), (std::vector<std::string>{
                            "220 localhost ESMTP Estafeta", kEhlo, "250 2.1.0 Ok",
                            "250 2.1.5 Ok", "354 End data with <CR><LF>.<CR><LF>",
                            "250 2.0.0 Ok: queued as QID1", "221 2.0.0 Bye"}));
  EXPECT_EQ(t.back(), "stats:ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5");
  // note: the same, plus Postfix's notes=bare_lf; only when a bare LF came.
  Transcript note = converse(with_mode(BareNewlineMode::Note), {client});
  EXPECT_EQ(note.back(), "stats:ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5 notes=bare_lf");
  Transcript clean = converse("NOOP\r\n", with_mode(BareNewlineMode::Note));
  EXPECT_EQ(clean.back(), "stats:noop=1 commands=1");
  Transcript in_data =
      converse("HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<r@x>\r\nDATA\r\na\nb\r\n.\r\nQUIT\r\n",
               with_mode(BareNewlineMode::Note));
  EXPECT_EQ(in_data.back(), "stats:helo=1 mail=1 rcpt=1 data=1 quit=1 commands=5 notes=bare_lf");
  // A too long line whose reply ends the session: its end is not judged, whether it had
  // arrived yet or not (found by fuzzing).
  SessionSettings strict = with_mode(BareNewlineMode::Note);
  strict.command_line_limit = 10;
  strict.hard_error_limit = 1;
  Transcript closed = converse("NOOP " + std::string(40, 'x') + "\nNOOP\r\n", strict);
  EXPECT_EQ(closed.back(), "stats:commands=0");
}

// reject: a message with a bare LF is read to its real end, then refused; the session goes
// on (550) or ends (521).
TEST(ServerSession, RejectedMessageContent) {
  const std::string client =
      "EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<r@x.example>\r\nDATA\r\n"
      "Subject: lf\r\n\r\nline one\nline two\r\n.\r\nNOOP\r\n";
  Transcript t = converse(with_mode(BareNewlineMode::Reject), {client});
  std::vector<std::string> r = replies(t);
  EXPECT_EQ(r[r.size() - 2], "550 5.5.2 localhost Error: bare <LF> received");
  EXPECT_EQ(r.back(), "250 2.0.0 Ok");
  EXPECT_EQ(count_prefix(t, "C:"), 0u);
  EXPECT_EQ(count_prefix(t, "X"), 1u);
  EXPECT_TRUE(contains(t, "A:Subject: lf\r\n\r\nline one"));  // nothing after the bare LF
  EXPECT_TRUE(contains(t, "L:NOQUEUE: reject: END-OF-MESSAGE from client.example[192.0.2.7]: "
                          "bare <LF> received; from=<a@b.example> to=<r@x.example> "
                          "proto=ESMTP helo=<c>"));
  EXPECT_EQ(t.back(), "stats:ehlo=1 mail=1 rcpt=1 data=0/1 noop=1 commands=4/5");

  Transcript closed = converse(with_mode(BareNewlineMode::Reject, 521), {client});
  EXPECT_EQ(replies(closed).back(), "521 5.5.2 localhost Error: bare <LF> received");
  EXPECT_EQ(closed[closed.size() - 2], "Q");

  // A message that is too big and has a bare LF gets the bare LF reply (Postfix's order).
  SessionSettings small = with_mode(BareNewlineMode::Reject);
  small.message_size_limit = 8;
  Transcript both = converse(small, {client});
  EXPECT_EQ(replies(both)[replies(both).size() - 2],
            "550 5.5.2 localhost Error: bare <LF> received");
}

TEST(ServerSession, BareNewlineInCommands) {
  using M = BareNewlineMode;
  const std::string lf_client = "EHLO c\nMAIL FROM:<a@b.example>\nRCPT TO:<r@x.example>\n"
                                "NOOP\r\nRSET\nQUIT\n";
  const std::vector<std::string> accepted = {"220 localhost ESMTP Estafeta", kEhlo,
                                             "250 2.1.0 Ok", "250 2.1.5 Ok", "250 2.0.0 Ok",
                                             "250 2.0.0 Ok", "221 2.0.0 Bye"};
  for (M mode : {M::Normalize, M::Note, M::No}) {
    EXPECT_EQ(replies(converse(lf_client, with_mode(mode))), accepted) << int(mode);
  }

  // reject: the first bare LF line is answered with the reject code, then the session ends.
  Transcript t = converse(lf_client, with_mode(M::Reject));
  EXPECT_EQ(replies(t), (std::vector<std::string>{
                            "220 localhost ESMTP Estafeta",
                            "550 5.5.2 localhost Error: bare <LF> received"}));
  EXPECT_EQ(t[t.size() - 2], "Q");
  EXPECT_TRUE(contains(t, "L:NOQUEUE: reject: CONNECT from client.example[192.0.2.7]: bare "
                          "<LF> received; proto=SMTP"));
  EXPECT_EQ(t.back(), "stats:commands=0");
  Transcript later = converse("EHLO c\r\nMAIL FROM:<a@b.example>\n", with_mode(M::Reject, 521));
  EXPECT_EQ(replies(later).back(), "521 5.5.2 localhost Error: bare <LF> received");
  EXPECT_TRUE(contains(later, "L:NOQUEUE: reject: EHLO from client.example[192.0.2.7]: bare "
                              "<LF> received; proto=ESMTP helo=<c>"));
  EXPECT_EQ(later[later.size() - 2], "Q");

  // A bare CR is never refused (Postfix): CRs before the newline go; one inside the line is
  // the parser's business.
  for (M mode : {M::Normalize, M::Reject}) {
    Transcript cr =
        converse("NOOP\r\r\nNOOP\rMAIL FROM:<a@b.example>\r\nQUIT\r\n", with_mode(mode));
    std::vector<std::string> r = replies(cr);
    EXPECT_EQ(r[1], "250 2.0.0 Ok");
    EXPECT_EQ(r[2].substr(0, 1), "5");
    EXPECT_EQ(r.back(), "221 2.0.0 Bye");
  }
}

TEST(ServerSession, MessageSizeLimit) {
  SessionSettings s;
  s.message_size_limit = 10;
  Transcript t = converse(
      "EHLO c\r\nMAIL FROM:<a@b.example> SIZE=11\r\nMAIL FROM:<a@b.example>\r\n"
      "RCPT TO:<r@x.example>\r\nDATA\r\n0123456789abcdef\r\n.\r\nMAIL FROM:<a@b.example>\r\n"
      "RCPT TO:<r@x.example>\r\nDATA\r\n12345678\r\n.\r\n"
      "MAIL FROM:<a@b.example>\r\nRCPT TO:<r@x.example>\r\nBDAT 12\r\n123456789012"
      "BDAT 1 LAST\r\n1NOOP\r\n",
      s);
  std::vector<std::string> r = replies(t);
  EXPECT_NE(r[1].find("250-SIZE 10\r\n"), std::string::npos);
  EXPECT_EQ(r[2], "552 5.3.4 Message size exceeds fixed limit");
  EXPECT_EQ(r[6], "552 5.3.4 Error: message file too big");
  EXPECT_TRUE(contains(t, "A:0123456789"));  // exactly the limit, at every fragmentation
  EXPECT_EQ(r[10], "250 2.0.0 Ok: queued as QID1");
  EXPECT_TRUE(contains(t, "C: 10"));
  EXPECT_EQ(r[13], "552 5.3.4 Error: message file too big");
  EXPECT_EQ(r[14], "503 5.5.1 Error: need MAIL command");  // the LAST chunk is still read
  EXPECT_EQ(r[15], "250 2.0.0 Ok");
  EXPECT_EQ(count_prefix(t, "X"), 2u);
  EXPECT_TRUE(contains(t, "L:NOQUEUE: reject: MAIL from client.example[192.0.2.7]: 552 5.3.4 "
                          "Message size exceeds fixed limit; from=<a@b.example> proto=ESMTP "
                          "helo=<c>"));
  SessionSettings unlimited;
  unlimited.message_size_limit = 0;
  EXPECT_NE(replies(converse("EHLO c\r\n", unlimited)).back().find("250-SIZE\r\n"),
            std::string::npos);
}

TEST(ServerSession, RecipientLimit) {
  SessionSettings s;
  s.recipient_limit = 2;
  Transcript t = converse(
      "HELO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<bad@x>\r\nRCPT TO:<r1@x>\r\n"
      "RCPT TO:<r2@x>\r\nRCPT TO:<r3@x>\r\n",
      s);
  EXPECT_EQ(replies(t).back(), "452 4.5.3 Error: too many recipients");
  EXPECT_EQ(count_prefix(t, "R:"), 3u);
}

TEST(ServerSession, HardErrorLimit) {
  SessionSettings s;
  s.hard_error_limit = 3;
  Transcript t = converse("FOO\r\nNOOP\r\nBAR\r\nRCPT TO:<a@b>\r\nNOOP\r\nNOOP\r\n", s);
  EXPECT_EQ(replies(t), (std::vector<std::string>{
                            "220 localhost ESMTP Estafeta",
                            "502 5.5.2 Error: command not recognized", "250 2.0.0 Ok",
                            "502 5.5.2 Error: command not recognized",
                            "503 5.5.1 Error: need MAIL command",
                            "421 4.7.0 localhost Error: too many errors"}));
  EXPECT_EQ(t[t.size() - 2], "Q");
  EXPECT_TRUE(contains(t, "L:too many errors after RCPT from client.example[192.0.2.7]"));
}

TEST(ServerSession, SoftErrorLimitDelaysEveryLaterReply) {
  SessionSettings s;
  s.soft_error_limit = 2;
  s.error_sleep_ms = 1500;
  Transcript t = converse("FOO\r\nBAR\r\nNOOP\r\nBAZ\r\nNOOP\r\n", s);
  // After two errors the client is at the limit, not beyond it: the NOOP and BAZ replies are
  // on time. BAZ's 502 is the third error, so the last NOOP's reply is held back.
  EXPECT_EQ(replies(t), (std::vector<std::string>{
                            "220 localhost ESMTP Estafeta",
                            "502 5.5.2 Error: command not recognized",
                            "502 5.5.2 Error: command not recognized", "250 2.0.0 Ok",
                            "502 5.5.2 Error: command not recognized", "250 2.0.0 Ok"}));
  EXPECT_EQ(count_prefix(t, "D:"), 1u);
  // The delay comes right before the reply it holds back: the last NOOP's.
  auto delay = std::find(t.begin(), t.end(), "D:1500");
  ASSERT_NE(delay, t.end());
  ASSERT_NE(delay + 1, t.end());
  EXPECT_EQ(*(delay + 1), "S:250 2.0.0 Ok\r\n");
}

TEST(ServerSession, SoftErrorLimitZeroSleepNeverDelays) {
  SessionSettings s;
  s.soft_error_limit = 1;
  s.error_sleep_ms = 0;
  Transcript t = converse("FOO\r\nBAR\r\nBAZ\r\nNOOP\r\n", s);
  EXPECT_EQ(count_prefix(t, "D:"), 0u);
  EXPECT_EQ(replies(t).back(), "250 2.0.0 Ok");
}

TEST(ServerSession, CommandLineLimit) {
  SessionSettings s;
  s.command_line_limit = 20;
  Transcript t = converse("NOOP " + std::string(15, 'x') + "\r\nNOOP " + std::string(16, 'x') +
                              "\r\nNOOP " + std::string(200, 'y') + "\r\nQUIT\r\n",
                          s);
  EXPECT_EQ(replies(t), (std::vector<std::string>{
                            "220 localhost ESMTP Estafeta", "250 2.0.0 Ok",
                            "500 5.5.2 Error: line too long", "500 5.5.2 Error: line too long",
                            "221 2.0.0 Bye"}));
  Transcript bare = converse("NOOP " + std::string(200, 'y') + "\nQUIT\r\n", s);
  EXPECT_EQ(replies(bare).back(), "221 2.0.0 Bye");
  // CRs before the newline are dropped, but the length is judged with only one off, as for
  // a line still unterminated: the same verdict at every fragmentation (found by fuzzing).
  Transcript crs = converse("NOOP" + std::string(40, '\r') + "\nNOOP\r\r\n", s);
  EXPECT_EQ(replies(crs), (std::vector<std::string>{"220 localhost ESMTP Estafeta",
                                                    "500 5.5.2 Error: line too long",
                                                    "250 2.0.0 Ok"}));
  s.bare_newline = BareNewlineMode::Reject;
  Transcript refused = converse("NOOP " + std::string(200, 'y') + "\nQUIT\r\n", s);
  EXPECT_EQ(replies(refused), (std::vector<std::string>{
                                  "220 localhost ESMTP Estafeta", "500 5.5.2 Error: line too long",
                                  "550 5.5.2 localhost Error: bare <LF> received"}));
}

TEST(ServerSession, CommitFailure) {
  Driver d;
  d.commit_ok = false;
  Transcript t = converse(SessionSettings{},
                          {"HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<r@x>\r\nDATA\r\n.\r\nRCPT TO:<r@x>\r\n"},
                          d);
  std::vector<std::string> r = replies(t);
  EXPECT_EQ(r[r.size() - 2], "451 4.3.0 Error: queue file write error");
  EXPECT_EQ(r.back(), "503 5.5.1 Error: need MAIL command");
}

TEST(ServerSession, WaitingBuffersAndResumes) {
  ServerSession s(SessionSettings{}, ClientInfo{"192.0.2.7", "unknown", 1});
  s.start();
  std::vector<Action> a = s.feed("HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<r@x>\r\nNOOP\r\n");
  ASSERT_EQ(a.size(), 3u);
  EXPECT_TRUE(std::holds_alternative<CheckPolicy>(a.back()));
  EXPECT_TRUE(s.waiting());
  EXPECT_TRUE(s.feed("DATA\r\n").empty());
  std::vector<Action> b = s.policy_decided(PolicyDecision::accept());
  ASSERT_EQ(b.size(), 4u);  // 250 2.1.5, 250 NOOP, BeginMessage, 354
  EXPECT_EQ(std::get<SendReply>(b[1]).text, "250 2.0.0 Ok\r\n");
  EXPECT_TRUE(std::holds_alternative<BeginMessage>(b[2]));
  EXPECT_FALSE(s.waiting());
  EXPECT_TRUE(s.policy_decided(PolicyDecision::accept()).empty());  // not waiting: ignored
  std::vector<Action> c = s.timed_out();
  ASSERT_EQ(c.size(), 4u);
  EXPECT_EQ(std::get<LogLine>(c[0]).text, "timeout after DATA from unknown[192.0.2.7]");
  EXPECT_TRUE(std::holds_alternative<AbortMessage>(c[1]));
  EXPECT_EQ(std::get<SendReply>(c[2]).text, "421 4.4.2 localhost Error: timeout exceeded\r\n");
  EXPECT_TRUE(std::holds_alternative<Close>(c[3]));
  EXPECT_TRUE(s.closed());
  EXPECT_TRUE(s.feed("QUIT\r\n").empty());
  EXPECT_TRUE(s.peer_closed().empty());
}

TEST(ServerSession, PeerClosedDuringData) {
  ServerSession s(SessionSettings{}, ClientInfo{"192.0.2.7", "h", 1});
  s.feed("HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<r@x>\r\n");
  s.policy_decided(PolicyDecision::accept());
  s.feed("DATA\r\npartial");
  std::vector<Action> a = s.peer_closed();
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(std::get<LogLine>(a[0]).text, "lost connection after DATA from h[192.0.2.7]");
  EXPECT_TRUE(std::holds_alternative<AbortMessage>(a[1]));
  EXPECT_TRUE(s.closed());
  EXPECT_EQ(s.command_stats(), "helo=1 mail=1 rcpt=1 data=0/1 commands=3/4");
}

TEST(ServerSession, MalformedDecisionReplyIsSanitized) {
  ServerSession s(SessionSettings{}, ClientInfo{"192.0.2.7", "h", 1});
  s.feed("HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<r@x>\r\n");
  std::vector<Action> a = s.policy_decided(PolicyDecision::refuse("250 ok\r\nMAIL FROM:<x>"));
  EXPECT_EQ(std::get<SendReply>(a.back()).text,
            "550 5.7.1 <r@x>: Recipient address rejected\r\n");
}

TEST(ServerSession, ImplicitTlsSession) {
  SessionSettings s;
  s.tls_active = true;
  s.starttls_available = true;
  Transcript t = converse("EHLO c\r\nSTARTTLS\r\nMAIL FROM:<>\r\nRCPT TO:<r@x>\r\nDATA\r\n.\r\n", s);
  EXPECT_EQ(replies(t)[1].find("STARTTLS"), std::string::npos);
  EXPECT_EQ(replies(t)[2], "554 5.5.1 Error: TLS already active");
  EXPECT_TRUE(contains(t, "B:<> <r@x> proto=ESMTPS helo=c body="));
}

// ---- Policy pauses (session_policy.cc) --------------------------------------------------

SessionSettings every_stage_asked() {
  SessionSettings s;
  s.vrfy_enabled = true;
  s.etrn_advertised = true;
  s.policy_stages.ask.fill(true);
  return s;
}

// A driver that refuses one stage with `reply` and accepts every other.
Driver refusing(PolicyStage stage, std::string reply) {
  Driver d;
  d.decide = [stage, reply](const PolicyFacts& f) {
    if (f.stage == stage) return PolicyDecision::refuse(reply);
    return PolicyDecision::accept();
  };
  return d;
}

TEST(ServerSessionPolicy, EveryStageIsAskedWithItsFacts) {
  Transcript t = converse(every_stage_asked(),
                          {"EHLO c.example\r\nMAIL FROM:<s@x> SIZE=42\r\nRCPT TO:<r@y>\r\n"
                           "DATA\r\nhi\r\n.\r\nVRFY v@z\r\nETRN site.example\r\nQUIT\r\n"});
  std::vector<std::string> asked;
  for (const std::string& item : t) {
    if (item.starts_with("P:") || item.starts_with("R:")) asked.push_back(item);
  }
  EXPECT_EQ(asked, (std::vector<std::string>{
                       "P:CONNECT helo= mail=false from=<> rcpt= n=0 size=0 etrn=",
                       "P:HELO helo=c.example mail=false from=<> rcpt= n=0 size=0 etrn=",
                       "P:MAIL helo=c.example mail=true from=<s@x> rcpt= n=0 size=42 etrn=",
                       "R:r@y",
                       "P:DATA helo=c.example mail=true from=<s@x> rcpt= n=1 size=0 etrn=",
                       "P:END-OF-MESSAGE helo=c.example mail=true from=<s@x> rcpt= n=1 size=4 etrn=",
                       "P:VRFY helo=c.example mail=false from=<> rcpt=v@z n=0 size=0 etrn=",
                       "P:ETRN helo=c.example mail=false from=<> rcpt= n=0 size=0 etrn=site.example",
                   }));
  std::vector<std::string> r = replies(t);
  EXPECT_EQ(r.front(), "220 localhost ESMTP Estafeta");
  EXPECT_TRUE(contains(t, "S:250 2.0.0 Ok: queued as QID1\r\n"));
  EXPECT_TRUE(contains(t, "S:252 2.0.0 <v@z>\r\n"));
  EXPECT_TRUE(contains(t, "S:250 Queuing for node site.example started\r\n"));
  EXPECT_EQ(r.back(), "221 2.0.0 Bye");
}

TEST(ServerSessionPolicy, RefusedAtConnectAnswersOnlyQuit) {
  Transcript t = converse(every_stage_asked(), {"EHLO c\r\nMAIL FROM:<>\r\nQUIT\r\n"},
                          refusing(PolicyStage::Connect,
                                   "554 5.7.1 <client.example[192.0.2.7]>: Client host rejected: "
                                   "Access denied"));
  EXPECT_EQ(replies(t), (std::vector<std::string>{
                            "554 5.7.1 <client.example[192.0.2.7]>: Client host rejected: Access "
                            "denied",
                            "503 5.7.0 Error: access denied for client.example[192.0.2.7]",
                            "503 5.7.0 Error: access denied for client.example[192.0.2.7]",
                            "221 2.0.0 Bye"}));
  EXPECT_TRUE(contains(t,
                       "L:NOQUEUE: reject: CONNECT from client.example[192.0.2.7]: 554 5.7.1 "
                       "<client.example[192.0.2.7]>: Client host rejected: Access denied; "
                       "proto=SMTP"));
}

TEST(ServerSessionPolicy, RefusedHeloIsNotTaken) {
  SessionSettings s = every_stage_asked();
  s.helo_required = true;
  Transcript t = converse(s, {"HELO bad.example\r\nMAIL FROM:<>\r\nQUIT\r\n"},
                          refusing(PolicyStage::Helo,
                                   "554 5.7.1 <bad.example>: Helo command rejected: go away"));
  std::vector<std::string> r = replies(t);
  EXPECT_EQ(r[1], "554 5.7.1 <bad.example>: Helo command rejected: go away");
  EXPECT_EQ(r[2], "503 5.5.1 Error: send HELO/EHLO first");
  EXPECT_TRUE(contains(t,
                       "L:NOQUEUE: reject: HELO from client.example[192.0.2.7]: 554 5.7.1 "
                       "<bad.example>: Helo command rejected: go away; proto=SMTP "
                       "helo=<bad.example>"));
}

TEST(ServerSessionPolicy, RefusedMailStartsNoTransaction) {
  Transcript t = converse(every_stage_asked(), {"EHLO c\r\nMAIL FROM:<s@x>\r\nRCPT TO:<r@y>\r\n"},
                          refusing(PolicyStage::Mail,
                                   "553 5.7.1 <s@x>: Sender address rejected: not here"));
  std::vector<std::string> r = replies(t);
  EXPECT_EQ(r[r.size() - 2], "553 5.7.1 <s@x>: Sender address rejected: not here");
  EXPECT_EQ(r.back(), "503 5.5.1 Error: need MAIL command");
  EXPECT_TRUE(contains(t,
                       "L:NOQUEUE: reject: MAIL from client.example[192.0.2.7]: 553 5.7.1 <s@x>: "
                       "Sender address rejected: not here; from=<s@x> proto=ESMTP helo=<c>"));
}

TEST(ServerSessionPolicy, RefusedDataKeepsTheTransaction) {
  Transcript t = converse(every_stage_asked(),
                          {"EHLO c\r\nMAIL FROM:<s@x>\r\nRCPT TO:<r@y>\r\nDATA\r\nRSET\r\n"},
                          refusing(PolicyStage::Data, "554 5.5.1 Error: no thanks"));
  std::vector<std::string> r = replies(t);
  EXPECT_EQ(r[r.size() - 2], "554 5.5.1 Error: no thanks");
  EXPECT_EQ(r.back(), "250 2.0.0 Ok");
  for (const std::string& item : t) EXPECT_FALSE(item.starts_with("B:")) << item;
}

TEST(ServerSessionPolicy, RefusedFirstBdatChunkIsReadThenRefused) {
  Transcript t = converse(every_stage_asked(),
                          {"EHLO c\r\nMAIL FROM:<s@x>\r\nRCPT TO:<r@y>\r\nBDAT 5\r\nNOOP\r"
                           "NOOP\r\n"},
                          refusing(PolicyStage::Data, "554 5.5.1 Error: no thanks"));
  std::vector<std::string> r = replies(t);
  EXPECT_EQ(r[r.size() - 2], "554 5.5.1 Error: no thanks");  // "NOOP\r" was the chunk
  EXPECT_EQ(r.back(), "250 2.0.0 Ok");                       // then one NOOP
  for (const std::string& item : t) EXPECT_FALSE(item.starts_with("B:")) << item;
}

TEST(ServerSessionPolicy, RefusedAtEndOfDataAbortsTheMessage) {
  Transcript t = converse(every_stage_asked(),
                          {"EHLO c\r\nMAIL FROM:<s@x>\r\nRCPT TO:<r@y>\r\nDATA\r\nhi\r\n.\r\n"
                           "RCPT TO:<r@y>\r\n"},
                          refusing(PolicyStage::EndOfData, "550 5.7.1 Error: content refused"));
  std::vector<std::string> r = replies(t);
  EXPECT_EQ(r[r.size() - 2], "550 5.7.1 Error: content refused");
  EXPECT_EQ(r.back(), "503 5.5.1 Error: need MAIL command");
  EXPECT_TRUE(contains(t, "X"));
  for (const std::string& item : t) EXPECT_FALSE(item.starts_with("C:")) << item;
  EXPECT_TRUE(contains(t,
                       "L:NOQUEUE: reject: END-OF-MESSAGE from client.example[192.0.2.7]: 550 "
                       "5.7.1 Error: content refused; from=<s@x> to=<r@y> proto=ESMTP helo=<c>"));
}

TEST(ServerSessionPolicy, RefusedEtrnAndVrfy) {
  Transcript t = converse(every_stage_asked(), {"EHLO c\r\nETRN site.example\r\n"},
                          refusing(PolicyStage::Etrn, "554 5.7.1 Error: not for you"));
  EXPECT_EQ(replies(t).back(), "554 5.7.1 Error: not for you");
  for (const std::string& item : t) EXPECT_FALSE(item.starts_with("F:")) << item;
  t = converse(every_stage_asked(), {"EHLO c\r\nVRFY v@z\r\n"},
               refusing(PolicyStage::Vrfy, "554 5.7.1 <v@z>: Recipient address rejected"));
  EXPECT_EQ(replies(t).back(), "554 5.7.1 <v@z>: Recipient address rejected");
}

TEST(ServerSessionPolicy, ActionsGoWithTheMessageAndNotesAreLogged) {
  Driver d;
  d.decide = [](const PolicyFacts& f) {
    PolicyDecision decision;
    if (f.stage == PolicyStage::Connect) decision.actions.prepend.push_back("X-Seen: connect");
    if (f.stage == PolicyStage::Rcpt && f.recipient == "h@y") {
      decision.actions.queue.hold = true;
      decision.notes.push_back({"hold", "<h@y>: Recipient address triggers HOLD action"});
    }
    if (f.stage == PolicyStage::EndOfData) decision.actions.queue.redirect = "x@z";
    return decision;
  };
  Transcript t = converse(every_stage_asked(),
                          {"EHLO c\r\nMAIL FROM:<s@x>\r\nRCPT TO:<h@y>\r\nDATA\r\n.\r\n"
                           "MAIL FROM:<s@x>\r\nRCPT TO:<r@y>\r\nRSET\r\nMAIL FROM:<s@x>\r\n"
                           "RCPT TO:<r@y>\r\nDATA\r\n.\r\n"},
                          d);
  std::vector<std::string> begins;
  std::vector<std::string> commits;
  for (const std::string& item : t) {
    if (item.starts_with("B:")) begins.push_back(item);
    if (item.starts_with("C:")) commits.push_back(item);
  }
  ASSERT_EQ(begins.size(), 2u);
  EXPECT_EQ(begins[0], "B:<s@x> <h@y> +X-Seen: connect proto=ESMTP helo=c body=");
  EXPECT_EQ(begins[1], "B:<s@x> <r@y> +X-Seen: connect proto=ESMTP helo=c body=");
  // HOLD was the first transaction's only: RSET and the end of a message forget it.
  EXPECT_EQ(commits, (std::vector<std::string>{"C: 0 hold redirect=x@z", "C: 0 redirect=x@z"}));
  EXPECT_TRUE(contains(t,
                       "L:NOQUEUE: hold: RCPT from client.example[192.0.2.7]: <h@y>: Recipient "
                       "address triggers HOLD action; from=<s@x> to=<h@y> proto=ESMTP helo=<c>"));
}

TEST(ServerSessionPolicy, CommandsSentAheadWithoutPipeliningAreAFact) {
  SessionSettings settings = every_stage_asked();
  ServerSession s(settings, ClientInfo{"192.0.2.7", "h", 1});
  std::vector<Action> a = s.start();
  EXPECT_FALSE(std::get<CheckPolicy>(a.back()).facts.unauth_pipelining);
  s.policy_decided(PolicyDecision::accept());
  a = s.feed("HELO c\r\nMAIL FROM:<>\r\n");  // MAIL before HELO's reply, without PIPELINING
  EXPECT_TRUE(std::get<CheckPolicy>(a.back()).facts.unauth_pipelining);
  ServerSession p(settings, ClientInfo{"192.0.2.7", "h", 1});
  p.start();
  p.policy_decided(PolicyDecision::accept());
  a = p.feed("EHLO c\r\n");
  p.policy_decided(PolicyDecision::accept());
  a = p.feed("MAIL FROM:<>\r\nRCPT TO:<r@y>\r\n");  // after EHLO: allowed
  EXPECT_FALSE(std::get<CheckPolicy>(a.back()).facts.unauth_pipelining);
}

TEST(ServerSessionPolicy, LostConnectionWhileDecidingTheEndOfDataAbortsTheMessage) {
  ServerSession s(every_stage_asked(), ClientInfo{"192.0.2.7", "h", 1});
  s.start();
  s.policy_decided(PolicyDecision::accept());
  std::vector<Action> a = s.feed("EHLO c\r\n");
  s.policy_decided(PolicyDecision::accept());
  s.feed("MAIL FROM:<>\r\n");
  s.policy_decided(PolicyDecision::accept());
  s.feed("RCPT TO:<r@y>\r\n");
  s.policy_decided(PolicyDecision::accept());
  s.feed("DATA\r\n");
  s.policy_decided(PolicyDecision::accept());
  a = s.feed("x\r\n.\r\n");
  ASSERT_EQ(std::get<CheckPolicy>(a.back()).facts.stage, PolicyStage::EndOfData);
  a = s.peer_closed();
  EXPECT_TRUE(std::holds_alternative<AbortMessage>(a.back()));
}

}  // namespace
}  // namespace estafeta::smtp
