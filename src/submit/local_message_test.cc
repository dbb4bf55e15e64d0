// Tests for the cleanup of a local submission: recipients (argv, -t, Resent-, Bcc), DSN
// options, line ends, and the headers added.
#include "submit/local_message.h"

#include <gtest/gtest.h>

namespace estafeta::submit {
namespace {

Submitter alice() {
  Submitter who;
  who.login = "alice";
  who.gecos_name = "Alice Liddell";
  who.uid = 1000;
  who.myorigin = "example.org";
  who.myhostname = "mail.example.org";
  return who;
}

std::vector<std::string> addresses(const LocalMessage& m) {
  std::vector<std::string> out;
  for (const auto& r : m.recipients) out.push_back(r.address);
  return out;
}

constexpr int64_t kTime = 1796482179000000;  // 2026-12-05 (UTC)

TEST(LocalMessage, CommandLineRecipientsAreQualifiedAndDeduplicated) {
  DropRequest r;
  r.recipients = {"bob", "Carol <carol@example.net>", "bob", "<dave@example.net>, erin"};
  r.content = "Subject: hi\n\nbody\n";
  auto m = prepare_local_message(r, "alice", alice());
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->sender, "alice@example.org");
  EXPECT_EQ(addresses(*m), (std::vector<std::string>{"bob@example.org", "carol@example.net",
                                                      "dave@example.net", "erin@example.org"}));
}

TEST(LocalMessage, ExtractRecipientsRemovesBcc) {
  DropRequest r;
  r.extract_recipients = true;
  r.content =
      "To: bob@example.net, Carol <carol@example.net>\nCc: dave\nBcc: secret@example.net,\n"
      " other@example.net\nSubject: hi\n\nBcc: stays in the body\n";
  auto m = prepare_local_message(r, "alice", alice());
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(addresses(*m),
            (std::vector<std::string>{"bob@example.net", "carol@example.net", "dave@example.org",
                                      "secret@example.net", "other@example.net"}));
  const std::string out = render_local_message(*m, alice(), "ABC", kTime);
  EXPECT_EQ(out.find("Bcc: secret"), std::string::npos);
  EXPECT_EQ(out.find("other@example.net"), std::string::npos);
  EXPECT_NE(out.find("\r\n\r\nBcc: stays in the body\r\n"), std::string::npos);
}

TEST(LocalMessage, ResentHeadersWinWithExtract) {
  DropRequest r;
  r.extract_recipients = true;
  r.content = "To: old@example.net\nResent-To: new@example.net\nResent-Bcc: hidden@example.net\n\nx\n";
  auto m = prepare_local_message(r, "alice", alice());
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(addresses(*m), (std::vector<std::string>{"new@example.net", "hidden@example.net"}));
  EXPECT_EQ(render_local_message(*m, alice(), "ABC", kTime).find("hidden"), std::string::npos);
}

TEST(LocalMessage, WithoutExtractBccIsKeptAndNotARecipient) {
  DropRequest r;
  r.recipients = {"bob"};
  r.content = "Bcc: x@example.net\n\nbody\n";
  auto m = prepare_local_message(r, "alice", alice());
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(addresses(*m), std::vector<std::string>{"bob@example.org"});
  EXPECT_NE(render_local_message(*m, alice(), "ABC", kTime).find("Bcc: x@example.net"),
            std::string::npos);
}

TEST(LocalMessage, NoRecipientsIsAnError) {
  DropRequest r;
  r.content = "Subject: x\n\n";
  EXPECT_FALSE(prepare_local_message(r, "alice", alice()).ok());
  r.extract_recipients = true;
  r.content = "To: undisclosed-recipients:;\n\n";
  EXPECT_FALSE(prepare_local_message(r, "alice", alice()).ok());
}

TEST(LocalMessage, AddsReceivedFromDateMessageIdAndCrlf) {
  DropRequest r;
  r.recipients = {"bob"};
  r.content = "Subject: test\nX-Long: a\n b\n\nline one\nline two\r\n.\n";
  auto m = prepare_local_message(r, "alice", alice());
  ASSERT_TRUE(m.ok());
  const std::string out = render_local_message(*m, alice(), "0123ABCD", kTime);
  EXPECT_TRUE(out.starts_with(
      "Received: by mail.example.org (Estafeta, from userid 1000)\r\n\tid 0123ABCD; "))
      << out;
  EXPECT_NE(out.find("Subject: test\r\nX-Long: a\r\n b\r\n"), std::string::npos);
  EXPECT_NE(out.find("From: Alice Liddell <alice@example.org>\r\n"), std::string::npos);
  EXPECT_NE(out.find("\r\nDate: "), std::string::npos);
  EXPECT_NE(out.find("Message-Id: <"), std::string::npos);
  EXPECT_NE(out.find(".0123ABCD@mail.example.org>\r\n"), std::string::npos);
  EXPECT_TRUE(out.ends_with("\r\n\r\nline one\r\nline two\r\n.\r\n")) << out;
  EXPECT_EQ(out.find("\n\n"), std::string::npos);  // every LF has its CR
}

TEST(LocalMessage, KeepsExistingHeadersAndUsesFullNameOption) {
  DropRequest r;
  r.recipients = {"bob"};
  r.full_name = "Cron Daemon (sys)";
  r.content = "Date: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <x@y>\n\nb\n";
  auto m = prepare_local_message(r, "root", alice());
  ASSERT_TRUE(m.ok());
  const std::string out = render_local_message(*m, alice(), "ID", kTime);
  EXPECT_NE(out.find("From: \"Cron Daemon (sys)\" <root@example.org>\r\n"), std::string::npos);
  EXPECT_EQ(out.find("Message-Id:"), std::string::npos);
  EXPECT_EQ(out.find("Date: ", out.find("Date: Mon") + 1), std::string::npos);
}

TEST(LocalMessage, BodyWithoutHeadersAndMboxFromLine) {
  DropRequest r;
  r.recipients = {"bob"};
  r.content = "From alice Sat Dec  5 10:00:00 2026\nthis is not a header\nnor this: one\n";
  auto m = prepare_local_message(r, "alice", alice());
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->headers, "");
  EXPECT_EQ(m->body, "this is not a header\r\nnor this: one\r\n");
}

TEST(LocalMessage, DsnOptions) {
  DropRequest r;
  r.recipients = {"bob"};
  r.notify = "success,delay";
  r.ret = "hdrs";
  r.envid = "E1";
  r.body_type = "8bitmime";
  auto m = prepare_local_message(r, "", alice());
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->sender, "");
  EXPECT_EQ(m->recipients.at(0).notify, "SUCCESS,DELAY");
  EXPECT_EQ(m->ret, "HDRS");
  EXPECT_EQ(m->body_type, "8BITMIME");
  for (auto bad : {"never,success", "sometimes"}) {
    r.notify = bad;
    EXPECT_FALSE(prepare_local_message(r, "", alice()).ok()) << bad;
  }
  r.notify = "NEVER";
  EXPECT_EQ(prepare_local_message(r, "", alice())->recipients.at(0).notify, "NEVER");
  r.ret = "all";
  EXPECT_FALSE(prepare_local_message(r, "", alice()).ok());
  r.ret = "";
  r.envid = "has space";
  EXPECT_FALSE(prepare_local_message(r, "", alice()).ok());
}

TEST(LocalMessage, Qualify) {
  EXPECT_EQ(qualify("bob", "example.org"), "bob@example.org");
  EXPECT_EQ(qualify("<bob@x.net>", "example.org"), "bob@x.net");
  EXPECT_EQ(qualify("<>", "example.org"), "");
  EXPECT_EQ(qualify("", "example.org"), "");
}

}  // namespace
}  // namespace estafeta::submit
