// Tests for the sendmail command line: attached and separate values, modes, queue runs,
// the options accepted for compatibility, and usage errors.
#include "cli/sendmail_options.h"

#include <gtest/gtest.h>

namespace estafeta::cli {
namespace {

using Mode = SendmailOptions::Mode;

TEST(SendmailOptions, SubmissionOptions) {
  auto o = parse_sendmail_options({"-t", "-i", "-fbob@example.org", "-F", "Bob B", "-N",
                                   "success,delay", "-Rhdrs", "-V", "env1", "-B8BITMIME", "-oem",
                                   "-odb", "-v", "--", "-x@example.org", "carol"});
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->mode, Mode::Submit);
  EXPECT_TRUE(o->request.extract_recipients);
  EXPECT_FALSE(o->dot_ends_input);
  EXPECT_EQ(o->request.sender, std::optional<std::string>("bob@example.org"));
  EXPECT_EQ(o->request.full_name, "Bob B");
  EXPECT_EQ(o->request.notify, "success,delay");
  EXPECT_EQ(o->request.ret, "hdrs");
  EXPECT_EQ(o->request.envid, "env1");
  EXPECT_EQ(o->request.body_type, "8BITMIME");
  EXPECT_EQ(o->request.recipients, (std::vector<std::string>{"-x@example.org", "carol"}));
}

TEST(SendmailOptions, AliasRebuild) {
  for (const char* flag : {"-bi", "-I"}) {
    auto o = parse_sendmail_options({flag, "-C", "/etc/x"});
    ASSERT_TRUE(o.ok()) << flag;
    EXPECT_EQ(o->mode, Mode::Aliases) << flag;
    EXPECT_EQ(o->config_dir, "/etc/x");
  }
  EXPECT_FALSE(parse_sendmail_options({"-Ix"}).ok());
}

TEST(SendmailOptions, CronStyleAndRecipientsEndOptions) {
  // Debian's cron: sendmail -i -FCronDaemon -B8BITMIME -oem user
  auto o = parse_sendmail_options({"-i", "-FCronDaemon", "-B8BITMIME", "-oem", "alice", "-t"});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->request.full_name, "CronDaemon");
  EXPECT_FALSE(o->request.sender.has_value());
  EXPECT_FALSE(o->request.extract_recipients);  // after the first recipient: an address
  EXPECT_EQ(o->request.recipients, (std::vector<std::string>{"alice", "-t"}));
  auto oi = parse_sendmail_options({"-oi", "-r", "", "x"});
  ASSERT_TRUE(oi.ok());
  EXPECT_FALSE(oi->dot_ends_input);
  EXPECT_EQ(oi->request.sender, std::optional<std::string>(""));
}

TEST(SendmailOptions, Modes) {
  EXPECT_EQ(parse_sendmail_options({"-bs"})->mode, Mode::Smtp);
  EXPECT_EQ(parse_sendmail_options({"-bp"})->mode, Mode::Print);
  EXPECT_EQ(parse_sendmail_options({"-bd"})->mode, Mode::Daemon);
  EXPECT_EQ(parse_sendmail_options({"-C", "/etc/x", "-bD"})->config_dir, "/etc/x");
  EXPECT_FALSE(parse_sendmail_options({"-bt"}).ok());
}

TEST(SendmailOptions, QueueRuns) {
  auto once = parse_sendmail_options({"-q"});
  ASSERT_TRUE(once.ok());
  EXPECT_EQ(once->mode, Mode::QueueRun);
  EXPECT_EQ(once->queue_interval, "");
  auto periodic = parse_sendmail_options({"-q15m"});
  ASSERT_TRUE(periodic.ok());
  EXPECT_EQ(periodic->mode, Mode::QueueRun);
  EXPECT_EQ(periodic->queue_interval_seconds, 900);
  auto daemon = parse_sendmail_options({"-bd", "-q1h30m"});
  ASSERT_TRUE(daemon.ok());
  EXPECT_EQ(daemon->mode, Mode::Daemon);
  EXPECT_EQ(daemon->queue_interval_seconds, 5400);
  EXPECT_EQ(parse_sendmail_options({"-qR", "example.org"})->queue_site, "example.org");
  EXPECT_EQ(parse_sendmail_options({"-qRexample.org"})->queue_site, "example.org");
  EXPECT_EQ(parse_sendmail_options({"-qI0123"})->queue_id, "0123");
  EXPECT_FALSE(parse_sendmail_options({"-qx"}).ok());
  EXPECT_FALSE(parse_sendmail_options({"-q0m"}).ok());
  EXPECT_FALSE(parse_sendmail_options({"-bd", "-q"}).ok());
  EXPECT_FALSE(parse_sendmail_options({"-bs", "-q15m"}).ok());
  EXPECT_FALSE(parse_sendmail_options({"-q", "bob"}).ok());
}

TEST(SendmailOptions, UsageErrors) {
  EXPECT_FALSE(parse_sendmail_options({"-f"}).ok());
  EXPECT_FALSE(parse_sendmail_options({"-X", "/tmp/log"}).ok());
  EXPECT_FALSE(parse_sendmail_options({"-z"}).ok());
  EXPECT_FALSE(parse_sendmail_options({"-ix"}).ok());
}

}  // namespace
}  // namespace estafeta::cli
