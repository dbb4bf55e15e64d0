// The command outcome rules (Postfix's sysexits table and pipe rules), table-driven.
#include "delivery/sys_exits.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace estafeta::delivery {
namespace {

TEST(SysExits, TableMatchesPostfix) {
  const struct {
    int code;
    const char* dsn;
    TaskStatus status;
    const char* text;
  } cases[] = {
      {64, "5.3.0", TaskStatus::Bounced, "command line usage error"},
      {65, "5.6.0", TaskStatus::Bounced, "data format error"},
      {66, "5.3.0", TaskStatus::Bounced, "cannot open input"},
      {67, "5.1.1", TaskStatus::Bounced, "user unknown"},
      {68, "5.1.2", TaskStatus::Bounced, "host name unknown"},
      {69, "5.3.0", TaskStatus::Bounced, "service unavailable"},
      {70, "5.3.0", TaskStatus::Bounced, "internal software error"},
      {71, "4.3.0", TaskStatus::Deferred, "system resource problem"},
      {72, "5.3.0", TaskStatus::Bounced, "critical OS file missing"},
      {73, "5.2.0", TaskStatus::Bounced, "can't create user output file"},
      {74, "5.3.0", TaskStatus::Bounced, "input/output error"},
      {75, "4.3.0", TaskStatus::Deferred, "temporary failure"},
      {76, "5.5.0", TaskStatus::Bounced, "remote error in protocol"},
      {77, "5.7.0", TaskStatus::Bounced, "permission denied"},
      {78, "5.3.5", TaskStatus::Bounced, "local configuration error"},
  };
  for (const auto& c : cases) {
    CommandEnd end;
    end.exit_code = c.code;
    TaskResult r = command_result(end, "cmd", "");
    EXPECT_EQ(r.dsn, c.dsn) << c.code;
    EXPECT_EQ(r.status, c.status) << c.code;
    EXPECT_EQ(r.text, c.text) << c.code;
  }
  EXPECT_FALSE(sys_exit(63).has_value());
  EXPECT_FALSE(sys_exit(79).has_value());
}

TEST(SysExits, OtherEndings) {
  CommandEnd ok;
  TaskResult r = command_result(ok, "procmail", "ignored");
  EXPECT_EQ(r.status, TaskStatus::Delivered);
  EXPECT_EQ(r.dsn, "2.0.0");
  EXPECT_EQ(r.text, "delivered to command: procmail");

  CommandEnd status1;
  status1.exit_code = 1;
  r = command_result(status1, "false", "");
  EXPECT_EQ(r.status, TaskStatus::Bounced);
  EXPECT_EQ(r.dsn, "5.3.0");
  EXPECT_EQ(r.text, "Command died with status 1: \"false\"");

  CommandEnd late;
  late.timed_out = true;
  r = command_result(late, "sleep 9", "zz");
  EXPECT_EQ(r.status, TaskStatus::Bounced);
  EXPECT_EQ(r.dsn, "5.3.0");
  EXPECT_EQ(r.text, "Command time limit exceeded: \"sleep 9\". Command output: zz");

  CommandEnd killed;
  killed.signaled = true;
  killed.signal = 9;
  r = command_result(killed, "x", "");
  EXPECT_EQ(r.status, TaskStatus::Deferred);
  EXPECT_EQ(r.dsn, "4.3.0");
  EXPECT_EQ(r.text, "Command died with signal 9: \"x\"");

  CommandEnd usage;
  usage.exit_code = 64;
  r = command_result(usage, "x", "bad flag");
  EXPECT_EQ(r.text, "command line usage error. Command output: bad flag");

  CommandEnd pipe_error;
  pipe_error.write_errno = EIO;
  r = command_result(pipe_error, "x", "");
  EXPECT_EQ(r.status, TaskStatus::Bounced);
  EXPECT_EQ(r.error_code, EIO);
}

TEST(SysExits, DsnInOutputWinsOnFailure) {
  const struct {
    const char* output;
    int exit_code;
    TaskStatus status;
    const char* dsn;
    const char* text;
  } cases[] = {
      {"4.2.2 over quota", 1, TaskStatus::Deferred, "4.2.2", "over quota"},
      {"5.1.1 no such user here", 75, TaskStatus::Bounced, "5.1.1", "no such user here"},
      {"5.7.100 x", 1, TaskStatus::Bounced, "5.7.100", "x"},
      {"5.1.1", 1, TaskStatus::Bounced, "5.1.1", "5.1.1"},
      {"2.0.0 fine", 1, TaskStatus::Bounced, "5.3.0",
       "Command died with status 1: \"c\". Command output: 2.0.0 fine"},
      {"5.1.1000 x", 1, TaskStatus::Bounced, "5.3.0",
       "Command died with status 1: \"c\". Command output: 5.1.1000 x"},
      {"4.2.2over", 75, TaskStatus::Deferred, "4.3.0",
       "temporary failure. Command output: 4.2.2over"},
  };
  for (const auto& c : cases) {
    CommandEnd end;
    end.exit_code = c.exit_code;
    TaskResult r = command_result(end, "c", c.output);
    EXPECT_EQ(r.status, c.status) << c.output;
    EXPECT_EQ(r.dsn, c.dsn) << c.output;
    EXPECT_EQ(r.text, c.text) << c.output;
  }
}

TEST(SysExits, OutputText) {
  EXPECT_EQ(command_output_text("line one\nline\ttwo\n\n"), "line one line two");
  EXPECT_EQ(command_output_text(std::string(3000, 'a')).size(), 1024u);
  EXPECT_EQ(command_output_text("a\x01\x7f b", 1024), "a   b");
}

}  // namespace
}  // namespace estafeta::delivery
