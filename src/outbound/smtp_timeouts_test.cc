// Tests for timeout_for: which smtp_*_timeout parameter bounds the wait at each stage.
#include "outbound/smtp_timeouts.h"

#include <gtest/gtest.h>

namespace estafeta::outbound {
namespace {

TEST(SmtpTimeouts, EachStageHasPostfixsParameter) {
  // Distinct values, so a stage mapped to the wrong parameter shows.
  SmtpTimeouts t;
  t.connect = std::chrono::seconds(1);
  t.helo = std::chrono::seconds(2);
  t.starttls = std::chrono::seconds(3);
  t.mail = std::chrono::seconds(4);
  t.rcpt = std::chrono::seconds(5);
  t.data_init = std::chrono::seconds(6);
  t.data_xfer = std::chrono::seconds(7);
  t.data_done = std::chrono::seconds(8);
  t.quit = std::chrono::seconds(9);
  using S = smtp::ClientStage;
  const std::pair<S, int> cases[] = {
      {S::Greeting, 2},  {S::Ehlo, 2}, {S::Helo, 2}, {S::Auth, 2},   {S::StartTls, 3},
      {S::Rset, 4},      {S::Mail, 4}, {S::Rcpt, 5}, {S::Data, 6},   {S::Body, 7},
      {S::EndOfData, 8}, {S::Idle, 9}, {S::Quit, 9}, {S::Closed, 9},
  };
  for (const auto& [stage, seconds] : cases) {
    EXPECT_EQ(timeout_for(t, stage), std::chrono::seconds(seconds)) << static_cast<int>(stage);
  }
}

}  // namespace
}  // namespace estafeta::outbound
