// The restriction-list engine; see restriction_evaluator.h: the step machine (next() and the
// answers), and the core of a Run (restriction_evaluator_internal.h): its questions to the
// caller, Postfix's rejection with warn_if_reject, defer_if_permit and defer_if_reject.
#include "policy/restriction_evaluator.h"

#include <fmt/format.h>

#include "policy/access_action.h"
#include "policy/restriction_evaluator_internal.h"

namespace estafeta::policy {
namespace {

constexpr size_t kMaxReply = 510;

}  // namespace

RestrictionEvaluator::Run::Run(RestrictionEvaluator& evaluator)
    : ev(evaluator),
      s(evaluator.settings_),
      f(evaluator.facts_),
      stage(evaluator.stage_),
      memory(evaluator.memory_) {
  recipient = f.recipient;
  if ((stage == Stage::Data || stage == Stage::EndOfData) && f.recipient_count != 1) {
    recipient.reset();  // one recipient would misrepresent a multi-recipient message
  }
  namaddr = fmt::format("{}[{}]", f.client_name, f.client_address);
  dip.code = memory.defer_code;
  dip.dsn = memory.defer_dsn;
  dip.text = memory.defer_text;
}

std::string RestrictionEvaluator::Run::rejected(std::string_view name, std::string_view klass,
                                                std::string_view text) {
  return fmt::format("<{}>: {} rejected: {}", name, klass, text);
}

std::string_view RestrictionEvaluator::Run::domain_of(std::string_view address) {
  size_t at = address.rfind('@');
  return at == std::string_view::npos ? std::string_view() : address.substr(at + 1);
}

bool RestrictionEvaluator::Run::is_literal(std::string_view domain) {
  return domain.size() >= 2 && domain.front() == '[' && domain.back() == ']';
}

// ---- Questions for the caller. ----

std::optional<maps::LookupResult> RestrictionEvaluator::Run::lookup(const std::string& table,
                                                                    const std::string& key) {
  auto it = ev.lookups_.find({table, key});
  if (it != ev.lookups_.end()) return it->second;
  need = LookupNeed{table, key};
  return std::nullopt;
}

std::optional<DnsAnswer> RestrictionEvaluator::Run::dns(const std::string& name, DnsType type) {
  auto it = ev.dns_.find({name, static_cast<int>(type)});
  if (it != ev.dns_.end()) return it->second;
  need = DnsNeed{name, type};
  return std::nullopt;
}

std::optional<PolicyAnswer> RestrictionEvaluator::Run::policy(PolicyNeed request) {
  if (policy_index < ev.policy_answers_.size()) return ev.policy_answers_[policy_index++];
  need = std::move(request);
  return std::nullopt;
}

bool RestrictionEvaluator::Run::slept(int seconds) {
  if (sleep_index < ev.sleeps_answered_) {
    ++sleep_index;
    return true;
  }
  need = SleepNeed{seconds};
  return false;
}

// ---- Outcomes. ----

void RestrictionEvaluator::Run::warning(std::string text) {
  log.push_back({"warning", std::move(text)});
}

// Postfix's smtpd_check_reject().
detail::Status RestrictionEvaluator::Run::reject(ErrorClass klass, int code, std::string_view dsn,
                                                 std::string_view text) {
  bool warn = warn_if_reject != 0 && klass != ErrorClass::Software && klass != ErrorClass::Resource;
  std::string reply = fmt::format("{} {} {}", code, dsn, text);
  if (code < 400 || code > 599) {
    warning(fmt::format("SMTP reply code configuration error: {}", reply));
    reply = "450 4.7.1 Service unavailable";
  } else if (!starts_with_status_code(dsn) || dsn.find(' ') != std::string_view::npos) {
    warning(fmt::format("DSN detail code configuration error: {}", reply));
    reply = "450 4.7.1 Service unavailable";
  }
  if (reply.size() > kMaxReply) reply.resize(kMaxReply);
  for (char& c : reply) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) c = ' ';
  }
  // An earlier temporary problem may have kept us from accepting: report that instead.
  if (!warn && dir.active && reply[0] == '5') {
    warn_if_reject = 0;
    dir.active = false;
    Deferral earlier = dir;
    return reject(ErrorClass::Policy, earlier.code, earlier.dsn, earlier.text);
  }
  reply[4] = reply[0];  // the status code's class follows the reply code
  log.push_back({warn ? "reject_warning" : "reject", reply});
  if (warn) return Status::Dunno;
  reject_reply = std::move(reply);
  return Status::Reject;
}

detail::Status RestrictionEvaluator::Run::server_error(std::string why) {
  warning(std::move(why));
  return reject(ErrorClass::Software, 451, "4.3.5", "Server configuration error");
}

detail::Status RestrictionEvaluator::Run::dict_retry(std::string_view name) {
  return reject(ErrorClass::Resource, 451, "4.3.0",
                fmt::format("<{}>: Temporary lookup failure", name));
}

detail::Status RestrictionEvaluator::Run::defer_if_permit(TempfailAction action, int code,
                                                          std::string_view dsn, std::string text) {
  if (action == TempfailAction::Defer) return reject(ErrorClass::Policy, code, dsn, text);
  if (warn_if_reject != 0) {
    std::string reply = fmt::format("{} {} {}", code, dsn, text);
    log.push_back({"reject_warning", std::move(reply)});
    return Status::Dunno;
  }
  if (!dip.active) dip = Deferral{true, code, std::string(dsn), std::move(text)};
  return Status::Dunno;
}

void RestrictionEvaluator::Run::defer_if_reject(int code, std::string_view dsn, std::string text) {
  if (!dir.active) dir = Deferral{true, code, std::string(dsn), std::move(text)};
}

detail::Status RestrictionEvaluator::Run::apply_deferral(Status status) {
  if (status != Status::Reject && status != Status::Pending && dip.active) {
    return reject(ErrorClass::Policy, dip.code, dip.dsn, dip.text);
  }
  return status;
}

void RestrictionEvaluator::Run::reset() {
  recursion = 0;
  warn_if_reject = 0;
  dir.active = false;
}

void RestrictionEvaluator::Run::remember_deferral() {
  memory.defer_code = dip.code;
  memory.defer_dsn = dip.dsn;
  memory.defer_text = dip.text;
}

// ---- The step machine. ----

RestrictionEvaluator::RestrictionEvaluator(const RestrictionSettings& settings, Stage stage,
                                           PolicyFacts facts, StageMemory memory)
    : settings_(settings), stage_(stage), facts_(std::move(facts)), memory_(std::move(memory)) {
  for (const auto& [name, list] : settings_.classes) class_names_.insert(name);
}

Step RestrictionEvaluator::next() {
  if (verdict_) return *verdict_;
  Run run(*this);
  Run::Status status = run.evaluate();
  if (status == Run::Status::Pending) {
    pending_ = run.need;
    return *pending_;
  }
  pending_.reset();
  Verdict v;
  v.accepted = status != Run::Status::Reject;
  if (!v.accepted) {
    v.reply = run.reject_reply;
    v.disconnect = v.reply.starts_with("421") || v.reply.starts_with("521");
  }
  v.actions = std::move(run.actions);
  v.log = std::move(run.log);
  v.memory = std::move(run.memory);
  v.recipient_listed_checked = run.recipient_checked || run.discard;
  verdict_ = std::move(v);
  return *verdict_;
}

void RestrictionEvaluator::answer_lookup(maps::LookupResult result) {
  if (!pending_ || !std::holds_alternative<LookupNeed>(*pending_)) return;
  const LookupNeed& need = std::get<LookupNeed>(*pending_);
  lookups_[{need.table, need.key}] = std::move(result);
  pending_.reset();
}

void RestrictionEvaluator::answer_dns(DnsAnswer answer) {
  if (!pending_ || !std::holds_alternative<DnsNeed>(*pending_)) return;
  const DnsNeed& need = std::get<DnsNeed>(*pending_);
  dns_[{need.name, static_cast<int>(need.type)}] = std::move(answer);
  pending_.reset();
}

void RestrictionEvaluator::answer_policy(PolicyAnswer answer) {
  if (!pending_ || !std::holds_alternative<PolicyNeed>(*pending_)) return;
  policy_answers_.push_back(std::move(answer));
  pending_.reset();
}

void RestrictionEvaluator::answer_slept() {
  if (!pending_ || !std::holds_alternative<SleepNeed>(*pending_)) return;
  ++sleeps_answered_;
  pending_.reset();
}

std::string_view protocol_state(Stage stage, const PolicyFacts& facts) {
  switch (stage) {
    case Stage::Connect:
      return "CONNECT";
    case Stage::Helo:
      return facts.ehlo ? "EHLO" : "HELO";
    case Stage::Mail:
      return "MAIL";
    case Stage::Rcpt:
      return "RCPT";
    case Stage::Data:
      return "DATA";
    case Stage::EndOfData:
      return "END-OF-MESSAGE";
    case Stage::Etrn:
      return "ETRN";
    case Stage::Vrfy:
      return "VRFY";
  }
  return "";
}

std::string format_log_entry(const LogEntry& entry, Stage stage, const PolicyFacts& facts) {
  if (entry.kind == "warning") return entry.text;
  std::string line =
      fmt::format("{}: {} from {}[{}]: {};", entry.kind, protocol_state(stage, facts),
                  facts.client_name, facts.client_address, entry.text);
  if (facts.sender) line += fmt::format(" from=<{}>", *facts.sender);
  if (facts.recipient) line += fmt::format(" to=<{}>", *facts.recipient);
  line += fmt::format(" proto={}", facts.protocol);
  if (facts.helo) line += fmt::format(" helo=<{}>", *facts.helo);
  return line;
}

}  // namespace estafeta::policy
