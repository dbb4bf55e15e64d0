// smtpd's policy decisions at the edge (see smtpd_policy.h).
#include "daemon/smtpd_policy.h"

#include <fmt/format.h>
#include <unistd.h>

#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <utility>

#include "daemon/loop_offload.h"
#include "policy/address_facts.h"

// XXX GCC 12 at -O2 reports -Wmismatched-new-delete on the frame of decide() since dns()
// gained its NS case, as on outbound/smtp_delivery.cc's coroutines: both ends are asio's
// awaitable frame operator new/delete, so the warning is taken as false.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace estafeta::daemon {
namespace {

policy::NameStatus engine_status(smtp::NameStatus status) {
  switch (status) {
    case smtp::NameStatus::Ok: return policy::NameStatus::Ok;
    case smtp::NameStatus::TempFail: return policy::NameStatus::Temporary;
    case smtp::NameStatus::NotFound: return policy::NameStatus::Permanent;
  }
  return policy::NameStatus::Permanent;
}

policy::Stage engine_stage(smtp::PolicyStage stage) {
  switch (stage) {
    case smtp::PolicyStage::Connect: return policy::Stage::Connect;
    case smtp::PolicyStage::Helo: return policy::Stage::Helo;
    case smtp::PolicyStage::Mail: return policy::Stage::Mail;
    case smtp::PolicyStage::Rcpt: return policy::Stage::Rcpt;
    case smtp::PolicyStage::Data: return policy::Stage::Data;
    case smtp::PolicyStage::EndOfData: return policy::Stage::EndOfData;
    case smtp::PolicyStage::Etrn: return policy::Stage::Etrn;
    case smtp::PolicyStage::Vrfy: return policy::Stage::Vrfy;
  }
  return policy::Stage::Rcpt;
}

template <class T>
policy::DnsAnswer::Status answer_status(const outbound::DnsAnswer<T>& answer) {
  switch (answer.status) {
    case outbound::DnsStatus::Ok: return policy::DnsAnswer::Status::Ok;
    case outbound::DnsStatus::NoData: return policy::DnsAnswer::Status::NoData;
    case outbound::DnsStatus::NotFound: return policy::DnsAnswer::Status::NotFound;
    case outbound::DnsStatus::TempFail: return policy::DnsAnswer::Status::TempFail;
  }
  return policy::DnsAnswer::Status::TempFail;
}

// The engine's answer for the resolver's `answer` of any record type: its status and reason,
// with its TTL in `ttl`; the caller adds the values.
template <class T>
policy::DnsAnswer engine_answer(const outbound::DnsAnswer<T>& answer, uint32_t& ttl) {
  policy::DnsAnswer out;
  out.status = answer_status(answer);
  out.reason = answer.reason;
  ttl = answer.ttl;
  return out;
}

// The engine's work between two asynchronous needs: next() until a need that is not a table
// lookup, each lookup answered in place. Runs on a pool thread when a table (or mynetworks)
// may block on the network.
policy::Step advance(const maps::MapSet& tables, policy::RestrictionEvaluator& evaluator) {
  for (;;) {
    policy::Step step = evaluator.next();
    auto* need = std::get_if<policy::Need>(&step);
    if (need == nullptr) return step;
    auto* lookup = std::get_if<policy::LookupNeed>(need);
    if (lookup == nullptr) return step;
    const maps::Map* table = tables.find(lookup->table);
    evaluator.answer_lookup(table == nullptr
                                ? maps::LookupResult::temp_fail("table is not open")
                                : table->lookup(lookup->key));
  }
}

// The DRAC store's records (Redis went down or came back), written on the loop's thread.
void log_drac_records(const std::vector<std::pair<std::string, std::string>>& records,
                      const log::Logger& log) {
  for (const auto& record : records) {
    if (record.first == "warning") {
      log.warning("{}", record.second);
    } else {
      log.info("{}: {}", record.first, record.second);
    }
  }
}

// The engine's verdict as the session's decision: refusals keep the engine's reply; its log
// records become notes (the session logs them in Postfix's form) except the rejection
// itself, which the session logs with its reply.
smtp::PolicyDecision to_decision(const policy::Verdict& verdict, const log::Logger& log) {
  smtp::PolicyDecision d;
  d.accepted = verdict.accepted;
  d.reply = verdict.reply;
  d.disconnect = verdict.disconnect;
  const policy::TransactionActions& a = verdict.actions;
  d.actions.discard = a.discard;
  d.actions.queue.hold = a.hold;
  d.actions.prepend = a.prepend;
  if (a.redirect) d.actions.queue.redirect = *a.redirect;
  if (a.filter) d.actions.queue.filter = *a.filter;
  d.actions.queue.bcc = a.bcc;
  for (const policy::LogEntry& entry : verdict.log) {
    if (entry.kind == "warning") {
      log.warning("{}", entry.text);
    } else if (entry.kind != "reject") {
      d.notes.push_back({entry.kind, entry.text});
    }
  }
  return d;
}

}  // namespace

SessionPolicy::SessionPolicy(PolicyServices services) : services_(services) {
  // Unique per session without a random device per connection (that cost 1.6% of smtpd's
  // CPU with one message per connection): the process and the session's start in ns, as
  // Postfix builds its own instance from the pid, the time and a counter.
  const auto started = std::chrono::steady_clock::now().time_since_epoch();
  instance_prefix_ = fmt::format(
      "{:x}.{:x}", ::getpid(),
      std::chrono::duration_cast<std::chrono::nanoseconds>(started).count());
}

policy::AddressFacts SessionPolicy::sender_facts(const smtp::PolicyFacts& f) {
  if (sender_facts_ && sender_facts_->transaction == f.transaction &&
      sender_facts_->sender == f.sender) {
    return sender_facts_->facts;
  }
  const SmtpdSettings& settings = services_.settings;
  policy::AddressFacts facts = policy::resolve_address_facts(settings.recipients.route, f.sender);
  if (settings.restrictions_use_unlisted_sender) {
    policy::RecipientExamination listed = policy::examine_recipient(settings.recipients, f.sender);
    facts.listed = listed.temp_fail ? policy::Match::TempFail : listed.listed;
    facts.unlisted_code = listed.unlisted_code;
    facts.unlisted_table = listed.unlisted_table;
  }
  // A table that could not answer is asked again at the next stage.
  if (facts.authorized == policy::Match::TempFail || facts.listed == policy::Match::TempFail) {
    sender_facts_.reset();
  } else {
    sender_facts_ = SenderFacts{f.transaction, f.sender, facts};
  }
  return facts;
}

policy::PolicyFacts SessionPolicy::engine_facts(
    const smtp::PolicyFacts& f, const policy::RecipientExamination* recipient) {
  policy::PolicyFacts e;
  e.client_address = f.client_address;
  e.client_port = std::to_string(f.client_port);
  e.client_name = f.client_name;
  e.client_name_status = engine_status(f.client_name_status);
  e.reverse_client_name = f.reverse_client_name;
  e.reverse_client_name_status = engine_status(f.reverse_client_name_status);
  if (!f.helo.empty()) e.helo = f.helo;
  e.ehlo = f.ehlo;
  e.protocol = f.protocol;
  if (f.have_mail) {
    e.sender = f.sender;
    if (!f.sender.empty()) e.sender_facts = sender_facts(f);
  }
  if (f.stage == smtp::PolicyStage::Rcpt || f.stage == smtp::PolicyStage::Vrfy) {
    e.recipient = f.recipient;
    if (recipient != nullptr) {
      policy::AddressFacts& r = e.recipient_facts;
      if (recipient->temp_fail) {
        r.authorized = policy::Match::TempFail;
        r.listed = policy::Match::TempFail;
      } else {
        r.authorized = recipient->authorized ? policy::Match::Yes : policy::Match::No;
        r.final_destination = recipient->final_destination;
        r.routed = recipient->resolution.routed;
        r.resolved = recipient->resolution.recipient;
        r.listed = recipient->listed;
        r.unlisted_code = recipient->unlisted_code;
        r.unlisted_table = recipient->unlisted_table;
      }
    }
  }
  if (f.stage == smtp::PolicyStage::Etrn) e.etrn_domain = f.etrn_domain;
  e.sasl_method = f.sasl_method;
  e.sasl_username = f.sasl_username;
  e.sasl_sender = f.sasl_sender;
  e.tls.active = f.tls_active;
  e.size = f.size;
  e.recipient_count = f.recipient_count;
  e.unauth_pipelining = f.unauth_pipelining;
  e.instance = fmt::format("{}.{}", instance_prefix_, f.transaction);
  return e;
}

asio::awaitable<smtp::PolicyDecision> SessionPolicy::decide(const smtp::PolicyFacts& facts) {
  const SmtpdSettings& settings = services_.settings;
  const bool recipient_stage =
      facts.stage == smtp::PolicyStage::Rcpt || facts.stage == smtp::PolicyStage::Vrfy;
  const bool remote = services_.lookups != nullptr && settings.policy_has_remote_tables();

  // The facts and every synchronous step: on a pool thread when a table may block.
  struct Job {
    std::optional<policy::RecipientExamination> recipient;
    std::optional<policy::RestrictionEvaluator> evaluator;
    policy::Step step;
    std::vector<std::pair<std::string, std::string>> drac_log;  // the DRAC store's records
  };
  auto job = std::make_shared<Job>();
  std::function<void()> begin = [this, job, &facts, &settings, recipient_stage] {
    if (recipient_stage) {
      job->recipient = policy::examine_recipient(settings.recipients, facts.recipient);
    }
    policy::PolicyFacts engine =
        engine_facts(facts, job->recipient ? &*job->recipient : nullptr);
    if (settings.drac != nullptr) {
      // permit_drac_client's fact, here because Redis may be asked (then on the pool).
      engine.drac_client = settings.drac->granted(
          facts.client_address, [job](std::string_view kind, const std::string& text) {
            job->drac_log.emplace_back(std::string(kind), text);
          });
    }
    job->evaluator.emplace(*settings.restrictions, engine_stage(facts.stage), std::move(engine),
                           memory_);
    job->step = advance(*settings.tables, *job->evaluator);
  };
  std::function<void()> step_on = [job, &settings] {
    job->step = advance(*settings.tables, *job->evaluator);
  };
  co_await run_step(std::move(begin), remote);
  log_drac_records(job->drac_log, services_.log);
  for (;;) {
    auto* need = std::get_if<policy::Need>(&job->step);
    if (need == nullptr) break;
    if (auto* dns_need = std::get_if<policy::DnsNeed>(need)) {
      policy::DnsAnswer answer = co_await dns(*dns_need);
      job->evaluator->answer_dns(std::move(answer));
    } else if (auto* policy_need = std::get_if<policy::PolicyNeed>(need)) {
      policy::PolicyAnswer answer = co_await ask_service(*policy_need);
      job->evaluator->answer_policy(std::move(answer));
    } else if (auto* sleep = std::get_if<policy::SleepNeed>(need)) {
      asio::steady_timer timer(services_.io, std::chrono::seconds(sleep->seconds));
      co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
      job->evaluator->answer_slept();
    }
    co_await run_step(step_on, remote);
  }
  policy::Verdict verdict = std::get<policy::Verdict>(job->step);
  memory_ = verdict.memory;
  smtp::PolicyDecision decision = to_decision(verdict, services_.log);
  // smtpd_reject_unlisted_recipient: after the lists, unless they ran reject_unlisted_recipient.
  if (decision.accepted && recipient_stage && job->recipient && !verdict.recipient_listed_checked) {
    const policy::RecipientExamination& r = *job->recipient;
    if (settings.recipients.reject_unlisted_recipient || r.unusable_mailbox_name) {
      if (r.temp_fail || r.listed == policy::Match::TempFail) {
        decision.accepted = false;
        decision.reply = policy::recipient_deferral_reply(facts.recipient);
      } else if (r.listed == policy::Match::No) {
        decision.accepted = false;
        decision.reply = policy::unknown_recipient_reply(facts.recipient, r);
      }
    }
  }
  co_return decision;
}

asio::awaitable<void> SessionPolicy::run_step(std::function<void()> work, bool remote) {
  if (!remote) {
    work();
    co_return;
  }
  // Named, not a temporary in the co_await expression: GCC 12 mishandles those.
  std::function<void(std::function<void(bool)>)> start = [pool = services_.lookups,
                                                          work](auto deliver) {
    pool->post([work, deliver] {
      work();
      deliver(true);
    });
  };
  co_await await_result(services_.io, std::move(start));
}

asio::awaitable<policy::DnsAnswer> SessionPolicy::dns(const policy::DnsNeed& need) {
  policy::DnsAnswerCache* cache = services_.dns_cache;
  if (cache != nullptr) {
    auto kept = cache->find(need.type, need.name, std::chrono::steady_clock::now());
    if (kept) co_return std::move(*kept);
  }
  uint32_t ttl = 0;
  policy::DnsAnswer answer = co_await ask_dns(need, ttl);
  if (cache != nullptr) {
    cache->store(need.type, need.name, answer, ttl, std::chrono::steady_clock::now());
  }
  co_return answer;
}

asio::awaitable<policy::DnsAnswer> SessionPolicy::ask_dns(const policy::DnsNeed& need,
                                                          uint32_t& ttl) {
  policy::DnsAnswer out;
  out.status = policy::DnsAnswer::Status::TempFail;
  if (services_.dns == nullptr) {
    services_.log.warning("DNS lookup of {} skipped: no resolver", need.name);
    co_return out;
  }
  switch (need.type) {
    case policy::DnsType::A:
    case policy::DnsType::Address: {
      auto answer = co_await services_.dns->addresses(
          need.name, need.type == policy::DnsType::A ? outbound::Families::Ipv4
                                                     : outbound::Families::Both);
      out = engine_answer(answer, ttl);
      for (const auto& address : answer.records) out.values.push_back(address.to_string());
      break;
    }
    case policy::DnsType::TXT: {
      auto answer = co_await services_.dns->txt(need.name);
      out = engine_answer(answer, ttl);
      out.values = answer.records;
      break;
    }
    case policy::DnsType::MX: {
      auto answer = co_await services_.dns->mx(need.name);
      out = engine_answer(answer, ttl);
      for (const auto& mx : answer.records) {
        out.values.push_back(mx.host);
        out.preferences.push_back(mx.preference);
      }
      break;
    }
    case policy::DnsType::NS: {
      auto answer = co_await services_.dns->ns(need.name);
      out = engine_answer(answer, ttl);
      out.values = answer.records;
      break;
    }
  }
  co_return out;
}

asio::awaitable<policy::PolicyAnswer> SessionPolicy::ask_service(const policy::PolicyNeed& need) {
  policy::PolicyAnswer out;
  if (services_.policy_client == nullptr) co_return out;  // the engine's default action
  policy::PolicyAttributes attributes;
  for (const auto& [name, value] : need.attributes) attributes.push_back({name, value});
  PolicyAnswer answer = co_await services_.policy_client->query(
      need.service, std::move(attributes), services_.settings.policy_service);
  out.ok = !answer.from_default;
  out.action = std::move(answer.action);
  co_return out;
}

}  // namespace estafeta::daemon
