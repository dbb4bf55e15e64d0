// Fuzz target: access(5) values and restriction lists. The input is parsed as a table value
// (checking the parser's promises), as a restriction list, a DNSBL reply filter and a reply
// template; then the restriction engine evaluates a RCPT with every table lookup and every
// policy service answering the input, so the whole action path (restriction lists from
// tables, classes, actions, reply formatting) runs on it. A refusal must be a 4xx or 5xx
// reply of at most 510 bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "policy/access_action.h"
#include "policy/rbl_reply.h"
#include "policy/restriction_evaluator.h"

using namespace estafeta;
using namespace estafeta::policy;

namespace {

const RestrictionSettings& settings() {
  static const RestrictionSettings s = [] {
    RestrictionSettings out;
    std::set<std::string, std::less<>> classes = {"strict"};
    out.classes["strict"] = *parse_restriction_list("strict", {"reject"}, classes);
    out.client = *parse_restriction_list(
        "client", restriction_words("check_client_access hash:/t, check_policy_service unix:p"),
        classes);
    out.recipient = *parse_restriction_list(
        "recipient", restriction_words("check_recipient_access hash:/t, reject_rbl_client z, "
                                       "check_recipient_mx_access hash:/t"),
        classes);
    out.relay = *parse_restriction_list("relay", {"reject_unauth_destination"}, classes);
    out.rbl_reply_maps = {"hash:/rbl"};
    return out;
  }();
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  std::string_view text(reinterpret_cast<const char*>(data), size);

  AccessAction action = parse_access_action(text);
  if (action.kind == AccessActionKind::Reply && (action.code < 400 || action.code > 599)) {
    __builtin_trap();
  }
  if (!action.dsn.empty() && !starts_with_status_code(action.dsn)) __builtin_trap();
  // Words split at separators outside braces: one may hold separators only after a brace
  // ("inline:{ a=1, b=2 }", or an unclosed "{" that keeps the rest together).
  for (const std::string& word : action.restrictions) {
    const size_t separator = word.find_first_of(", \t\r\n");
    if (word.empty() || (separator != std::string::npos && word.find('{') > separator)) {
      __builtin_trap();
    }
  }
  (void)fix_status_code(text, "Sender address");
  (void)parse_restriction_list("fuzz", restriction_words(text), {"strict"});
  auto filter = DnsblFilter::parse(text);
  if (filter.ok()) (void)filter->matches("127.0.0.2");
  (void)expand_reply_template(text, [](std::string_view name) -> std::optional<std::string> {
    if (name == "known") return "value";
    return std::nullopt;
  });

  PolicyFacts facts;
  facts.client_address = "192.0.2.1";
  facts.client_name = "client.example";
  facts.client_name_status = NameStatus::Ok;
  facts.helo = "client.example";
  facts.sender = "a@example.net";
  facts.recipient = "b@example.com";
  facts.recipient_facts.authorized = Match::Yes;
  RestrictionEvaluator evaluator(settings(), Stage::Rcpt, facts);
  for (int steps = 0; steps < 1000; ++steps) {
    Step step = evaluator.next();
    if (auto* verdict = std::get_if<Verdict>(&step)) {
      if (!verdict->accepted) {
        const std::string& r = verdict->reply;
        if (r.size() < 4 || r.size() > 510 || (r[0] != '4' && r[0] != '5')) __builtin_trap();
      }
      return 0;
    }
    const Need& need = std::get<Need>(step);
    if (std::holds_alternative<LookupNeed>(need)) {
      evaluator.answer_lookup(maps::LookupResult::found(std::string(text)));
    } else if (std::holds_alternative<DnsNeed>(need)) {
      evaluator.answer_dns(DnsAnswer{DnsAnswer::Status::Ok, {"127.0.0.2"}});
    } else if (std::holds_alternative<PolicyNeed>(need)) {
      evaluator.answer_policy(PolicyAnswer{true, std::string(text)});
    } else {
      evaluator.answer_slept();
    }
  }
  __builtin_trap();  // the engine must decide in a bounded number of steps
}
