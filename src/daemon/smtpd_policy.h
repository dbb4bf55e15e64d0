// SessionPolicy: smtpd's answer to a session's policy pauses (smtp::CheckPolicy), Postfix's
// smtpd_check at the edge. For each stage it gathers the facts the pure restriction engine
// needs (policy/restriction_evaluator.h: the client's names, the resolver's view of the
// sender and recipient, whether the recipient tables list them), runs the engine and meets
// its needs without blocking the event loop: table lookups (on a maps::LookupPool when a
// table is remote), DNS queries (outbound::DnsResolver on the loop: A/AAAA, MX, NS, TXT;
// answered from the process's policy::DnsAnswerCache while their TTL lasts), policy services
// (daemon/policy_client.h) and sleeps; then, at RCPT and VRFY, the implicit
// smtpd_reject_unlisted_recipient check. Its verdict becomes an smtp::PolicyDecision with
// the transaction actions and log notes. One per session; keeps the StageMemory between
// stages (smtpd_delay_reject = no) and the sender's facts of the current transaction, which
// are resolved once and reused at MAIL, RCPT, DATA and end of data.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "daemon/policy_client.h"
#include "daemon/smtpd_settings.h"
#include "log/logger.h"
#include "maps/lookup_pool.h"
#include "outbound/dns_resolver.h"
#include "policy/dns_answer_cache.h"
#include "policy/restriction_evaluator.h"
#include "smtp/policy_facts.h"

namespace estafeta::daemon {

/// What a SessionPolicy borrows; everything outlives the session.
struct PolicyServices {
  asio::io_context& io;
  const log::Logger& log;
  const SmtpdSettings& settings;
  maps::LookupPool* lookups = nullptr;    // null: no remote table, everything inline
  outbound::DnsResolver* dns = nullptr;   // null: DNS needs fail temporarily (logged)
  PolicyClient* policy_client = nullptr;  // null: policy services answer the default action
  /// The process's cache of DNS answers, used on the loop's thread only; null: every need
  /// is asked of `dns`.
  policy::DnsAnswerCache* dns_cache = nullptr;
};

class SessionPolicy {
 public:
  explicit SessionPolicy(PolicyServices services);

  asio::awaitable<smtp::PolicyDecision> decide(const smtp::PolicyFacts& facts);

 private:
  policy::PolicyFacts engine_facts(const smtp::PolicyFacts& facts,
                                   const policy::RecipientExamination* recipient);
  /// The sender's AddressFacts (resolution and reject_unlisted_sender's table check), from
  /// the cache when it holds this transaction and sender; a temporary failure is not kept.
  policy::AddressFacts sender_facts(const smtp::PolicyFacts& facts);
  /// Runs `work` inline, or on the lookup pool when `remote`.
  asio::awaitable<void> run_step(std::function<void()> work, bool remote);
  /// From the cache if it holds the answer, else asked (and the answer kept for its TTL).
  asio::awaitable<policy::DnsAnswer> dns(const policy::DnsNeed& need);
  /// Asks the resolver; `ttl` is set to how long the answer may be kept.
  asio::awaitable<policy::DnsAnswer> ask_dns(const policy::DnsNeed& need, uint32_t& ttl);
  asio::awaitable<policy::PolicyAnswer> ask_service(const policy::PolicyNeed& need);

  PolicyServices services_;
  policy::StageMemory memory_;
  /// The sender's facts for one transaction and sender (a refused MAIL keeps the transaction
  /// number, so the sender is part of the key). Written only by the one decide() running.
  struct SenderFacts {
    uint64_t transaction = 0;
    std::string sender;
    policy::AddressFacts facts;
  };
  std::optional<SenderFacts> sender_facts_;
  std::string instance_prefix_;  // unique per session; ".N" per transaction (policy "instance")
};

}  // namespace estafeta::daemon
