// Table-driven tests of the SMTP command-line parser and the MAIL/RCPT parameter meanings.
#include "smtp/command.h"

#include <gtest/gtest.h>

#include <string>

#include "smtp/esmtp_params.h"

namespace estafeta::smtp {
namespace {

struct CommandCase {
  std::string line;
  Verb verb;
  std::string error;  // "" when the parse must succeed
  std::string path;   // MAIL/RCPT
  std::string argument;
};

TEST(ParseCommand, Table) {
  const CommandCase cases[] = {
      {"EHLO client.example", Verb::Ehlo, "", "", "client.example"},
      {"ehlo  client.example  ", Verb::Ehlo, "", "", "client.example"},
      {"HELO x", Verb::Helo, "", "", "x"},
      {"EHLO", Verb::Ehlo, "501 5.5.4 Syntax: EHLO hostname", "", ""},
      {"HELO ", Verb::Helo, "501 5.5.4 Syntax: HELO hostname", "", ""},
      {"MAIL FROM:<a@b.example>", Verb::Mail, "", "<a@b.example>", ""},
      {"mail from:<>", Verb::Mail, "", "<>", ""},
      {"MAIL FROM: <a@b.example>", Verb::Mail, "", "<a@b.example>", ""},
      {"MAIL FROM:a@b.example", Verb::Mail, "", "<a@b.example>", ""},
      {"MAIL FROM:<\"a>b\"@c.example>", Verb::Mail, "", "<\"a>b\"@c.example>", ""},
      {"MAIL FROM:<a@b.example>SIZE=1", Verb::Mail, "501 5.5.4 Syntax: MAIL FROM:<address>",
       "", ""},
      {"MAIL FROM:", Verb::Mail, "501 5.5.4 Syntax: MAIL FROM:<address>", "", ""},
      {"MAIL TO:<a@b>", Verb::Mail, "501 5.5.4 Syntax: MAIL FROM:<address>", "", ""},
      {"MAIL FROM:<a@b", Verb::Mail, "501 5.5.4 Syntax: MAIL FROM:<address>", "", ""},
      {"MAIL FROM:<a@b> =x", Verb::Mail, "501 5.5.4 Syntax: MAIL FROM:<address>", "", ""},
      {"MAIL FROM:<a@b> SIZE=", Verb::Mail, "501 5.5.4 Bad SIZE parameter syntax", "", ""},
      {"RCPT TO:<c@d.example>", Verb::Rcpt, "", "<c@d.example>", ""},
      {"RCPT TO:<c@d.example> NOTIFY=NEVER", Verb::Rcpt, "", "<c@d.example>", ""},
      {"RCPT FROM:<c@d>", Verb::Rcpt, "501 5.5.4 Syntax: RCPT TO:<address>", "", ""},
      {"DATA", Verb::Data, "", "", ""},
      {"DATA x", Verb::Data, "501 5.5.4 Syntax: DATA", "", ""},
      {"BDAT 10", Verb::Bdat, "", "", "10"},
      {"BDAT 0 LAST", Verb::Bdat, "", "", "0 LAST"},
      {"BDAT 10 last", Verb::Bdat, "", "", "10 last"},
      {"BDAT", Verb::Bdat, "501 5.5.4 Syntax: BDAT count [LAST]", "", ""},
      {"BDAT x", Verb::Bdat, "501 5.5.4 Syntax: BDAT count [LAST]", "", ""},
      {"BDAT 10x", Verb::Bdat, "501 5.5.4 Syntax: BDAT count [LAST]", "", ""},
      {"BDAT 10 LATER", Verb::Bdat, "501 5.5.4 Syntax: BDAT count [LAST]", "", ""},
      {"BDAT 99999999999999999999999", Verb::Bdat, "501 5.5.4 Syntax: BDAT count [LAST]", "",
       ""},
      {"RSET", Verb::Rset, "", "", ""},
      {"RSET now", Verb::Rset, "501 5.5.4 Syntax: RSET", "", ""},
      {"NOOP anything", Verb::Noop, "", "", "anything"},
      {"QUIT", Verb::Quit, "", "", ""},
      {"QUIT x", Verb::Quit, "501 5.5.4 Syntax: QUIT", "", ""},
      {"STARTTLS", Verb::StartTls, "", "", ""},
      {"STARTTLS x", Verb::StartTls, "501 5.5.4 Syntax: STARTTLS", "", ""},
      {"VRFY", Verb::Vrfy, "501 5.5.4 Syntax: VRFY address", "", ""},
      {"VRFY user", Verb::Vrfy, "", "", "user"},
      {"HELP", Verb::Help, "", "", ""},
      {"AUTH PLAIN", Verb::Auth, "", "", "PLAIN"},
      {"GET / HTTP/1.1", Verb::NonSmtp, "", "", "/ HTTP/1.1"},
      {"XYZZY", Verb::Unknown, "", "", ""},
      {"MAILFROM:<a@b>", Verb::Unknown, "", "", ""},
      {"", Verb::Unknown, "500 5.5.2 Error: bad syntax", "", ""},
      {"   ", Verb::Unknown, "500 5.5.2 Error: bad syntax", "", ""},
  };
  for (const CommandCase& c : cases) {
    Result<Command> r = parse_command(c.line);
    if (c.error.empty()) {
      ASSERT_TRUE(r.ok()) << c.line << ": " << r.error().message;
      EXPECT_EQ(r->verb, c.verb) << c.line;
      EXPECT_EQ(r->path, c.path) << c.line;
      if (c.verb != Verb::Mail && c.verb != Verb::Rcpt) {
        EXPECT_EQ(r->argument, c.argument);
      }
    } else {
      ASSERT_FALSE(r.ok()) << c.line;
      EXPECT_EQ(r.error().message, c.error) << c.line;
    }
    EXPECT_EQ(classify_verb(c.line), c.verb) << c.line;
  }
}

TEST(ParseCommand, Params) {
  Result<Command> r = parse_command("MAIL FROM:<a@b>  size=100 BODY=8BITMIME SMTPUTF8 ret=HDRS");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->params.size(), 4u);
  EXPECT_EQ(r->params[0].keyword, "SIZE");
  EXPECT_EQ(r->params[0].value, "100");
  EXPECT_TRUE(r->params[0].has_value);
  EXPECT_EQ(r->params[2].keyword, "SMTPUTF8");
  EXPECT_FALSE(r->params[2].has_value);
  Result<Command> b = parse_command("BDAT 512 LAST");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->chunk_size, 512u);
  EXPECT_TRUE(b->last);
}

struct ParamCase {
  std::string line;
  std::string error;
};

TEST(EsmtpParams, MailTable) {
  const ParamCase cases[] = {
      {"MAIL FROM:<a@b> SIZE=100", ""},
      {"MAIL FROM:<a@b> SIZE=1x", "501 5.5.4 Bad message size syntax"},
      {"MAIL FROM:<a@b> SIZE", "501 5.5.4 Bad message size syntax"},
      {"MAIL FROM:<a@b> SIZE=99999999999999999999", "501 5.5.4 Bad message size syntax"},
      {"MAIL FROM:<a@b> BODY=7bit", ""},
      {"MAIL FROM:<a@b> BODY=BINARYMIME", "501 5.5.4 Bad BODY keyword syntax"},
      {"MAIL FROM:<a@b> SMTPUTF8", ""},
      {"MAIL FROM:<a@b> SMTPUTF8=yes", "501 5.5.4 Bad SMTPUTF8 parameter syntax"},
      {"MAIL FROM:<a@b> RET=FULL ENVID=abc+2Bdef", ""},
      {"MAIL FROM:<a@b> RET=SOME", "501 5.5.4 Bad RET parameter syntax"},
      {"MAIL FROM:<a@b> ENVID=a+2", "501 5.5.4 Bad ENVID parameter syntax"},
      {"MAIL FROM:<a@b> AUTH=<>", ""},
      {"MAIL FROM:<a@b> XFOO=1", "555 5.5.4 Unsupported option: XFOO"},
  };
  for (const ParamCase& c : cases) {
    Result<Command> cmd = parse_command(c.line);
    ASSERT_TRUE(cmd.ok()) << c.line;
    Result<MailParams> p = parse_mail_params(cmd->params, true);
    EXPECT_EQ(p.ok() ? "" : p.error().message, c.error) << c.line;
  }
  Result<Command> utf8 = parse_command("MAIL FROM:<a@b> SMTPUTF8");
  ASSERT_TRUE(utf8.ok());
  Result<MailParams> off = parse_mail_params(utf8->params, false);
  ASSERT_FALSE(off.ok());
  EXPECT_EQ(off.error().message, "555 5.5.4 Unsupported option: SMTPUTF8");
  Result<Command> envid = parse_command("MAIL FROM:<a@b> ENVID=x+2By");
  ASSERT_TRUE(envid.ok());
  EXPECT_EQ(parse_mail_params(envid->params, true)->envid, "x+y");
}

TEST(EsmtpParams, RcptTable) {
  const ParamCase cases[] = {
      {"RCPT TO:<a@b> NOTIFY=SUCCESS,FAILURE", ""},
      {"RCPT TO:<a@b> NOTIFY=never", ""},
      {"RCPT TO:<a@b> NOTIFY=NEVER,SUCCESS", "501 5.5.4 Bad NOTIFY parameter syntax"},
      {"RCPT TO:<a@b> NOTIFY=SOMETIMES", "501 5.5.4 Bad NOTIFY parameter syntax"},
      {"RCPT TO:<a@b> ORCPT=rfc822;a@b", ""},
      {"RCPT TO:<a@b> ORCPT=rfc822", "501 5.5.4 Bad ORCPT parameter syntax"},
      {"RCPT TO:<a@b> ORCPT=;a@b", "501 5.5.4 Bad ORCPT parameter syntax"},
      {"RCPT TO:<a@b> SIZE=1", "555 5.5.4 Unsupported option: SIZE"},
  };
  for (const ParamCase& c : cases) {
    Result<Command> cmd = parse_command(c.line);
    ASSERT_TRUE(cmd.ok()) << c.line;
    Result<RcptParams> p = parse_rcpt_params(cmd->params);
    EXPECT_EQ(p.ok() ? "" : p.error().message, c.error) << c.line;
  }
}

TEST(Xtext, Decode) {
  EXPECT_EQ(decode_xtext("abc"), "abc");
  EXPECT_EQ(decode_xtext("a+20b"), "a b");
  EXPECT_FALSE(decode_xtext("a+2").has_value());
  EXPECT_FALSE(decode_xtext("a+2g").has_value());
  EXPECT_FALSE(decode_xtext("a b").has_value());
  EXPECT_FALSE(decode_xtext("a=b").has_value());
}

}  // namespace
}  // namespace estafeta::smtp
