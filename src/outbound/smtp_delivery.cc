// The smtp agent's delivery of one request across its next hops. See smtp_delivery.h.
#include "outbound/smtp_delivery.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/clock.h"
#include "delivery/agent_common.h"
#include "log/delivery_line.h"
#include "outbound/dane.h"
#include "outbound/idn.h"
#include "outbound/mta_sts_plan.h"
#include "outbound/mx_lookup.h"
#include "outbound/next_hop.h"
#include "outbound/smtp_delivery_state.h"
#include "outbound/tls_plan.h"

// XXX GCC 12 at -O2 reported -Wmismatched-new-delete on the coroutine frames of try_server
// and deliver since the connection cache came in (the construct that tips its inlining was
// not pinned down). Both ends are asio's awaitable frame operator new/delete (it sees
// asio::aligned_new on one path), so the warning is taken as false. Since smtp_delivery.cc
// was split in parts GCC 12 no longer reports it (at -O2 or -O3); kept in the two files of
// those coroutines, as the trigger is not understood.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace estafeta::outbound {
namespace {

double seconds_between(int64_t from_us, int64_t to_us) {
  return static_cast<double>(std::max<int64_t>(0, to_us - from_us)) / 1e6;
}

}  // namespace

SmtpDelivery::SmtpDelivery(asio::io_context& io, SmtpDeliverySettings settings, DnsResolver& dns,
                           std::shared_ptr<asio::ssl::context> tls_context,
                           PolicyLookup tls_policy, log::Logger log,
                           PolicyLookup sasl_passwords)
    : io_(io),
      settings_(std::move(settings)),
      dns_(dns),
      tls_context_(std::move(tls_context)),
      tls_policy_(std::move(tls_policy)),
      log_(std::move(log)),
      sasl_passwords_(std::move(sasl_passwords)),
      store_(delivery::open_queue_for_agent(settings_.queue_directory, log_)),
      random_(std::random_device{}()),
      cache_(settings_.cache_limits, clock_),
      cache_timer_(io) {}

SmtpDelivery::~SmtpDelivery() = default;

asio::awaitable<qmgr::AgentReply> SmtpDelivery::deliver(qmgr::AgentRequest request) {
  const int64_t start_us = system_now_us();
  delivery::RequestMessage read = delivery::read_request_message(store_.get(), request, "none", log_);
  if (read.deferred) co_return *read.deferred;
  const message::Envelope& env = read.read.value->file.envelope;
  const std::string& content = read.read.value->file.content;

  Attempt attempt;
  attempt.request = &request;
  attempt.envelope = &env;
  attempt.content = &content;
  const size_t n = request.recipients.size();
  attempt.results.resize(n);
  attempt.relays.assign(n, "none");
  attempt.done_us.assign(n, 0);
  attempt.conn_use.assign(n, 0);
  attempt.cache_wanted = settings_.cache_on_demand && request.more_mail;
  if (!attempt.cache_wanted) {
    auto listed = cache_destination_listed(settings_.cache_destinations,
                                           cache_destination_tables_, request.next_hop);
    if (listed.ok()) {
      attempt.cache_wanted = *listed;
    } else {
      log_.warning("{}", listed.error().message);  // then no connection is kept
    }
  }

  auto settle_all = [&](const AttemptFailure& f) {
    for (size_t i = 0; i < n; ++i) {
      if (attempt.results[i]) continue;
      attempt.results[i] = delivery::recipient_reply(
          request.recipients[i],
          f.permanent ? qmgr::RecipientOutcome::kBounced : qmgr::RecipientOutcome::kDeferred,
          f.dsn, f.text, attempt.relays[i]);
      attempt.results[i]->diagnostic = f.diagnostic;
      attempt.done_us[i] = system_now_us();
    }
  };
  for (size_t i = 0; i < n; ++i) {
    const qmgr::AgentRecipient& r = request.recipients[i];
    if (r.index >= env.recipients.size() || env.recipients[r.index].address != r.address) {
      attempt.results[i] = delivery::recipient_reply(r, qmgr::RecipientOutcome::kDeferred, "4.3.0",
                                                     "recipient not in the queue file", "none");
    }
  }

  bool table_entry = false;
  auto policy = tls_policy_for(settings_.tls, tls_policy_, request.next_hop, table_entry);
  if (!policy.ok()) {
    const TlsRefusal r = invalid_policy_reason(request.next_hop, policy.error());
    settle_all(AttemptFailure{r.status, r.text});
  } else if (policy->defer_reason) {
    settle_all(AttemptFailure{"4.7.5", *policy->defer_reason});
  } else if (policy->effective_level != TlsLevel::None && tls_context_ == nullptr &&
             policy->effective_level != TlsLevel::May) {
    settle_all(AttemptFailure{"4.7.5", "TLS is required, but the client's TLS settings cannot be used"});
  } else {
    attempt.tls = *policy;
    if (is_dane_level(policy->level) && !settings_.dnssec) {
      log_.warning(dane_without_dnssec_warning(policy->level));
    }
  }

  // The next hop, then smtp_fallback_relay's, while recipients are left without an answer
  // that is not ambiguous.
  std::vector<std::string> hops = {request.next_hop};
  for (const std::string& f : settings_.fallback_relay) {
    if (f != request.next_hop) hops.push_back(f);
  }
  const RandomBelow random = [this](size_t below) {
    return static_cast<size_t>(std::uniform_int_distribution<size_t>(0, below - 1)(random_));
  };
  for (size_t h = 0; h < hops.size() && !attempt.all_done() && !attempt.ambiguous; ++h) {
    if (h == 0 && !closing_) {
      // An idle connection to the next hop: no DNS, no connection set-up.
      const ConnectionLabels labels = connection_cache_labels(hops[h], "", 0, attempt.tls, "");
      if (auto taken = cache_.take_by_destination(labels.destination)) {
        ConnectionPtr c = std::move(taken->connection);
        c->use = taken->use;
        const DeliveryTarget target = c->target;
        const uint16_t port = c->port;
        co_await try_server(attempt, target, port, hops[h], true, std::move(c));
        if (attempt.all_done() || attempt.ambiguous) break;
      }
    }
    auto hop = parse_next_hop(hops[h]);
    if (!hop.ok()) {
      attempt.last_failure =
          AttemptFailure{"4.3.5", fmt::format("bad next-hop {}: {}", hops[h], hop.error().message)};
      continue;
    }
    // An internationalized destination is looked up by its A-labels.
    if (auto ascii = domain_to_ascii(hop->host); ascii.ok()) {
      hop->host = std::move(*ascii);
    } else {
      AttemptFailure f{"5.1.2",
                fmt::format("bad destination domain {}: {}", hop->host, ascii.error().message),
                "", true};
      if (h == 0) {
        settle_all(f);
        break;
      }
      attempt.last_failure = f;
      continue;
    }
    MxPlan plan = co_await plan_delivery(dns_, hop->host, hop->mx_lookup, settings_.mx, random);
    if (plan.failure) {
      // A permanent name service failure of the destination itself ends it (a fallback relay
      // is for servers that cannot be reached, not for domains that do not exist).
      AttemptFailure f{plan.failure->dsn, plan.failure->text, "", plan.failure->permanent};
      if (f.permanent && h == 0) {
        settle_all(f);
        break;
      }
      attempt.last_failure = f;
      continue;
    }
    // MTA-STS: the destination's own MX hosts only (not a fallback relay, not [host]).
    // DANE takes precedence (RFC 8461 section 2) where it applies to the destination: a DANE
    // level with validated DNS and a validated MX answer (the TLSA records then decide per
    // server).
    const bool dane_usable =
        is_dane_level(attempt.tls.level) && settings_.dnssec &&
        std::any_of(plan.targets.begin(), plan.targets.end(),
                    [](const DeliveryTarget& t) { return t.mx_secure && t.address_secure; });
    std::optional<MtaStsPolicy> sts;
    if (h == 0 && mta_sts_ != nullptr && policy.ok() &&
        mta_sts_applies({mta_sts_->enabled(), hop->mx_lookup, table_entry, dane_usable})) {
      sts = co_await mta_sts_->policy_for(hop->host);
    }
    MtaStsApplied applied = apply_mta_sts(sts, hop->host, std::move(plan.targets));
    for (const std::string& line : applied.log_lines) log_.warning("{}", line);
    if (applied.defer) {
      attempt.last_failure = AttemptFailure{"4.7.5", *applied.defer};
      continue;
    }
    const TlsPolicy hop_tls = attempt.tls;
    if (applied.enforce) attempt.tls = mta_sts_tls_policy(settings_.tls);
    attempt.sts_testing = applied.testing ? hop->host : "";
    size_t sessions = 0;
    for (const DeliveryTarget& target : applied.targets) {
      if (attempt.all_done() || attempt.ambiguous) break;
      if (settings_.mx.mx_session_limit != 0 && sessions >= settings_.mx.mx_session_limit) break;
      if (co_await try_server(attempt, target, hop->port, hops[h])) ++sessions;
    }
    attempt.tls = hop_tls;
    attempt.sts_testing.clear();
    // An enforced policy that no server could meet: the deferral says so.
    if (applied.enforce && !attempt.any_session && attempt.last_failure &&
        attempt.last_failure->dsn.starts_with("4.7.")) {
      attempt.last_failure->dsn = "4.7.5";
      attempt.last_failure->text = mta_sts_defer_text(hop->host, attempt.last_failure->text);
    }
  }
  const bool reached = attempt.any_session;
  settle_all(attempt.last_failure.value_or(AttemptFailure{"4.4.1", "no server to try"}));

  qmgr::AgentReply reply;
  reply.id = request.id;
  if (!reached && attempt.last_failure) reply.destination_failure = attempt.last_failure->text;
  const int64_t end_us = system_now_us();
  for (size_t i = 0; i < n; ++i) {
    qmgr::RecipientReply& out = *attempt.results[i];
    if (out.relay.empty()) out.relay = attempt.relays[i];
    log::DeliveryLine line;
    line.queue_id = request.queue_id;
    line.to = request.recipients[i].address;
    const std::string& orcpt = request.recipients[i].orcpt;
    if (orcpt.size() > 7 && (orcpt.starts_with("rfc822;") || orcpt.starts_with("RFC822;"))) {
      line.orig_to = orcpt.substr(7);
    }
    line.relay = out.relay.empty() ? "none" : out.relay;
    line.conn_use = static_cast<int>(attempt.conn_use[i]);
    line.delay = seconds_between(env.arrival_us, end_us);
    line.a = seconds_between(env.arrival_us, start_us);
    const int64_t ready = attempt.ready_us != 0 ? attempt.ready_us : end_us;
    line.c = seconds_between(start_us, ready);
    line.d = seconds_between(ready, attempt.done_us[i] != 0 ? attempt.done_us[i] : end_us);
    line.dsn = out.status;
    line.status = std::string(delivery::status_word(out.outcome));
    line.reason = out.reason;
    log_.info(log::delivery_line(line));
    reply.recipients.push_back(std::move(out));
  }
  co_return reply;
}

}  // namespace estafeta::outbound
