// SessionPolicy's sender facts: resolved once per transaction and sender, never carried into
// the next transaction or over to another sender of a refused MAIL.
#include "daemon/smtpd_policy.h"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <memory>
#include <optional>

#include "log/memory_sink.h"
#include "route/route_config.h"

namespace estafeta::daemon {
namespace {

class SessionPolicyTest : public ::testing::Test {
 protected:
  void configure(std::string_view main_cf) {
    auto loaded = config::Config::parse(main_cf, "main.cf", "/etc/estafeta", "mx.example.org");
    ASSERT_TRUE(loaded.config.has_value());
    auto tables = maps::MapSet::open(smtpd_table_specs(*loaded.config), {},
                                     route::recipient_map_specs(*loaded.config))
                      .set;
    auto made = make_smtpd_settings(*loaded.config, 10, tables);
    ASSERT_TRUE(made.ok()) << made.error().message;
    settings_.emplace(std::move(*made));
    policy_.emplace(PolicyServices{io_, log_, *settings_});
  }

  // The policy's decision for a command of transaction `transaction` from `sender`.
  smtp::PolicyDecision decide(smtp::PolicyStage stage, uint64_t transaction,
                              const std::string& sender) {
    smtp::PolicyFacts facts;
    facts.stage = stage;
    facts.client_address = "127.0.0.1";
    facts.client_port = 40000;
    facts.helo = "client.example.net";
    facts.protocol = "ESMTP";
    facts.have_mail = true;
    facts.transaction = transaction;
    facts.sender = sender;
    if (stage == smtp::PolicyStage::Rcpt) facts.recipient = "someone@elsewhere.example";
    std::optional<smtp::PolicyDecision> decision;
    asio::co_spawn(
        io_,
        [&]() -> asio::awaitable<void> { decision = co_await policy_->decide(facts); },
        asio::detached);
    io_.restart();
    io_.run();
    EXPECT_TRUE(decision.has_value());
    return decision.value_or(smtp::PolicyDecision::refuse("no decision"));
  }

  asio::io_context io_;
  log::Logger log_{std::make_shared<log::MemorySink>(), "estafeta/smtpd"};
  std::optional<SmtpdSettings> settings_;
  std::optional<SessionPolicy> policy_;
};

// check_sender_access looks up the resolved sender, one of the cached facts: a stale cache
// would look up the first sender again and let the second one through.
constexpr std::string_view kRejectSecondSender =
    "smtpd_sender_restrictions = check_sender_access inline:{second@example.net=REJECT}\n";

TEST_F(SessionPolicyTest, SenderFactsFollowTheTransaction) {
  configure(kRejectSecondSender);
  EXPECT_TRUE(decide(smtp::PolicyStage::Rcpt, 1, "first@example.net").accepted);
  EXPECT_TRUE(decide(smtp::PolicyStage::Rcpt, 1, "first@example.net").accepted);
  smtp::PolicyDecision second = decide(smtp::PolicyStage::Rcpt, 2, "second@example.net");
  EXPECT_FALSE(second.accepted);
  EXPECT_NE(second.reply.find("<second@example.net>: Sender address rejected"), std::string::npos)
      << second.reply;
  EXPECT_FALSE(decide(smtp::PolicyStage::Rcpt, 2, "second@example.net").accepted);
  EXPECT_TRUE(decide(smtp::PolicyStage::Rcpt, 3, "first@example.net").accepted);
}

TEST_F(SessionPolicyTest, SenderFactsFollowTheSenderOfARefusedMail) {
  // smtpd_delay_reject = no: decided at MAIL; a refused MAIL leaves the transaction number
  // as it was, so the next MAIL has the same number and another sender.
  configure(std::string(kRejectSecondSender) + "smtpd_delay_reject = no\n");
  EXPECT_FALSE(decide(smtp::PolicyStage::Mail, 1, "second@example.net").accepted);
  EXPECT_TRUE(decide(smtp::PolicyStage::Mail, 1, "first@example.net").accepted);
  EXPECT_TRUE(decide(smtp::PolicyStage::Rcpt, 1, "first@example.net").accepted);
  EXPECT_FALSE(decide(smtp::PolicyStage::Mail, 2, "second@example.net").accepted);
}

}  // namespace
}  // namespace estafeta::daemon
