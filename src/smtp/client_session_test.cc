// ClientSession conversations. converse() plays the server's side as segments of bytes (each
// segment answers what the client has sent so far) and feeds every segment at fragment
// sizes 1..16, 64 and whole, requiring identical transcripts; it performs the edge's part:
// StartTls -> tls_done(tls_ok), SendContent -> content_sent(), Ready -> the next message
// or quit(). It checks the action invariants: nothing after Close, a pausing action ends its
// batch, one RecipientDone per recipient before MessageDone, sends end in CRLF.
#include "smtp/client_session.h"

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <string>
#include <vector>

namespace estafeta::smtp {
namespace {

using Transcript = std::vector<std::string>;

const char* stage_name(ClientStage s) {
  switch (s) {
    case ClientStage::Greeting:
      return "Greeting";
    case ClientStage::Ehlo:
      return "Ehlo";
    case ClientStage::Helo:
      return "Helo";
    case ClientStage::StartTls:
      return "StartTls";
    case ClientStage::Auth:
      return "Auth";
    case ClientStage::Idle:
      return "Idle";
    case ClientStage::Rset:
      return "Rset";
    case ClientStage::Mail:
      return "Mail";
    case ClientStage::Rcpt:
      return "Rcpt";
    case ClientStage::Data:
      return "Data";
    case ClientStage::Body:
      return "Body";
    case ClientStage::EndOfData:
      return "EndOfData";
    case ClientStage::Quit:
      return "Quit";
    case ClientStage::Closed:
      return "Closed";
  }
  return "?";
}

struct Script {
  ClientSettings settings;
  std::vector<std::string> server;        // segments of server bytes
  std::vector<OutgoingMessage> messages;  // sent one per Ready, then quit()
  bool tls_ok = true;
  bool close_at_end = false;  // peer_closed() after the last segment
};

Transcript run(const Script& script, size_t fragment) {
  ClientSession s(script.settings);
  Transcript t;
  bool closed = false;
  std::deque<OutgoingMessage> messages(script.messages.begin(), script.messages.end());
  std::vector<int> done;  // RecipientDone count per recipient of the current message
  std::function<void(std::vector<ClientAction>)> take = [&](std::vector<ClientAction> batch) {
    std::vector<ClientAction> follow;
    for (size_t i = 0; i < batch.size(); ++i) {
      const ClientAction& a = batch[i];
      EXPECT_FALSE(closed) << "action after Close";
      if (const auto* x = std::get_if<client::Send>(&a)) {
        EXPECT_GE(x->bytes.size(), 2u);
        EXPECT_EQ(x->bytes.substr(x->bytes.size() - 2), "\r\n");
        t.push_back("S:" + x->bytes);
      } else if (std::holds_alternative<client::StartTls>(a)) {
        EXPECT_EQ(i + 1, batch.size());
        t.push_back("T");
        follow = s.tls_done(script.tls_ok);
      } else if (std::holds_alternative<client::SendContent>(a)) {
        EXPECT_EQ(i + 1, batch.size());
        EXPECT_EQ(s.stage(), ClientStage::Body);
        t.push_back("C");
        follow = s.content_sent();
      } else if (const auto* x = std::get_if<client::RecipientDone>(&a)) {
        EXPECT_LT(x->index, done.size());
        if (x->index < done.size()) {
          EXPECT_EQ(++done[x->index], 1);
        }
        t.push_back("R:" + std::to_string(x->index) + " " + stage_name(x->stage) + " " +
                    x->reply.text() + (x->reply.local ? " (local)" : ""));
      } else if (std::holds_alternative<client::MessageDone>(a)) {
        for (int d : done) EXPECT_EQ(d, 1);
        t.push_back("M");
      } else if (std::holds_alternative<client::Ready>(a)) {
        EXPECT_EQ(i + 1, batch.size());
        EXPECT_TRUE(s.idle());
        t.push_back("Y");
        if (!messages.empty()) {
          done.assign(messages.front().recipients.size(), 0);
          follow = s.send_message(std::move(messages.front()));
          messages.pop_front();
        } else {
          follow = s.quit();
        }
      } else if (const auto* x = std::get_if<client::SessionFailed>(&a)) {
        t.push_back(std::string("F:") + stage_name(x->stage) + " " +
                    (x->reply ? x->reply->text() : x->reason));
      } else if (std::holds_alternative<client::Close>(a)) {
        EXPECT_EQ(i + 1, batch.size());
        EXPECT_TRUE(s.closed());
        closed = true;
        t.push_back("Q");
      }
    }
    if (!follow.empty()) take(std::move(follow));
  };
  take(s.start());
  for (const std::string& segment : script.server) {
    for (size_t pos = 0; pos < segment.size(); pos += fragment) {
      take(s.feed(std::string_view(segment).substr(pos, fragment)));
    }
  }
  if (script.close_at_end) take(s.peer_closed());
  return t;
}

Transcript converse(const Script& script) {
  Transcript whole = run(script, 1 << 20);
  std::vector<size_t> sizes = {64};
  for (size_t f = 1; f <= 16; ++f) sizes.push_back(f);
  for (size_t f : sizes) EXPECT_EQ(run(script, f), whole) << "fragment size " << f;
  return whole;
}

constexpr const char* kGreeting = "220 mx.example ESMTP\r\n";
constexpr const char* kEhloPipelining =
    "250-mx.example\r\n250-PIPELINING\r\n250-SIZE 100000\r\n250-8BITMIME\r\n"
    "250-ENHANCEDSTATUSCODES\r\n250 DSN\r\n";
constexpr const char* kEhloPlain = "250-mx.example\r\n250 8BITMIME\r\n";

OutgoingMessage message(std::vector<std::string> rcpts, std::string sender = "s@here.example") {
  OutgoingMessage m;
  m.sender = std::move(sender);
  for (auto& r : rcpts) m.recipients.push_back({std::move(r), "", ""});
  m.size = 1000;
  return m;
}

Script base(std::string ehlo, std::vector<OutgoingMessage> messages) {
  Script s;
  s.settings.helo_name = "out.example";
  s.settings.try_starttls = false;
  s.server = {kGreeting, std::move(ehlo)};
  s.messages = std::move(messages);
  return s;
}

TEST(ClientSession, PipelinedDelivery) {
  Script s = base(kEhloPipelining, {message({"a@x.example", "b@x.example"})});
  s.server.push_back("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n354 go\r\n");
  s.server.push_back("250 2.0.0 Ok: queued as ABC\r\n");
  EXPECT_EQ(converse(s),
            (Transcript{"S:EHLO out.example\r\n", "Y",
                        "S:MAIL FROM:<s@here.example> SIZE=1000\r\nRCPT TO:<a@x.example>\r\n"
                        "RCPT TO:<b@x.example>\r\nDATA\r\n",
                        "C", "R:0 EndOfData 250 2.0.0 Ok: queued as ABC",
                        "R:1 EndOfData 250 2.0.0 Ok: queued as ABC", "M", "Y", "S:QUIT\r\n", "Q"}));
}

TEST(ClientSession, UnpipelinedDeliveryOneCommandPerReply) {
  Script s = base(kEhloPlain, {message({"a@x.example", "b@x.example"})});
  s.server.insert(s.server.end(),
                  {"250 Ok\r\n", "250 Ok\r\n", "250 Ok\r\n", "354 go\r\n", "250 Ok\r\n"});
  EXPECT_EQ(
      converse(s),
      (Transcript{"S:EHLO out.example\r\n", "Y", "S:MAIL FROM:<s@here.example>\r\n",
                  "S:RCPT TO:<a@x.example>\r\n", "S:RCPT TO:<b@x.example>\r\n", "S:DATA\r\n", "C",
                  "R:0 EndOfData 250 Ok", "R:1 EndOfData 250 Ok", "M", "Y", "S:QUIT\r\n", "Q"}));
}

TEST(ClientSession, PipeliningOffButOffered) {
  Script s = base(kEhloPipelining, {message({"a@x.example"})});
  s.settings.pipelining = false;
  s.server.push_back("250 Ok\r\n");
  EXPECT_EQ(converse(s)[2], "S:MAIL FROM:<s@here.example> SIZE=1000\r\n");
}

TEST(ClientSession, PartialRecipientFailure) {
  for (bool pipelined : {true, false}) {
    Script s = base(pipelined ? kEhloPipelining : kEhloPlain,
                    {message({"a@x.example", "bad@x.example", "c@x.example"})});
    if (pipelined) {
      s.server.push_back(
          "250 Ok\r\n250 Ok\r\n550 5.1.1 <bad@x.example>: User unknown\r\n250 Ok\r\n354 go\r\n");
    } else {
      s.server.insert(s.server.end(),
                      {"250 Ok\r\n", "250 Ok\r\n", "550 5.1.1 <bad@x.example>: User unknown\r\n",
                       "250 Ok\r\n", "354 go\r\n"});
    }
    s.server.push_back("250 2.0.0 queued\r\n");
    Transcript t = converse(s);
    Transcript outcome;
    for (const auto& line : t) {
      if (line[0] == 'R' || line[0] == 'M' || line[0] == 'C') outcome.push_back(line);
    }
    EXPECT_EQ(outcome,
              (Transcript{"R:1 Rcpt 550 5.1.1 <bad@x.example>: User unknown", "C",
                          "R:0 EndOfData 250 2.0.0 queued", "R:2 EndOfData 250 2.0.0 queued", "M"}))
        << "pipelined " << pipelined;
  }
}

TEST(ClientSession, AllRecipientsRefusedPipelinedThenRsetBeforeNextMessage) {
  Script s = base(kEhloPipelining, {message({"a@x.example"}), message({"c@x.example"})});
  s.server.push_back(
      "250 Ok\r\n450 4.2.0 <a@x.example>: busy\r\n554 5.5.1 Error: no valid recipients\r\n");
  s.server.push_back("250 Ok\r\n250 Ok\r\n250 Ok\r\n354 go\r\n");
  s.server.push_back("250 Ok\r\n");
  EXPECT_EQ(
      converse(s),
      (Transcript{
          "S:EHLO out.example\r\n", "Y",
          "S:MAIL FROM:<s@here.example> SIZE=1000\r\nRCPT TO:<a@x.example>\r\nDATA\r\n",
          "R:0 Rcpt 450 4.2.0 <a@x.example>: busy", "M", "Y",
          "S:RSET\r\nMAIL FROM:<s@here.example> SIZE=1000\r\nRCPT TO:<c@x.example>\r\nDATA\r\n",
          "C", "R:0 EndOfData 250 Ok", "M", "Y", "S:QUIT\r\n", "Q"}));
}

TEST(ClientSession, AllRecipientsRefusedUnpipelinedSendsNoData) {
  Script s = base(kEhloPlain, {message({"a@x.example"}), message({"c@x.example"})});
  s.server.insert(s.server.end(), {"250 Ok\r\n", "550 5.1.1 no\r\n", "250 reset\r\n", "250 Ok\r\n",
                                   "250 Ok\r\n", "354 go\r\n", "250 Ok\r\n"});
  EXPECT_EQ(
      converse(s),
      (Transcript{"S:EHLO out.example\r\n", "Y", "S:MAIL FROM:<s@here.example>\r\n",
                  "S:RCPT TO:<a@x.example>\r\n", "R:0 Rcpt 550 5.1.1 no", "M", "Y", "S:RSET\r\n",
                  "S:MAIL FROM:<s@here.example>\r\n", "S:RCPT TO:<c@x.example>\r\n", "S:DATA\r\n",
                  "C", "R:0 EndOfData 250 Ok", "M", "Y", "S:QUIT\r\n", "Q"}));
}

TEST(ClientSession, DataAcceptedAfterAllRefusedGetsEmptyMessage) {
  Script s = base(kEhloPipelining, {message({"a@x.example"})});
  s.server.push_back("250 Ok\r\n550 no\r\n354 go\r\n");
  s.server.push_back("554 empty\r\n");
  Transcript t = converse(s);
  EXPECT_EQ(
      t, (Transcript{"S:EHLO out.example\r\n", "Y",
                     "S:MAIL FROM:<s@here.example> SIZE=1000\r\nRCPT TO:<a@x.example>\r\nDATA\r\n",
                     "R:0 Rcpt 550 no", "S:.\r\n", "M", "Y", "S:QUIT\r\n", "Q"}));
}

TEST(ClientSession, MailRefusedPipelined) {
  Script s = base(kEhloPipelining, {message({"a@x.example", "b@x.example"})});
  s.server.push_back(
      "553 5.7.1 <s@here.example>: Sender address rejected\r\n"
      "503 5.5.1 need MAIL\r\n503 5.5.1 need MAIL\r\n503 5.5.1 need MAIL\r\n");
  Transcript t = converse(s);
  EXPECT_EQ(Transcript(t.begin() + 3, t.end()),
            (Transcript{"R:0 Mail 553 5.7.1 <s@here.example>: Sender address rejected",
                        "R:1 Mail 553 5.7.1 <s@here.example>: Sender address rejected", "M", "Y",
                        "S:QUIT\r\n", "Q"}));
}

TEST(ClientSession, BrokenServerAcceptsRcptAfterRefusedMail) {
  Script s = base(kEhloPipelining, {message({"a@x.example"})});
  s.server.push_back("550 no sender\r\n250 Ok\r\n354 go\r\n");
  s.server.push_back("250 Ok\r\n");
  Transcript t = converse(s);
  EXPECT_EQ(Transcript(t.begin() + 3, t.end()),
            (Transcript{"R:0 Mail 550 no sender", "S:.\r\n", "M", "Y", "S:QUIT\r\n", "Q"}));
}

TEST(ClientSession, DataRefusedAppliesToAccepted) {
  Script s = base(kEhloPlain, {message({"a@x.example"})});
  s.server.insert(s.server.end(), {"250 Ok\r\n", "250 Ok\r\n", "451 4.3.0 try later\r\n"});
  Transcript t = converse(s);
  EXPECT_EQ(Transcript(t.begin() + 5, t.end()),
            (Transcript{"R:0 Data 451 4.3.0 try later", "M", "Y", "S:QUIT\r\n", "Q"}));
}

TEST(ClientSession, EndOfDataRefused) {
  Script s = base(kEhloPipelining, {message({"a@x.example"}), message({"b@x.example"})});
  s.server.push_back("250 Ok\r\n250 Ok\r\n354 go\r\n");
  s.server.push_back("554 5.7.1 spam\r\n");
  s.server.push_back("250 Ok\r\n250 Ok\r\n354 go\r\n");
  s.server.push_back("250 Ok\r\n");
  Transcript t = converse(s);
  EXPECT_EQ(t[4], "R:0 EndOfData 554 5.7.1 spam");
  // No RSET: the end-of-data reply ends the transaction either way (RFC 5321 §4.1.1.4).
  EXPECT_EQ(t[7], "S:MAIL FROM:<s@here.example> SIZE=1000\r\nRCPT TO:<b@x.example>\r\nDATA\r\n");
}

TEST(ClientSession, GreetingRefused) {
  Script s = base("", {});
  s.server = {"554 5.7.1 go away\r\n"};
  EXPECT_EQ(converse(s), (Transcript{"F:Greeting 554 5.7.1 go away", "S:QUIT\r\n", "Q"}));
  s.server = {"450-4.7.1 busy\r\n450 4.7.1 come back later\r\n"};
  EXPECT_EQ(converse(s),
            (Transcript{"F:Greeting 450 4.7.1 busy come back later", "S:QUIT\r\n", "Q"}));
  s.server = {"421 4.3.2 shutting down\r\n"};
  EXPECT_EQ(converse(s), (Transcript{"F:Greeting 421 4.3.2 shutting down", "Q"}));
}

TEST(ClientSession, EhloRefusedFallsBackToHelo) {
  Script s = base("502 5.5.2 what?\r\n", {message({"a@x.example"})});
  s.server.push_back("250 hello\r\n");
  s.server.push_back("250 Ok\r\n");
  Transcript t = converse(s);
  EXPECT_EQ(Transcript(t.begin(), t.begin() + 4),
            (Transcript{"S:EHLO out.example\r\n", "S:HELO out.example\r\n", "Y",
                        "S:MAIL FROM:<s@here.example>\r\n"}));
  s.server = {kGreeting, "502 no\r\n", "501 no either\r\n"};
  EXPECT_EQ(converse(s), (Transcript{"S:EHLO out.example\r\n", "S:HELO out.example\r\n",
                                     "F:Helo 501 no either", "S:QUIT\r\n", "Q"}));
  s.server = {kGreeting, "451 later\r\n"};
  EXPECT_EQ(converse(s),
            (Transcript{"S:EHLO out.example\r\n", "F:Ehlo 451 later", "S:QUIT\r\n", "Q"}));
  Script helo_only = base("250 hi\r\n", {});
  helo_only.settings.use_ehlo = false;
  EXPECT_EQ(converse(helo_only), (Transcript{"S:HELO out.example\r\n", "Y", "S:QUIT\r\n", "Q"}));
}

TEST(ClientSession, StartTlsThenEhloAgain) {
  Script s = base("250-mx.example\r\n250-STARTTLS\r\n250 SIZE 10\r\n", {message({"a@x.example"})});
  s.settings.try_starttls = true;
  s.server.push_back("220 2.0.0 Ready to start TLS\r\n");
  s.server.push_back("250-mx.example\r\n250 PIPELINING\r\n");
  s.server.push_back("250 Ok\r\n250 Ok\r\n354 go\r\n");
  s.server.push_back("250 Ok\r\n");
  Transcript t = converse(s);
  // SIZE came from the clear-text EHLO only: no SIZE= and no local size refusal.
  EXPECT_EQ(Transcript(t.begin(), t.begin() + 6),
            (Transcript{"S:EHLO out.example\r\n", "S:STARTTLS\r\n", "T", "S:EHLO out.example\r\n",
                        "Y", "S:MAIL FROM:<s@here.example>\r\nRCPT TO:<a@x.example>\r\nDATA\r\n"}));
}

TEST(ClientSession, StartTlsRequiredButNotOffered) {
  Script s = base(kEhloPipelining, {message({"a@x.example"})});
  s.settings.require_tls = true;
  s.settings.peer = "mx.example[192.0.2.1]";
  EXPECT_EQ(
      converse(s),
      (Transcript{"S:EHLO out.example\r\n",
                  "F:StartTls TLS is required, but was not offered by host mx.example[192.0.2.1]",
                  "S:QUIT\r\n", "Q"}));
}

TEST(ClientSession, StartTlsRefused) {
  Script s = base("250-mx.example\r\n250 STARTTLS\r\n", {});
  s.settings.try_starttls = true;
  s.server.push_back("454 4.7.0 TLS not available\r\n");
  EXPECT_EQ(converse(s),
            (Transcript{"S:EHLO out.example\r\n", "S:STARTTLS\r\n", "Y", "S:QUIT\r\n", "Q"}));
  s.settings.require_tls = true;
  EXPECT_EQ(converse(s), (Transcript{"S:EHLO out.example\r\n", "S:STARTTLS\r\n",
                                     "F:StartTls 454 4.7.0 TLS not available", "S:QUIT\r\n", "Q"}));
}

TEST(ClientSession, StartTlsHandshakeFailsOrPlaintextInjected) {
  Script s = base("250-mx.example\r\n250 STARTTLS\r\n", {});
  s.settings.try_starttls = true;
  s.server.push_back("220 go\r\n");
  s.tls_ok = false;
  EXPECT_EQ(converse(s), (Transcript{"S:EHLO out.example\r\n", "S:STARTTLS\r\n", "T",
                                     "F:StartTls TLS handshake failed", "Q"}));
  s.tls_ok = true;
  s.server.back() = "220 go\r\n250 injected\r\n";
  Transcript whole = run(s, 1 << 20);
  EXPECT_EQ(whole, (Transcript{"S:EHLO out.example\r\n", "S:STARTTLS\r\n",
                               "F:StartTls unexpected plaintext after STARTTLS reply", "Q"}));
}

TEST(ClientSession, ImplicitTlsSendsNoStartTls) {
  Script s = base("250-mx.example\r\n250 STARTTLS\r\n", {});
  s.settings.tls_active = true;
  s.settings.require_tls = true;
  EXPECT_EQ(converse(s), (Transcript{"S:EHLO out.example\r\n", "Y", "S:QUIT\r\n", "Q"}));
}

// SMTP AUTH: credentials user/secret; "AUTH PLAIN AHVzZXIAc2VjcmV0" is base64("\0user\0secret").
Script auth_script(std::string ehlo) {
  Script s = base(std::move(ehlo), {});
  s.settings.auth = ClientAuth{"user", "secret", {}, false, true};
  s.settings.tls_active = true;
  s.settings.peer = "mx.example[192.0.2.1]";
  return s;
}

TEST(ClientSession, AuthPlainThenReady) {
  Script s = auth_script("250-mx.example\r\n250 AUTH LOGIN PLAIN\r\n");
  s.server.push_back("235 2.7.0 Authentication successful\r\n");
  EXPECT_EQ(converse(s), (Transcript{"S:EHLO out.example\r\n", "S:AUTH PLAIN AHVzZXIAc2VjcmV0\r\n",
                                     "Y", "S:QUIT\r\n", "Q"}));
}

TEST(ClientSession, AuthLoginAnswersTwoChallenges) {
  Script s = auth_script("250-mx.example\r\n250 AUTH=LOGIN\r\n");
  s.server.push_back("334 VXNlcm5hbWU6\r\n");
  s.server.push_back("334 UGFzc3dvcmQ6\r\n");
  s.server.push_back("235 ok\r\n");
  EXPECT_EQ(converse(s), (Transcript{"S:EHLO out.example\r\n", "S:AUTH LOGIN\r\n", "S:dXNlcg==\r\n",
                                     "S:c2VjcmV0\r\n", "Y", "S:QUIT\r\n", "Q"}));
  // The mechanism filter leaves LOGIN although PLAIN is offered.
  s.server[1] = "250-mx.example\r\n250 AUTH PLAIN LOGIN CRAM-MD5\r\n";
  s.settings.auth->mechanisms = {"LOGIN"};
  EXPECT_EQ(converse(s)[1], "S:AUTH LOGIN\r\n");
}

TEST(ClientSession, AuthRefusedFailsSession) {
  Script s = auth_script("250-mx.example\r\n250 AUTH PLAIN\r\n");
  s.server.push_back("535 5.7.8 Error: authentication failed\r\n");
  EXPECT_EQ(converse(s),
            (Transcript{"S:EHLO out.example\r\n", "S:AUTH PLAIN AHVzZXIAc2VjcmV0\r\n",
                        "F:Auth 535 5.7.8 Error: authentication failed", "S:QUIT\r\n", "Q"}));
  s.server.back() = "454 4.7.0 Temporary authentication failure\r\n";
  EXPECT_EQ(converse(s)[2], "F:Auth 454 4.7.0 Temporary authentication failure");
  s.server.back() = "334 \r\n";  // PLAIN sent its response already
  EXPECT_EQ(converse(s), (Transcript{"S:EHLO out.example\r\n", "S:AUTH PLAIN AHVzZXIAc2VjcmV0\r\n",
                                     "F:Auth unexpected SASL challenge", "Q"}));
}

TEST(ClientSession, AuthNoPlaintextInClear) {
  Script s = auth_script("250-mx.example\r\n250 AUTH PLAIN LOGIN\r\n");
  s.settings.tls_active = false;
  EXPECT_EQ(converse(s), (Transcript{"S:EHLO out.example\r\n",
                                     "F:Auth SASL authentication failed; cannot authenticate to "
                                     "server mx.example[192.0.2.1]: no mechanism available",
                                     "S:QUIT\r\n", "Q"}));
  s.settings.auth->plaintext_in_clear = true;
  s.server.push_back("235 ok\r\n");
  EXPECT_EQ(converse(s)[1], "S:AUTH PLAIN AHVzZXIAc2VjcmV0\r\n");
  s.settings.tls_active = true;
  s.settings.auth->plaintext_with_tls = false;
  EXPECT_EQ(converse(s)[1].substr(0, 6), "F:Auth");
}

TEST(ClientSession, AuthSkippedWhenNothingUsableOffered) {
  // No AUTH, only unknown mechanisms, or HELO: mail goes without AUTH (as Postfix).
  for (const char* ehlo : {"250 mx.example\r\n", "250-mx.example\r\n250 AUTH CRAM-MD5\r\n"}) {
    Script s = auth_script(ehlo);
    EXPECT_EQ(converse(s), (Transcript{"S:EHLO out.example\r\n", "Y", "S:QUIT\r\n", "Q"}));
  }
  Script helo = auth_script("");
  helo.settings.use_ehlo = false;
  helo.server = {kGreeting, "250 mx.example\r\n"};
  EXPECT_EQ(converse(helo), (Transcript{"S:HELO out.example\r\n", "Y", "S:QUIT\r\n", "Q"}));
}

TEST(ClientSession, AuthAfterStartTlsThenMail) {
  Script s =
      base("250-mx.example\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n", {message({"a@x.example"})});
  s.settings.try_starttls = true;
  s.settings.auth = ClientAuth{"user", "secret", {}, false, true};
  s.server.push_back("220 go\r\n");
  s.server.push_back("250-mx.example\r\n250-PIPELINING\r\n250 AUTH PLAIN LOGIN\r\n");
  s.server.push_back("235 ok\r\n");
  s.server.push_back("250 Ok\r\n250 Ok\r\n354 go\r\n");
  s.server.push_back("250 Ok\r\n");
  Transcript t = converse(s);
  EXPECT_EQ(Transcript(t.begin(), t.begin() + 7),
            (Transcript{"S:EHLO out.example\r\n", "S:STARTTLS\r\n", "T", "S:EHLO out.example\r\n",
                        "S:AUTH PLAIN AHVzZXIAc2VjcmV0\r\n", "Y",
                        "S:MAIL FROM:<s@here.example>\r\nRCPT TO:<a@x.example>\r\nDATA\r\n"}));
}

TEST(ClientSession, TwoMessagesOneConnection) {
  Script s = base(kEhloPipelining, {message({"a@x.example"}), message({"b@y.example"}, "")});
  s.server.push_back("250 Ok\r\n250 Ok\r\n354 go\r\n");
  s.server.push_back("250 Ok: 1\r\n");
  s.server.push_back("250 Ok\r\n250 Ok\r\n354 go\r\n");
  s.server.push_back("250 Ok: 2\r\n");
  EXPECT_EQ(
      converse(s),
      (Transcript{"S:EHLO out.example\r\n", "Y",
                  "S:MAIL FROM:<s@here.example> SIZE=1000\r\nRCPT TO:<a@x.example>\r\nDATA\r\n",
                  "C", "R:0 EndOfData 250 Ok: 1", "M", "Y",
                  "S:MAIL FROM:<> SIZE=1000\r\nRCPT TO:<b@y.example>\r\nDATA\r\n", "C",
                  "R:0 EndOfData 250 Ok: 2", "M", "Y", "S:QUIT\r\n", "Q"}));
}

TEST(ClientSession, LocalRefusals) {
  OutgoingMessage big = message({"a@x.example", "b@x.example"});
  big.size = 100001;
  OutgoingMessage utf8 = message({"a@x.example"});
  utf8.smtputf8 = true;
  OutgoingMessage bad_rcpt = message({"a\r\nRSET@x.example", "ok@x.example"});
  OutgoingMessage bad_sender = message({"a@x.example"}, "s\n@x");
  Script s = base(kEhloPipelining, {big, utf8, bad_rcpt, bad_sender});
  s.settings.peer = "mx.example[192.0.2.1]";
  s.server.push_back("250 Ok\r\n250 Ok\r\n354 go\r\n");
  s.server.push_back("250 Ok\r\n");
  EXPECT_EQ(
      converse(s),
      (Transcript{"S:EHLO out.example\r\n",
                  "Y",
                  "R:0 Mail 552 5.3.4 Message size exceeds fixed limit (local)",
                  "R:1 Mail 552 5.3.4 Message size exceeds fixed limit (local)",
                  "M",
                  "Y",
                  "R:0 Mail 550 5.6.7 SMTPUTF8 is required, but was not offered by host "
                  "mx.example[192.0.2.1] (local)",
                  "M",
                  "Y",
                  "R:0 Rcpt 501 5.1.3 Bad recipient address syntax (local)",
                  "S:MAIL FROM:<s@here.example> SIZE=1000\r\nRCPT TO:<ok@x.example>\r\nDATA\r\n",
                  "C",
                  "R:1 EndOfData 250 Ok",
                  "M",
                  "Y",
                  "R:0 Mail 501 5.1.7 Bad sender address syntax (local)",
                  "M",
                  "Y",
                  "S:QUIT\r\n",
                  "Q"}));
}

TEST(ClientSession, ParametersAndQuoting) {
  Script s = base("250-mx.example\r\n250-SIZE\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 DSN\r\n", {});
  OutgoingMessage m;
  m.sender = "\"john doe\"@here.example";
  m.recipients = {{"user@x.example", "success,failure", "rfc822;user@x.example"},
                  {"odd local@x.example", "BOGUS VALUE", "user+tag=1@x.example"},
                  {"j\xc3\xb6rg@x.example", "", ""}};
  m.size = 5;
  m.eight_bit = true;
  m.smtputf8 = true;
  m.envid = "id 1+2=3";
  m.ret = "hdrs";
  s.messages = {m};
  s.server.push_back("250 Ok\r\n");
  s.server.push_back("250 Ok\r\n");
  Transcript t = converse(s);
  ASSERT_GE(t.size(), 5u);
  EXPECT_EQ(t[2],
            "S:MAIL FROM:<\"john doe\"@here.example> SIZE=5 BODY=8BITMIME SMTPUTF8 RET=HDRS "
            "ENVID=id+201+2B2+3D3\r\n");
  EXPECT_EQ(t[3],
            "S:RCPT TO:<user@x.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;user@x.example\r\n");
  EXPECT_EQ(t[4], "S:RCPT TO:<\"odd local\"@x.example> ORCPT=rfc822;user+2Btag+3D1@x.example\r\n");
}

TEST(ClientSession, ServerClosesOrTimesOut) {
  Script s = base(kEhloPipelining, {message({"a@x.example"})});
  s.close_at_end = true;
  Transcript t = converse(s);
  EXPECT_EQ(Transcript(t.end() - 2, t.end()), (Transcript{"F:Mail lost connection", "Q"}));
  s.server.push_back("250 Ok\r\n250 Ok\r\n354 go\r\n");
  t = converse(s);
  EXPECT_EQ(Transcript(t.end() - 3, t.end()),
            (Transcript{"C", "F:EndOfData lost connection", "Q"}));
  EXPECT_EQ(activity(ClientStage::EndOfData),
            "sending end of data -- message may be sent more than once");
  EXPECT_EQ(activity(ClientStage::Rcpt), "sending RCPT TO");
  EXPECT_EQ(reply_context(ClientStage::Greeting), "while receiving the initial server greeting");
  EXPECT_EQ(reply_context(ClientStage::EndOfData), "in reply to end of DATA command");

  ClientSession direct(ClientSettings{});
  std::vector<ClientAction> a = direct.timed_out();
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(std::get<client::SessionFailed>(a[0]).reason, "conversation timed out");
  EXPECT_EQ(std::get<client::SessionFailed>(a[0]).stage, ClientStage::Greeting);
}

TEST(ClientSession, Reply421FailsSession) {
  Script s = base(kEhloPipelining, {message({"a@x.example", "b@x.example"})});
  s.server.push_back("250 Ok\r\n250 Ok\r\n421 4.7.0 mx.example closing\r\n");
  Transcript t = converse(s);
  EXPECT_EQ(Transcript(t.begin() + 3, t.end()),
            (Transcript{"F:Rcpt 421 4.7.0 mx.example closing", "Q"}));
}

TEST(ClientSession, MalformedOrUnexpectedReply) {
  Script s = base("250-mx.example\r\n251 mixed codes\r\n", {});
  EXPECT_EQ(converse(s),
            (Transcript{"S:EHLO out.example\r\n",
                        "F:Ehlo malformed reply: reply continuation with a different code", "Q"}));
  // Bytes while idle wait for the next command: here they become the MAIL reply.
  ClientSession idle(ClientSettings{});
  (void)idle.feed("220 hi\r\n");
  std::vector<ClientAction> a = idle.feed("250 ok\r\n");
  ASSERT_TRUE(idle.idle());
  EXPECT_TRUE(idle.feed("500 spontaneous\r\n").empty());
  a = idle.send_message(message({"a@x.example"}));
  ASSERT_EQ(a.size(), 4u);
  EXPECT_EQ(std::get<client::RecipientDone>(a[1]).reply.text(), "500 spontaneous");
  // A server closing an idle connection.
  ClientSession timeout(ClientSettings{});
  (void)timeout.feed("220 hi\r\n250 ok\r\n");
  EXPECT_TRUE(timeout.feed("421 4.4.2 timeout\r\n").empty());
  a = timeout.peer_closed();
  ASSERT_EQ(a.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<client::Close>(a[0]));
}

TEST(ClientSession, RepliesDuringBodyWaitForContentSent) {
  ClientSession s(ClientSettings{});
  (void)s.feed("220 hi\r\n250-x\r\n250 PIPELINING\r\n");
  ASSERT_TRUE(s.idle());
  (void)s.send_message(message({"a@x.example"}));
  std::vector<ClientAction> a = s.feed("250 Ok\r\n250 Ok\r\n354 go\r\n");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<client::SendContent>(a[0]));
  EXPECT_TRUE(s.feed("250 early\r\n").empty());
  a = s.content_sent();
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(std::get<client::RecipientDone>(a[0]).reply.text(), "250 early");
}

}  // namespace
}  // namespace estafeta::smtp
