// Tests for the anvil counters and verdicts on a FakeClock, and the pregreet texts.
#include "policy/anvil.h"

#include <gtest/gtest.h>

#include "policy/pregreet.h"

namespace estafeta::policy {
namespace {

using namespace std::chrono_literals;

AnvilClient client(std::string address = "192.0.2.1") {
  AnvilClient c;
  c.address = address;
  c.namaddr = "unknown[" + address + "]";
  c.service = "smtp";
  c.server_hostname = "mx.example";
  return c;
}

TEST(AnvilCounters, ConnectCountsLiveAndRate) {
  FakeClock clock;
  AnvilCounters counters(60s, 100, clock);
  auto a = counters.connect("192.0.2.1");
  EXPECT_EQ(a.count, 1);
  EXPECT_EQ(a.rate, 1);
  auto b = counters.connect("192.0.2.1");
  EXPECT_EQ(b.count, 2);
  EXPECT_EQ(b.rate, 2);
  counters.disconnect("192.0.2.1");
  auto c = counters.connect("192.0.2.1");
  EXPECT_EQ(c.count, 2);
  EXPECT_EQ(c.rate, 3);
  // Another client has counters of its own.
  EXPECT_EQ(counters.connect("192.0.2.2").rate, 1);
}

TEST(AnvilCounters, FixedWindowStartsWithFirstEvent) {
  FakeClock clock;
  AnvilCounters counters(60s, 100, clock);
  clock.advance(10s);
  EXPECT_EQ(counters.add(AnvilEvent::Message, "a"), 1);
  clock.advance(59s);  // 69 s: still in the window that began at 10 s
  EXPECT_EQ(counters.add(AnvilEvent::Message, "a"), 2);
  EXPECT_EQ(counters.add(AnvilEvent::Recipient, "a", 5), 5);
  clock.advance(1s);  // 70 s: a new window
  EXPECT_EQ(counters.add(AnvilEvent::Message, "a"), 1);
  EXPECT_EQ(counters.add(AnvilEvent::Recipient, "a", 0), 0);  // reading only
}

TEST(AnvilCounters, ReadingDoesNotCount) {
  FakeClock clock;
  AnvilCounters counters(60s, 100, clock);
  EXPECT_EQ(counters.add(AnvilEvent::NewTls, "a", 0), 0);
  EXPECT_EQ(counters.add(AnvilEvent::NewTls, "a"), 1);
  EXPECT_EQ(counters.add(AnvilEvent::NewTls, "a", 0), 1);
}

TEST(AnvilCounters, ClockGoingBackStartsANewWindow) {
  FakeClock clock(Clock::TimePoint{} + 1000s);
  AnvilCounters counters(60s, 100, clock);
  EXPECT_EQ(counters.add(AnvilEvent::Auth, "a"), 1);
  clock.set(Clock::TimePoint{} + 500s);
  EXPECT_EQ(counters.add(AnvilEvent::Auth, "a"), 1);
}

TEST(AnvilCounters, IdleClientsExpire) {
  FakeClock clock;
  AnvilCounters counters(60s, 100, clock);
  for (int i = 0; i < 50; ++i) counters.add(AnvilEvent::Message, "10.0.0." + std::to_string(i));
  EXPECT_EQ(counters.tracked_clients(), 50u);
  clock.advance(61s);
  counters.add(AnvilEvent::Message, "10.1.0.1");
  EXPECT_EQ(counters.tracked_clients(), 1u);
}

TEST(AnvilCounters, LiveConnectionOutlivesItsWindow) {
  FakeClock clock;
  AnvilCounters counters(60s, 100, clock);
  counters.connect("a");
  clock.advance(120s);
  counters.add(AnvilEvent::Message, "b");  // expires a's window, not its connection
  EXPECT_EQ(counters.tracked_clients(), 2u);
  EXPECT_EQ(counters.connect("a").count, 2);
  counters.disconnect("a");
  counters.disconnect("a");
  clock.advance(61s);
  counters.add(AnvilEvent::Message, "c");
  EXPECT_EQ(counters.tracked_clients(), 1u);
}

TEST(AnvilCounters, CapForgetsOldestWindowsFirst) {
  FakeClock clock;
  AnvilCounters counters(60s, 3, clock);
  counters.connect("live");  // a live connection is never forgotten
  for (const char* a : {"a", "b", "c", "d"}) {
    clock.advance(1s);
    counters.add(AnvilEvent::Message, a);
  }
  // Windows of live, a are gone (the cap is 3); live's connection stays counted.
  EXPECT_EQ(counters.tracked_clients(), 4u);  // live (no window), b, c, d
  EXPECT_EQ(counters.add(AnvilEvent::Message, "d"), 2);
  EXPECT_EQ(counters.add(AnvilEvent::Message, "a"), 1);  // forgotten: starts again
  EXPECT_EQ(counters.connect("live").count, 2);
  for (int i = 0; i < 10000; ++i) counters.add(AnvilEvent::Message, std::to_string(i));
  EXPECT_LE(counters.tracked_clients(), 4u);
}

TEST(AnvilCounters, DisconnectWithoutConnectIsHarmless) {
  FakeClock clock;
  AnvilCounters counters(60s, 100, clock);
  counters.disconnect("nobody");
  EXPECT_EQ(counters.tracked_clients(), 0u);
}

TEST(AnvilVerdicts, ConnectionCountAndRate) {
  AnvilLimits limits;
  limits.connection_count = 2;
  limits.connection_rate = 3;
  EXPECT_TRUE(judge_connection_count(2, limits, client()).allowed);
  AnvilVerdict v = judge_connection_count(3, limits, client());
  EXPECT_FALSE(v.allowed);
  EXPECT_TRUE(v.close);
  EXPECT_EQ(v.reply, "421 4.7.0 mx.example Error: too many connections from 192.0.2.1");
  EXPECT_EQ(v.warning,
            "Connection concurrency limit exceeded: 3 from unknown[192.0.2.1] for service smtp");
  EXPECT_TRUE(judge_rate(AnvilEvent::Connection, 3, limits, client()).allowed);
  v = judge_rate(AnvilEvent::Connection, 4, limits, client());
  EXPECT_FALSE(v.allowed);
  EXPECT_EQ(v.reply, "421 4.7.0 mx.example Error: too many connections from 192.0.2.1");
  EXPECT_EQ(v.warning,
            "Connection rate limit exceeded: 4 from unknown[192.0.2.1] for service smtp");
}

TEST(AnvilVerdicts, PostfixTextsForEachEvent) {
  AnvilLimits limits;
  limits.message_rate = limits.recipient_rate = limits.new_tls_rate = limits.auth_rate = 1;
  struct Case {
    AnvilEvent event;
    const char* reply;
    const char* warning;
    bool close;
  };
  const Case cases[] = {
      {AnvilEvent::Message, "450 4.7.1 Error: too much mail from 192.0.2.1",
       "Message delivery request rate limit exceeded: 2 from unknown[192.0.2.1] for service smtp",
       false},
      {AnvilEvent::Recipient, "450 4.7.1 Error: too many recipients from 192.0.2.1",
       "Recipient address rate limit exceeded: 2 from unknown[192.0.2.1] for service smtp", false},
      {AnvilEvent::NewTls,
       "421 4.7.0 mx.example Error: too many new TLS sessions from unknown[192.0.2.1]",
       "New TLS session rate limit exceeded: 2 from unknown[192.0.2.1] for service smtp", true},
      {AnvilEvent::Auth, "450 4.7.1 Error: too many AUTH commands from 192.0.2.1",
       "AUTH command rate limit exceeded: 2 from unknown[192.0.2.1] for service smtp", false},
  };
  for (const Case& c : cases) {
    EXPECT_TRUE(judge_rate(c.event, 1, limits, client()).allowed) << anvil_event_name(c.event);
    AnvilVerdict v = judge_rate(c.event, 2, limits, client());
    EXPECT_FALSE(v.allowed);
    EXPECT_EQ(v.reply, c.reply);
    EXPECT_EQ(v.warning, c.warning);
    EXPECT_EQ(v.close, c.close);
    EXPECT_EQ(v.value, 2);
  }
  AnvilVerdict v = judge_starttls(2, limits, client());
  EXPECT_FALSE(v.allowed);
  EXPECT_FALSE(v.close);
  EXPECT_EQ(v.reply, "454 4.7.0 Error: too many new TLS sessions from unknown[192.0.2.1]");
  EXPECT_EQ(v.warning, "Refusing STARTTLS request from unknown[192.0.2.1] for service smtp");
  EXPECT_TRUE(judge_starttls(1, limits, client()).allowed);
}

TEST(AnvilVerdicts, ZeroIsNoLimitAndExemptClientsPass) {
  AnvilLimits limits;
  limits.connection_count = 0;
  EXPECT_TRUE(judge_connection_count(1000000, limits, client()).allowed);
  for (AnvilEvent e : {AnvilEvent::Connection, AnvilEvent::Message, AnvilEvent::Recipient,
                       AnvilEvent::NewTls, AnvilEvent::Auth}) {
    EXPECT_TRUE(judge_rate(e, 1000000, limits, client()).allowed);
  }
  limits.connection_count = 1;
  limits.message_rate = 1;
  AnvilClient exempt = client();
  exempt.exempt = true;
  EXPECT_TRUE(judge_connection_count(5, limits, exempt).allowed);
  EXPECT_TRUE(judge_rate(AnvilEvent::Message, 5, limits, exempt).allowed);
}

TEST(SharedCounterHealth, OneWarningOneNoticeAndRetryPacing) {
  using T = SharedCounterHealth::TimePoint;
  SharedCounterHealth health("redis:127.0.0.1:6379", std::chrono::milliseconds(1000));
  T t0{};
  EXPECT_TRUE(health.may_try(t0));
  EXPECT_EQ(health.succeeded(), std::nullopt);
  auto warning = health.failed(t0, "Connection refused");
  ASSERT_TRUE(warning);
  EXPECT_NE(warning->find("redis:127.0.0.1:6379 unavailable (Connection refused)"),
            std::string::npos);
  EXPECT_FALSE(health.may_try(t0 + 999ms));
  EXPECT_TRUE(health.may_try(t0 + 1000ms));
  EXPECT_EQ(health.failed(t0 + 1000ms, "again"), std::nullopt);  // one warning only
  EXPECT_FALSE(health.may_try(t0 + 1500ms));
  auto notice = health.succeeded();
  ASSERT_TRUE(notice);
  EXPECT_NE(notice->find("answer again"), std::string::npos);
  EXPECT_EQ(health.succeeded(), std::nullopt);
  EXPECT_TRUE(health.may_try(t0 + 1500ms));
}

TEST(Pregreet, LogLinesAsPostscreen) {
  EXPECT_EQ(pregreet_log_line("EHLO x\r\n", std::chrono::milliseconds(80), "192.0.2.1", 5678),
            "PREGREET 8 after 0.08 from [192.0.2.1]:5678: EHLO x\\r\\n");
  EXPECT_EQ(pregreet_hangup_log_line(std::chrono::milliseconds(1500), "::1", 7),
            "HANGUP after 1.50 from [::1]:7 in smtpd_greet_pause");
  EXPECT_EQ(escape_for_log(std::string("a\tb\\\x01\xff", 6)), "a\\tb\\\\\\001\\377");
  std::string long_line(300, 'x');
  std::string line = pregreet_log_line(long_line, std::chrono::milliseconds(0), "a", 1);
  EXPECT_EQ(line, "PREGREET 300 after 0.00 from [a]:1: " + std::string(100, 'x'));
}

}  // namespace
}  // namespace estafeta::policy
