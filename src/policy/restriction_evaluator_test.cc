// Table-driven tests for the restriction engine: every restriction, every access action,
// Postfix's list order and stage semantics (delay_reject, defer_if_permit, warn_if_reject),
// DNS lists, the policy service, and the equivalence of the default lists with today's
// recipient check. Settings come from main.cf text through make_restriction_settings().
#include "policy/restriction_evaluator.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <functional>

#include "policy/address_facts.h"
#include "policy/recipient_check.h"
#include "policy/restriction_test_support.h"

namespace estafeta::policy {
namespace {

using maps::LookupResult;
using test_support::outside_client;
using test_support::settings_from;
using DnsStatus = DnsAnswer::Status;

// What the caller answers: tables, DNS, a policy service; and what was asked.
struct World {
  std::map<std::string, std::map<std::string, LookupResult>> tables;
  std::map<std::pair<std::string, DnsType>, DnsAnswer> dns;
  std::function<PolicyAnswer(const PolicyNeed&)> policy = [](const PolicyNeed&) {
    return PolicyAnswer{true, "DUNNO"};
  };
  std::vector<Need> asked;
  std::vector<int> slept;

  void a(const std::string& name, std::vector<std::string> values) {
    dns[{name, DnsType::A}] = DnsAnswer{DnsStatus::Ok, std::move(values)};
  }
};

Verdict evaluate(const RestrictionSettings& s, Stage stage, const PolicyFacts& facts, World& world,
                 StageMemory memory = {}) {
  RestrictionEvaluator evaluator(s, stage, facts, std::move(memory));
  for (int i = 0; i < 200; ++i) {
    Step step = evaluator.next();
    if (auto* verdict = std::get_if<Verdict>(&step)) return *verdict;
    const Need& need = std::get<Need>(step);
    world.asked.push_back(need);
    if (auto* lookup = std::get_if<LookupNeed>(&need)) {
      LookupResult result = LookupResult::not_found();
      auto table = world.tables.find(lookup->table);
      if (table != world.tables.end()) {
        auto entry = table->second.find(lookup->key);
        if (entry != table->second.end()) result = entry->second;
      }
      evaluator.answer_lookup(result);
    } else if (auto* dns = std::get_if<DnsNeed>(&need)) {
      auto it = world.dns.find({dns->name, dns->type});
      evaluator.answer_dns(it != world.dns.end() ? it->second : DnsAnswer{DnsStatus::NotFound, {}});
    } else if (auto* policy = std::get_if<PolicyNeed>(&need)) {
      evaluator.answer_policy(world.policy(*policy));
    } else if (auto* sleep = std::get_if<SleepNeed>(&need)) {
      world.slept.push_back(sleep->seconds);
      evaluator.answer_slept();
    }
  }
  ADD_FAILURE() << "no verdict after 200 steps";
  return {};
}

Verdict evaluate(const std::string& main_cf, Stage stage, const PolicyFacts& facts, World& world) {
  RestrictionSettings s = settings_from(main_cf);
  return evaluate(s, stage, facts, world);
}

std::string reply_of(const Verdict& v) { return v.accepted ? "" : v.reply; }

bool logged(const Verdict& v, const std::string& kind, const std::string& text) {
  for (const LogEntry& e : v.log) {
    if (e.kind == kind && e.text == text) return true;
  }
  return false;
}

// The restrictions without DNS or tables: one case per line.
TEST(RestrictionEvaluator, Restrictions) {
  struct Case {
    const char* main_cf;
    Stage stage;
    std::function<void(PolicyFacts&)> change;
    const char* reply;  // "" = accepted
  } cases[] = {
      {"smtpd_client_restrictions = reject", Stage::Rcpt, nullptr,
       "554 5.7.1 <client.example.net[192.0.2.10]>: Client host rejected: Access denied"},
      {"smtpd_client_restrictions = defer", Stage::Rcpt, nullptr,
       "450 4.3.2 <client.example.net[192.0.2.10]>: Client host rejected: Try again later"},
      {"smtpd_client_restrictions = permit_mynetworks, reject", Stage::Rcpt,
       [](PolicyFacts& f) { f.client_address = "10.1.2.3"; }, ""},
      {"smtpd_client_restrictions = permit_mynetworks, reject", Stage::Rcpt, nullptr,
       "554 5.7.1 <client.example.net[192.0.2.10]>: Client host rejected: Access denied"},
      {"smtpd_client_restrictions = permit_sasl_authenticated, reject", Stage::Rcpt,
       [](PolicyFacts& f) { f.sasl_username = "alice"; }, ""},
      {"smtpd_client_restrictions = permit_drac_client, reject", Stage::Rcpt,
       [](PolicyFacts& f) { f.drac_client = true; }, ""},
      {"smtpd_client_restrictions = permit_drac_client, reject", Stage::Rcpt, nullptr,
       "554 5.7.1 <client.example.net[192.0.2.10]>: Client host rejected: Access denied"},
      // permit_drac_client (Estafeta addition): a granted client may relay, others not.
      {"smtpd_relay_restrictions = permit_mynetworks, permit_drac_client, "
       "reject_unauth_destination",
       Stage::Rcpt,
       [](PolicyFacts& f) {
         f.recipient_facts.authorized = Match::No;
         f.drac_client = true;
       },
       ""},
      {"smtpd_relay_restrictions = permit_mynetworks, permit_drac_client, "
       "reject_unauth_destination",
       Stage::Rcpt, [](PolicyFacts& f) { f.recipient_facts.authorized = Match::No; },
       "554 5.7.1 <bob@example.com>: Relay access denied"},
      {"reject_code = 550\nsmtpd_helo_restrictions = reject", Stage::Rcpt, nullptr,
       "550 5.7.1 <client.example.net>: Helo command rejected: Access denied"},
      {"smtpd_client_restrictions = reject_unknown_client_hostname", Stage::Rcpt,
       [](PolicyFacts& f) {
         f.client_name = "unknown";
         f.client_name_status = NameStatus::Permanent;
       },
       "450 4.7.25 Client host rejected: cannot find your hostname, [192.0.2.10]"},
      {"unknown_client_reject_code = 550\n"
       "smtpd_client_restrictions = reject_unknown_client_hostname",
       Stage::Rcpt, [](PolicyFacts& f) { f.client_name_status = NameStatus::Permanent; },
       "550 5.7.25 Client host rejected: cannot find your hostname, [192.0.2.10]"},
      {"unknown_client_reject_code = 550\n"
       "smtpd_client_restrictions = reject_unknown_client_hostname",
       Stage::Rcpt, [](PolicyFacts& f) { f.client_name_status = NameStatus::Temporary; },
       "450 4.7.25 Client host rejected: cannot find your hostname, [192.0.2.10]"},
      {"smtpd_client_restrictions = reject_unknown_client_hostname", Stage::Rcpt, nullptr, ""},
      {"smtpd_client_restrictions = reject_unknown_reverse_client_hostname", Stage::Rcpt,
       [](PolicyFacts& f) { f.reverse_client_name_status = NameStatus::Permanent; },
       "450 4.7.1 Client host rejected: cannot find your reverse hostname, [192.0.2.10]"},
      {"smtpd_helo_restrictions = reject_non_fqdn_helo_hostname", Stage::Rcpt,
       [](PolicyFacts& f) { f.helo = "foo"; },
       "504 5.5.2 <foo>: Helo command rejected: need fully-qualified hostname"},
      {"smtpd_helo_restrictions = reject_non_fqdn_helo_hostname", Stage::Rcpt,
       [](PolicyFacts& f) { f.helo = "foo.example."; }, ""},
      {"smtpd_helo_restrictions = reject_non_fqdn_helo_hostname", Stage::Rcpt,
       [](PolicyFacts& f) { f.helo = "[192.0.2.10]"; }, ""},
      {"smtpd_helo_restrictions = reject_invalid_helo_hostname", Stage::Rcpt,
       [](PolicyFacts& f) { f.helo = "[321.255.255.255]"; },
       "501 5.5.2 <[321.255.255.255]>: Helo command rejected: invalid ip address"},
      {"smtpd_helo_restrictions = reject_invalid_helo_hostname", Stage::Rcpt,
       [](PolicyFacts& f) { f.helo = "a..example"; },
       "501 5.5.2 <a..example>: Helo command rejected: Invalid name"},
      {"smtpd_helo_restrictions = reject_invalid_helo_hostname", Stage::Rcpt,
       [](PolicyFacts& f) { f.helo = "192.0.2.10"; }, ""},
      // Without HELO the HELO restrictions have nothing to test.
      {"smtpd_helo_restrictions = reject_invalid_helo_hostname, reject", Stage::Rcpt,
       [](PolicyFacts& f) { f.helo.reset(); }, ""},
      {"smtpd_sender_restrictions = reject_non_fqdn_sender", Stage::Rcpt,
       [](PolicyFacts& f) { f.sender = "alice@localhost"; },
       "504 5.5.2 <alice@localhost>: Sender address rejected: need fully-qualified address"},
      {"smtpd_sender_restrictions = reject_non_fqdn_sender", Stage::Rcpt,
       [](PolicyFacts& f) { f.sender = ""; }, ""},
      {"smtpd_sender_restrictions = reject_non_fqdn_sender", Stage::Rcpt,
       [](PolicyFacts& f) { f.sender = "alice@[192.0.2.1]"; }, ""},
      {"smtpd_recipient_restrictions = reject_non_fqdn_recipient", Stage::Rcpt,
       [](PolicyFacts& f) { f.recipient = "bob"; },
       "504 5.5.2 <bob>: Recipient address rejected: need fully-qualified address"},
      // RFC 5321: "postmaster" is always accepted.
      {"smtpd_client_restrictions = reject", Stage::Rcpt,
       [](PolicyFacts& f) { f.recipient = "Postmaster"; }, ""},
      {"smtpd_data_restrictions = reject_unauth_pipelining", Stage::Data,
       [](PolicyFacts& f) { f.unauth_pipelining = true; },
       "503 5.5.0 <DATA>: Data command rejected: Improper use of SMTP command pipelining"},
      {"smtpd_data_restrictions = reject_unauth_pipelining", Stage::Data, nullptr, ""},
      {"smtpd_data_restrictions = reject_multi_recipient_bounce", Stage::Data,
       [](PolicyFacts& f) {
         f.sender = "";
         f.recipient_count = 2;
       },
       "550 5.5.3 <DATA>: Data command rejected: Multi-recipient bounce"},
      {"smtpd_data_restrictions = reject_multi_recipient_bounce", Stage::Data,
       [](PolicyFacts& f) {
         f.sender = "";
         f.recipient_count = 1;
       },
       ""},
      {"smtpd_end_of_data_restrictions = reject", Stage::EndOfData, nullptr,
       "554 5.7.1 <END-OF-DATA>: End-of-data rejected: Access denied"},
      // Relay control.
      {"", Stage::Rcpt, [](PolicyFacts& f) { f.recipient_facts.authorized = Match::No; },
       "454 4.7.1 <bob@example.com>: Relay access denied"},
      {"smtpd_relay_restrictions =\nsmtpd_recipient_restrictions = permit_mynetworks, "
       "reject_unauth_destination",
       Stage::Rcpt, [](PolicyFacts& f) { f.recipient_facts.authorized = Match::No; },
       "554 5.7.1 <bob@example.com>: Relay access denied"},
      {"relay_domains_reject_code = 550\nsmtpd_relay_restrictions = defer_unauth_destination",
       Stage::Rcpt, [](PolicyFacts& f) { f.recipient_facts.authorized = Match::No; },
       "450 4.7.1 <bob@example.com>: Relay access denied"},
      {"", Stage::Rcpt, [](PolicyFacts& f) { f.recipient_facts.authorized = Match::TempFail; },
       "451 4.3.0 <bob@example.com>: Temporary lookup failure"},
      {"smtpd_relay_restrictions = permit_auth_destination, reject", Stage::Rcpt, nullptr, ""},
      {"smtpd_relay_restrictions = permit_auth_destination, reject", Stage::Rcpt,
       [](PolicyFacts& f) { f.recipient_facts.authorized = Match::No; },
       "554 5.7.1 <bob@example.com>: Recipient address rejected: Access denied"},
      {"", Stage::Vrfy,
       [](PolicyFacts& f) {
         f.recipient = "x@remote.example";
         f.recipient_facts.authorized = Match::No;
       },
       "454 4.7.1 <x@remote.example>: Relay access denied"},
      // A permit ends its own list only; the lists go client, helo, sender, relay, recipient.
      {"smtpd_client_restrictions = permit\nsmtpd_recipient_restrictions = reject", Stage::Rcpt,
       nullptr, "554 5.7.1 <bob@example.com>: Recipient address rejected: Access denied"},
      {"smtpd_sender_restrictions = reject\nsmtpd_client_restrictions = reject", Stage::Rcpt,
       nullptr, "554 5.7.1 <client.example.net[192.0.2.10]>: Client host rejected: Access denied"},
      {"smtpd_sender_restrictions = reject\nsmtpd_helo_restrictions = reject", Stage::Rcpt, nullptr,
       "554 5.7.1 <client.example.net>: Helo command rejected: Access denied"},
      {"smtpd_relay_restrictions = reject\nsmtpd_recipient_restrictions = defer", Stage::Rcpt,
       nullptr, "554 5.7.1 <bob@example.com>: Recipient address rejected: Access denied"},
      // defer_if_permit, defer_if_reject, warn_if_reject.
      {"smtpd_client_restrictions = defer_if_permit", Stage::Rcpt, nullptr,
       "450 4.7.0 <client.example.net[192.0.2.10]>: Client host rejected: defer_if_permit "
       "requested"},
      {"smtpd_client_restrictions = defer_if_permit\nsmtpd_recipient_restrictions = reject",
       Stage::Rcpt, nullptr,
       "554 5.7.1 <bob@example.com>: Recipient address rejected: Access denied"},
      {"smtpd_client_restrictions = defer_if_reject, reject", Stage::Rcpt, nullptr,
       "450 4.7.0 <client.example.net[192.0.2.10]>: Client host rejected: defer_if_reject "
       "requested"},
      {"smtpd_client_restrictions = defer_if_reject\nsmtpd_recipient_restrictions = reject",
       Stage::Rcpt, nullptr,
       "554 5.7.1 <bob@example.com>: Recipient address rejected: Access denied"},
      {"smtpd_client_restrictions = defer_if_reject, defer", Stage::Rcpt, nullptr,
       "450 4.3.2 <client.example.net[192.0.2.10]>: Client host rejected: Try again later"},
      {"smtpd_client_restrictions = warn_if_reject reject", Stage::Rcpt, nullptr, ""},
      {"smtpd_client_restrictions = warn_if_reject reject, reject", Stage::Rcpt, nullptr,
       "554 5.7.1 <client.example.net[192.0.2.10]>: Client host rejected: Access denied"},
      {"smtpd_client_restrictions = warn_if_reject defer_if_permit", Stage::Rcpt, nullptr, ""},
  };
  for (const Case& c : cases) {
    PolicyFacts facts = outside_client();
    if (c.change) c.change(facts);
    World world;
    Verdict v = evaluate(c.main_cf, c.stage, facts, world);
    EXPECT_EQ(reply_of(v), c.reply) << c.main_cf;
    EXPECT_TRUE(world.asked.empty()) << c.main_cf;
  }
}

TEST(RestrictionEvaluator, WarnIfRejectLogsAWarning) {
  World world;
  Verdict v = evaluate("smtpd_client_restrictions = warn_if_reject reject", Stage::Rcpt,
                       outside_client(), world);
  EXPECT_TRUE(v.accepted);
  EXPECT_TRUE(logged(v, "reject_warning",
                     "554 5.7.1 <client.example.net[192.0.2.10]>: Client host rejected: Access "
                     "denied"));
  EXPECT_EQ(format_log_entry(v.log[0], Stage::Rcpt, outside_client()),
            "reject_warning: RCPT from client.example.net[192.0.2.10]: 554 5.7.1 "
            "<client.example.net[192.0.2.10]>: Client host rejected: Access denied; "
            "from=<alice@example.net> to=<bob@example.com> proto=ESMTP "
            "helo=<client.example.net>");
  // The warning covers a whole restriction class that follows it.
  v = evaluate(
      "smtpd_restriction_classes = strict\nstrict = reject\n"
      "smtpd_client_restrictions = warn_if_reject strict",
      Stage::Rcpt, outside_client(), world);
  EXPECT_TRUE(v.accepted);
}

TEST(RestrictionEvaluator, DelayRejectOff) {
  RestrictionSettings s = settings_from(
      "smtpd_delay_reject = no\nsmtpd_client_restrictions = reject\n"
      "smtpd_helo_restrictions = reject_non_fqdn_helo_hostname\n"
      "smtpd_sender_restrictions = reject_non_fqdn_sender");
  World world;
  PolicyFacts facts = outside_client();
  Verdict v = evaluate(s, Stage::Connect, facts, world);
  EXPECT_EQ(v.reply,
            "554 5.7.1 <client.example.net[192.0.2.10]>: Client host rejected: Access denied");
  // The client list is not evaluated again at RCPT.
  EXPECT_TRUE(evaluate(s, Stage::Rcpt, facts, world).accepted);
  facts.helo = "foo";
  EXPECT_EQ(evaluate(s, Stage::Helo, facts, world).reply,
            "504 5.5.2 <foo>: Helo command rejected: need fully-qualified hostname");
  facts.sender = "a@b";
  EXPECT_EQ(evaluate(s, Stage::Mail, facts, world).reply,
            "504 5.5.2 <a@b>: Sender address rejected: need fully-qualified address");
  // With delay_reject (the default) nothing is decided before RCPT.
  RestrictionSettings delayed = settings_from("smtpd_client_restrictions = reject");
  for (Stage stage : {Stage::Connect, Stage::Helo, Stage::Mail}) {
    EXPECT_TRUE(evaluate(delayed, stage, facts, world).accepted);
  }
  EXPECT_FALSE(evaluate(delayed, Stage::Rcpt, facts, world).accepted);
  EXPECT_FALSE(evaluate(
                   delayed, Stage::Etrn,
                   [] {
                     PolicyFacts f = outside_client();
                     f.etrn_domain = "example.org";
                     return f;
                   }(),
                   world)
                   .accepted);
}

TEST(RestrictionEvaluator, DeferIfPermitIsCarriedAcrossStages) {
  RestrictionSettings s =
      settings_from("smtpd_delay_reject = no\nsmtpd_client_restrictions = defer_if_permit");
  World world;
  Verdict connect = evaluate(s, Stage::Connect, outside_client(), world);
  EXPECT_TRUE(connect.accepted);  // the deferral waits for a permit
  EXPECT_TRUE(connect.memory.defer_if_permit_client);
  Verdict helo = evaluate(s, Stage::Helo, outside_client(), world, connect.memory);
  Verdict mail = evaluate(s, Stage::Mail, outside_client(), world, helo.memory);
  EXPECT_TRUE(mail.memory.defer_if_permit_sender);
  Verdict rcpt = evaluate(s, Stage::Rcpt, outside_client(), world, mail.memory);
  EXPECT_EQ(rcpt.reply,
            "450 4.7.0 <client.example.net[192.0.2.10]>: Client host rejected: defer_if_permit "
            "requested");
  EXPECT_TRUE(evaluate(s, Stage::Rcpt, outside_client(), world).accepted);
}

// check_client_access followed by reject: every action of access(5).
TEST(RestrictionEvaluator, AccessActions) {
  struct Case {
    const char* value;
    const char* reply;
    std::function<void(const Verdict&)> check;
  } cases[] = {
      {"OK", "", nullptr},
      {"RELAY", "", nullptr},
      {"1712345678", "", nullptr},
      {"DUNNO", "554 5.7.1 <client.example.net[192.0.2.10]>: Client host rejected: Access denied",
       nullptr},
      {"REJECT", "554 5.7.1 <client.example.net[192.0.2.10]>: Client host rejected: Access denied",
       nullptr},
      {"REJECT go away",
       "554 5.7.1 <client.example.net[192.0.2.10]>: Client host rejected: go away", nullptr},
      {"REJECT 5.1.1 no such user",  // an address status code for a client: 5.0.0
       "554 5.0.0 <client.example.net[192.0.2.10]>: Client host rejected: no such user", nullptr},
      {"DEFER", "450 4.7.1 <client.example.net[192.0.2.10]>: Client host rejected: Access denied",
       nullptr},
      {"DEFER 4.7.0 later",
       "450 4.7.0 <client.example.net[192.0.2.10]>: Client host rejected: later", nullptr},
      {"DEFER_IF_PERMIT",  // the reject that follows wins over a deferral-if-permitted
       "554 5.7.1 <client.example.net[192.0.2.10]>: Client host rejected: Access denied", nullptr},
      {"DEFER_IF_REJECT",  // then the recipient list's reject becomes the deferral
       "450 4.7.1 <client.example.net[192.0.2.10]>: Client host rejected: Service unavailable",
       nullptr},
      {"450 not now", "450 4.7.1 <client.example.net[192.0.2.10]>: Client host rejected: not now",
       nullptr},
      {"550 5.7.0 no", "550 5.7.0 <client.example.net[192.0.2.10]>: Client host rejected: no",
       nullptr},
      {"421 bye", "421 4.7.1 <client.example.net[192.0.2.10]>: Client host rejected: bye",
       [](const Verdict& v) { EXPECT_TRUE(v.disconnect); }},
      {"521 bye", "521 5.7.1 <client.example.net[192.0.2.10]>: Client host rejected: bye",
       [](const Verdict& v) { EXPECT_TRUE(v.disconnect); }},
      {"DISCARD", "",
       [](const Verdict& v) {
         EXPECT_TRUE(v.actions.discard);
         EXPECT_TRUE(v.recipient_listed_checked);
         EXPECT_TRUE(logged(v, "discard",
                            "<client.example.net[192.0.2.10]>: Client host triggers DISCARD "
                            "action"));
       }},
      {"HOLD", "554 5.7.1 <client.example.net[192.0.2.10]>: Client host rejected: Access denied",
       [](const Verdict& v) {
         EXPECT_TRUE(v.actions.hold);  // kept although the recipient is refused, as Postfix
       }},
      {"PREPEND X-Client: checked",
       "554 5.7.1 <client.example.net[192.0.2.10]>: Client host rejected: Access denied",
       [](const Verdict& v) {
         EXPECT_EQ(v.actions.prepend, std::vector<std::string>{"X-Client: checked"});
       }},
      {"REDIRECT abuse@example.com",
       "554 5.7.1 <client.example.net[192.0.2.10]>: Client host rejected: Access denied",
       [](const Verdict& v) { EXPECT_EQ(v.actions.redirect, "abuse@example.com"); }},
      {"FILTER scan:[127.0.0.1]:10025",
       "554 5.7.1 <client.example.net[192.0.2.10]>: Client host rejected: Access denied",
       [](const Verdict& v) { EXPECT_EQ(v.actions.filter, "scan:[127.0.0.1]:10025"); }},
      {"BCC archive@example.com",
       "554 5.7.1 <client.example.net[192.0.2.10]>: Client host rejected: Access denied",
       [](const Verdict& v) {
         EXPECT_EQ(v.actions.bcc, std::vector<std::string>{"archive@example.com"});
       }},
      {"WARN odd client",
       "554 5.7.1 <client.example.net[192.0.2.10]>: Client host rejected: Access denied",
       [](const Verdict& v) { EXPECT_TRUE(logged(v, "warn", "odd client")); }},
      {"INFO noted",
       "554 5.7.1 <client.example.net[192.0.2.10]>: Client host rejected: Access denied",
       [](const Verdict& v) { EXPECT_TRUE(logged(v, "info", "noted")); }},
      {"permit_mynetworks reject",
       "554 5.7.1 <client.example.net[192.0.2.10]>: Client host rejected: Access denied", nullptr},
      {"strict", "504 5.5.2 <nodots>: Helo command rejected: need fully-qualified hostname",
       nullptr},
      {"", "", nullptr},  // an empty value is OK (with a warning)
      {"check_helo_access hash:/x", "451 4.3.5 Server configuration error", nullptr},
      {"no_such_restriction", "451 4.3.5 Server configuration error", nullptr},
      {"FILTER nocolon",
       "554 5.7.1 <client.example.net[192.0.2.10]>: Client host rejected: Access denied",
       [](const Verdict& v) { EXPECT_FALSE(v.actions.filter.has_value()); }},
  };
  RestrictionSettings s = settings_from(
      "smtpd_restriction_classes = strict\nstrict = reject_non_fqdn_helo_hostname\n"
      "smtpd_client_restrictions = check_client_access hash:/clients, reject");
  for (const Case& c : cases) {
    World world;
    world.tables["hash:/clients"]["example.net"] = LookupResult::found(c.value);
    PolicyFacts facts = outside_client();
    facts.helo = "nodots";
    Verdict v = evaluate(s, Stage::Rcpt, facts, world);
    EXPECT_EQ(reply_of(v), c.reply) << c.value;
    if (c.check) c.check(v);
  }
}

TEST(RestrictionEvaluator, AccessDeferIfPermit) {
  RestrictionSettings s =
      settings_from("smtpd_client_restrictions = check_client_access hash:/clients");
  World world;
  world.tables["hash:/clients"]["192.0.2.10"] = LookupResult::found("DEFER_IF_PERMIT 4.7.0 wait");
  EXPECT_EQ(evaluate(s, Stage::Rcpt, outside_client(), world).reply,
            "450 4.7.0 <client.example.net[192.0.2.10]>: Client host rejected: wait");
}

TEST(RestrictionEvaluator, AccessSearchOrder) {
  RestrictionSettings s = settings_from(
      "smtpd_client_restrictions = check_client_access "
      "hash:/c, check_client_access regexp:/r");
  World world;
  world.tables["hash:/c"]["192.0.2"] = LookupResult::found("REJECT net");
  Verdict v = evaluate(s, Stage::Rcpt, outside_client(), world);
  EXPECT_EQ(v.reply, "554 5.7.1 <client.example.net[192.0.2.10]>: Client host rejected: net");
  std::vector<Need> want = {LookupNeed{"hash:/c", "client.example.net"},
                            LookupNeed{"hash:/c", "example.net"}, LookupNeed{"hash:/c", "net"},
                            LookupNeed{"hash:/c", "192.0.2.10"}, LookupNeed{"hash:/c", "192.0.2"}};
  EXPECT_EQ(world.asked, want);

  // A pattern table is asked for the full name and the full address only; DUNNO stops the
  // search of its table without deciding anything.
  world = World{};
  world.tables["hash:/c"]["example.net"] = LookupResult::found("DUNNO");
  world.tables["hash:/c"]["192.0.2"] = LookupResult::found("REJECT");
  v = evaluate(s, Stage::Rcpt, outside_client(), world);
  EXPECT_TRUE(v.accepted);
  want = {LookupNeed{"hash:/c", "client.example.net"}, LookupNeed{"hash:/c", "example.net"},
          LookupNeed{"regexp:/r", "client.example.net"}, LookupNeed{"regexp:/r", "192.0.2.10"}};
  EXPECT_EQ(world.asked, want);

  // Without smtpd_access_maps in parent_domain_matches_subdomains: ".parent" keys.
  RestrictionSettings dotted = settings_from(
      "parent_domain_matches_subdomains =\n"
      "smtpd_client_restrictions = check_client_access hash:/c");
  world = World{};
  world.tables["hash:/c"][".example.net"] = LookupResult::found("REJECT");
  EXPECT_FALSE(evaluate(dotted, Stage::Rcpt, outside_client(), world).accepted);

  // A table that cannot answer refuses for now, never "not found".
  world = World{};
  world.tables["hash:/c"]["client.example.net"] = LookupResult::temp_fail("down");
  v = evaluate(s, Stage::Rcpt, outside_client(), world);
  EXPECT_EQ(v.reply,
            "451 4.3.5 <client.example.net[192.0.2.10]>: Client host rejected: Server "
            "configuration error");
}

TEST(RestrictionEvaluator, AddressAccessChecks) {
  RestrictionSettings s = settings_from(
      "recipient_delimiter = +\n"
      "smtpd_sender_restrictions = check_sender_access hash:/s\n"
      "smtpd_recipient_restrictions = check_recipient_access hash:/r, reject");
  World world;
  PolicyFacts facts = outside_client();
  facts.sender = "Alice+list@Sub.Example.net";
  world.tables["hash:/s"]["Alice@"] =
      LookupResult::found("REJECT 5.1.1 who?");  // tables fold case themselves
  Verdict v = evaluate(s, Stage::Rcpt, facts, world);
  // An address status code is made a sender one.
  EXPECT_EQ(v.reply, "554 5.1.0 <Alice+list@Sub.Example.net>: Sender address rejected: who?");
  std::vector<std::string> keys;
  for (const Need& n : world.asked) keys.push_back(std::get<LookupNeed>(n).key);
  EXPECT_EQ(keys, (std::vector<std::string>{"Alice+list@Sub.Example.net", "Alice@Sub.Example.net",
                                            "Sub.Example.net", "Example.net", "net", "Alice+list@",
                                            "Alice@"}));

  // The null sender is looked up as smtpd_null_access_lookup_key.
  world = World{};
  facts.sender = "";
  world.tables["hash:/s"]["<>"] = LookupResult::found("REJECT");
  EXPECT_EQ(evaluate(s, Stage::Rcpt, facts, world).reply,
            "554 5.7.1 <>: Sender address rejected: Access denied");

  // The recipient is looked up in its resolved form; OK ends the recipient list.
  world = World{};
  facts = outside_client();
  facts.recipient_facts.resolved = "bob@mail.example.com";
  world.tables["hash:/r"]["bob@mail.example.com"] = LookupResult::found("OK");
  EXPECT_TRUE(evaluate(s, Stage::Rcpt, facts, world).accepted);
  // ... but not for a source-routed address.
  facts.recipient_facts.routed = true;
  EXPECT_FALSE(evaluate(s, Stage::Rcpt, facts, world).accepted);
}

TEST(RestrictionEvaluator, ReverseClientHostnameAccessMayNotPermit) {
  RestrictionSettings s =
      settings_from("smtpd_client_restrictions = check_reverse_client_hostname_access hash:/rev");
  World world;
  world.tables["hash:/rev"]["example.net"] = LookupResult::found("OK");
  EXPECT_EQ(evaluate(s, Stage::Rcpt, outside_client(), world).reply,
            "451 4.3.5 Server configuration error");
  world.tables["hash:/rev"]["example.net"] = LookupResult::found("REJECT dynamic");
  EXPECT_EQ(evaluate(s, Stage::Rcpt, outside_client(), world).reply,
            "554 5.7.1 <client.example.net>: Unverified Client host rejected: dynamic");
}

TEST(RestrictionEvaluator, HeloAndEtrnAccess) {
  RestrictionSettings s = settings_from(
      "smtpd_helo_restrictions = check_helo_access hash:/h\n"
      "smtpd_etrn_restrictions = check_etrn_access hash:/e");
  World world;
  world.tables["hash:/h"]["example.net"] = LookupResult::found("REJECT liar");
  EXPECT_EQ(evaluate(s, Stage::Rcpt, outside_client(), world).reply,
            "554 5.7.1 <client.example.net>: Helo command rejected: liar");
  world.tables["hash:/h"].clear();
  world.tables["hash:/e"]["example.org"] = LookupResult::found("REJECT");
  PolicyFacts facts = outside_client();
  facts.etrn_domain = "sub.example.org";
  EXPECT_EQ(evaluate(s, Stage::Etrn, facts, world).reply,
            "554 5.7.1 <sub.example.org>: Etrn command rejected: Access denied");
}

TEST(RestrictionEvaluator, RestrictionClassesAndRecursion) {
  RestrictionSettings s = settings_from(
      "smtpd_restriction_classes = from_partners, loop\n"
      "from_partners = check_client_access hash:/partners, reject\n"
      "loop = loop\n"
      "smtpd_recipient_restrictions = check_recipient_access hash:/r");
  World world;
  world.tables["hash:/r"]["bob@example.com"] = LookupResult::found("from_partners");
  world.tables["hash:/partners"]["192.0.2.10"] = LookupResult::found("OK");
  EXPECT_TRUE(evaluate(s, Stage::Rcpt, outside_client(), world).accepted);
  world.tables["hash:/partners"].clear();
  EXPECT_EQ(evaluate(s, Stage::Rcpt, outside_client(), world).reply,
            "554 5.7.1 <bob@example.com>: Recipient address rejected: Access denied");
  world.tables["hash:/r"]["bob@example.com"] = LookupResult::found("loop");
  EXPECT_EQ(evaluate(s, Stage::Rcpt, outside_client(), world).reply,
            "451 4.3.5 Server configuration error");
}

TEST(RestrictionEvaluator, ActionsNeedATransaction) {
  // With smtpd_delay_reject = no, a client restriction runs before MAIL FROM: HOLD and the
  // like are skipped (with a warning), as in Postfix.
  RestrictionSettings s = settings_from(
      "smtpd_delay_reject = no\nsmtpd_client_restrictions = check_client_access hash:/c");
  World world;
  world.tables["hash:/c"]["192.0.2.10"] = LookupResult::found("HOLD");
  PolicyFacts facts = outside_client();
  facts.sender.reset();
  facts.recipient.reset();
  Verdict v = evaluate(s, Stage::Connect, facts, world);
  EXPECT_TRUE(v.accepted);
  EXPECT_FALSE(v.actions.hold);
  ASSERT_FALSE(v.log.empty());
  EXPECT_EQ(v.log[0].kind, "warning");
}

TEST(RestrictionEvaluator, MynetworksTableFailure) {
  struct Down : maps::Map {
    LookupResult lookup(std::string_view) const override { return LookupResult::temp_fail("x"); }
  } down;
  RestrictionSettings s = settings_from("", NetworkSet(NetworkList{}, {&down}));
  World world;
  EXPECT_EQ(evaluate(s, Stage::Rcpt, outside_client(), world).reply,
            "451 4.3.0 <bob@example.com>: Temporary lookup failure");
}

TEST(RestrictionEvaluator, DnsLists) {
  struct Case {
    const char* restrictions;
    std::function<void(World&)> dns;
    const char* reply;
  } cases[] = {
      {"reject_rbl_client zen.example",
       [](World& w) {
         w.a("10.2.0.192.zen.example", {"127.0.0.2"});
         w.dns[{"10.2.0.192.zen.example", DnsType::TXT}] = {DnsStatus::Ok, {"listed", "again"}};
       },
       "554 5.7.1 Service unavailable; Client host [192.0.2.10] blocked using zen.example; "
       "listed / again"},
      {"reject_rbl_client zen.example",
       [](World& w) { w.a("10.2.0.192.zen.example", {"127.0.0.2"}); },
       "554 5.7.1 Service unavailable; Client host [192.0.2.10] blocked using zen.example"},
      {"reject_rbl_client zen.example=127.0.0.[3..4]",
       [](World& w) { w.a("10.2.0.192.zen.example", {"127.0.0.2"}); }, ""},
      {"reject_rbl_client zen.example=127.0.0.[3..4]",
       [](World& w) {
         w.a("10.2.0.192.zen.example", {"127.0.0.2", "127.0.0.4"});
       },
       "554 5.7.1 Service unavailable; Client host [192.0.2.10] blocked using zen.example"},
      {"reject_rbl_client zen.example", nullptr, ""},
      {"reject_rbl_client zen.example",  // an outage of the list does not block mail
       [](World& w) {
         w.dns[{"10.2.0.192.zen.example", DnsType::A}] = {DnsStatus::TempFail, {}};
       },
       ""},
      {"reject_rhsbl_client dbl.example",
       [](World& w) { w.a("client.example.net.dbl.example", {"127.0.1.2"}); },
       "554 5.7.1 Service unavailable; Client host [client.example.net] blocked using "
       "dbl.example"},
      {"reject_rhsbl_reverse_client dbl.example",
       [](World& w) { w.a("client.example.net.dbl.example", {"127.0.1.2"}); },
       "554 5.7.1 Service unavailable; Unverified Client host [client.example.net] blocked "
       "using dbl.example"},
      {"reject_rhsbl_helo dbl.example",
       [](World& w) { w.a("client.example.net.dbl.example", {"127.0.1.2"}); },
       "554 5.7.1 Service unavailable; Helo command [client.example.net] blocked using "
       "dbl.example"},
      {"reject_rhsbl_sender dbl.example",
       [](World& w) { w.a("example.net.dbl.example", {"127.0.1.2"}); },
       "554 5.7.1 Service unavailable; Sender address [alice@example.net] blocked using "
       "dbl.example"},
      {"reject_rhsbl_recipient dbl.example",
       [](World& w) { w.a("example.com.dbl.example", {"127.0.1.2"}); },
       "554 5.7.1 Service unavailable; Recipient address [bob@example.com] blocked using "
       "dbl.example"},
      {"permit_dnswl_client wl.example, reject",
       [](World& w) { w.a("10.2.0.192.wl.example", {"127.0.10.2"}); }, ""},
      {"permit_dnswl_client wl.example=127.0.10.3, reject",
       [](World& w) { w.a("10.2.0.192.wl.example", {"127.0.10.2"}); },
       "554 5.7.1 <bob@example.com>: Recipient address rejected: Access denied"},
      {"permit_dnswl_client wl.example, reject",
       [](World& w) {
         w.dns[{"10.2.0.192.wl.example", DnsType::A}] = {DnsStatus::TempFail, {}};
       },
       "450 4.7.1 <192.0.2.10>: Client host rejected: Service unavailable"},
      {"permit_rhswl_client wl.example, reject",
       [](World& w) { w.a("client.example.net.wl.example", {"127.0.10.2"}); }, ""},
  };
  for (const Case& c : cases) {
    RestrictionSettings s =
        settings_from(std::string("smtpd_recipient_restrictions = ") + c.restrictions);
    World world;
    if (c.dns) c.dns(world);
    EXPECT_EQ(reply_of(evaluate(s, Stage::Rcpt, outside_client(), world)), c.reply)
        << c.restrictions;
  }
}

TEST(RestrictionEvaluator, DnsAllowlistNeverOpensTheRelay) {
  RestrictionSettings s = settings_from(
      "smtpd_relay_restrictions =\n"
      "smtpd_recipient_restrictions = permit_dnswl_client wl.example, reject_unauth_destination");
  World world;
  world.a("10.2.0.192.wl.example", {"127.0.10.2"});
  PolicyFacts facts = outside_client();
  facts.recipient_facts.authorized = Match::No;
  EXPECT_EQ(evaluate(s, Stage::Rcpt, facts, world).reply,
            "554 5.7.1 <bob@example.com>: Relay access denied");
}

TEST(RestrictionEvaluator, RblReplyMaps) {
  RestrictionSettings s = settings_from(
      "rbl_reply_maps = hash:/rbl\n"
      "smtpd_client_restrictions = reject_rbl_client Zen.Example, reject_rbl_client other.example");
  World world;
  world.a("10.2.0.192.Zen.Example", {"127.0.0.2"});
  world.tables["hash:/rbl"]["zen.example"] =
      LookupResult::found("$rbl_code 5.7.0 $client_address listed at $rbl_domain for $sender");
  EXPECT_EQ(evaluate(s, Stage::Rcpt, outside_client(), world).reply,
            "554 5.7.0 192.0.2.10 listed at Zen.Example for alice@example.net");
  // A bad template falls back to default_rbl_reply; a bad reply code to a generic 450.
  world.tables["hash:/rbl"]["zen.example"] = LookupResult::found("$nonsense");
  EXPECT_EQ(evaluate(s, Stage::Rcpt, outside_client(), world).reply,
            "554 5.7.1 Service unavailable; Client host [192.0.2.10] blocked using Zen.Example");
  world.tables["hash:/rbl"]["zen.example"] = LookupResult::found("blocked");
  EXPECT_EQ(evaluate(s, Stage::Rcpt, outside_client(), world).reply,
            "450 4.7.1 Service unavailable");
}

TEST(RestrictionEvaluator, UnknownDomainsAndHosts) {
  struct Case {
    const char* main_cf;
    std::function<void(PolicyFacts&, World&)> setup;
    const char* reply;
  } cases[] = {
      {"smtpd_helo_restrictions = reject_unknown_helo_hostname",
       [](PolicyFacts& f, World&) { f.helo = "nx.example"; },
       "450 4.7.1 <nx.example>: Helo command rejected: Host not found"},
      {"smtpd_helo_restrictions = reject_unknown_helo_hostname",
       [](PolicyFacts& f, World& w) {
         f.helo = "host.example";
         w.dns[{"host.example", DnsType::Address}] = {DnsStatus::Ok, {"192.0.2.1"}};
       },
       ""},
      {"smtpd_helo_restrictions = reject_unknown_helo_hostname",
       [](PolicyFacts& f, World& w) {
         f.helo = "flaky.example";
         w.dns[{"flaky.example", DnsType::MX}] = {DnsStatus::TempFail, {}};
       },
       "450 4.7.1 <flaky.example>: Helo command rejected: Host not found"},  // defer_if_permit
      {"smtpd_helo_restrictions = reject_unknown_helo_hostname\n"
       "smtpd_recipient_restrictions = reject",
       [](PolicyFacts& f, World& w) {
         f.helo = "flaky.example";
         w.dns[{"flaky.example", DnsType::MX}] = {DnsStatus::TempFail, {}};
       },
       "554 5.7.1 <bob@example.com>: Recipient address rejected: Access denied"},
      {"smtpd_sender_restrictions = reject_unknown_sender_domain",
       [](PolicyFacts& f, World&) { f.sender = "alice@nx.example"; },
       "450 4.1.8 <alice@nx.example>: Sender address rejected: Domain not found"},
      {"unknown_address_reject_code = 550\n"
       "smtpd_sender_restrictions = reject_unknown_sender_domain",
       [](PolicyFacts& f, World&) { f.sender = "alice@nx.example"; },
       "550 5.1.8 <alice@nx.example>: Sender address rejected: Domain not found"},
      {"smtpd_sender_restrictions = reject_unknown_sender_domain",
       [](PolicyFacts& f, World& w) {
         f.sender = "alice@nullmx.example";
         w.dns[{"nullmx.example", DnsType::MX}] = {DnsStatus::Ok, {"."}};
       },
       "550 5.7.27 <alice@nullmx.example>: Sender address rejected: Domain nullmx.example does "
       "not accept mail"},
      {"smtpd_sender_restrictions = reject_unknown_sender_domain",
       [](PolicyFacts& f, World&) {
         f.sender = "alice@ours.example";
         f.sender_facts.final_destination = true;
       },
       ""},
      {"smtpd_sender_restrictions = reject_unknown_sender_domain",
       [](PolicyFacts& f, World&) { f.sender = ""; }, ""},
      {"unknown_address_tempfail_action = defer\n"
       "smtpd_sender_restrictions = reject_unknown_sender_domain, permit\n"
       "smtpd_recipient_restrictions = reject",
       [](PolicyFacts& f, World& w) {
         f.sender = "alice@flaky.example";
         w.dns[{"flaky.example", DnsType::MX}] = {DnsStatus::TempFail, {}};
       },
       "450 4.1.8 <alice@flaky.example>: Sender address rejected: Domain not found"},
      {"smtpd_recipient_restrictions = reject_unknown_recipient_domain",
       [](PolicyFacts& f, World&) {
         f.recipient = "bob@nx.example";
         f.recipient_facts.final_destination = false;
       },
       "450 4.1.2 <bob@nx.example>: Recipient address rejected: Domain not found"},
      {"smtpd_recipient_restrictions = reject_unknown_recipient_domain",
       [](PolicyFacts& f, World& w) {
         f.recipient = "bob@nullmx.example";
         f.recipient_facts.final_destination = false;
         w.dns[{"nullmx.example", DnsType::MX}] = {DnsStatus::Ok, {""}};
       },
       "556 5.1.10 <bob@nullmx.example>: Recipient address rejected: Domain nullmx.example does "
       "not accept mail"},
      {"smtpd_recipient_restrictions = reject_unknown_recipient_domain",
       [](PolicyFacts& f, World& w) {
         f.recipient = "bob@mx.example";
         f.recipient_facts.final_destination = false;
         w.dns[{"mx.example", DnsType::MX}] = {DnsStatus::Ok, {"mail.mx.example"}};
       },
       ""},
  };
  for (const Case& c : cases) {
    PolicyFacts facts = outside_client();
    World world;
    c.setup(facts, world);
    EXPECT_EQ(reply_of(evaluate(c.main_cf, Stage::Rcpt, facts, world)), c.reply) << c.main_cf;
  }
}

TEST(RestrictionEvaluator, UnlistedAddresses) {
  PolicyFacts facts = outside_client();
  facts.recipient_facts.listed = Match::No;
  facts.recipient_facts.unlisted_table = "local recipient";
  World world;
  Verdict v = evaluate("smtpd_recipient_restrictions = reject_unlisted_recipient", Stage::Rcpt,
                       facts, world);
  EXPECT_EQ(v.reply,
            "550 5.1.1 <bob@example.com>: Recipient address rejected: User unknown in local "
            "recipient table");
  EXPECT_TRUE(v.recipient_listed_checked);
  v = evaluate("", Stage::Rcpt, facts, world);
  EXPECT_TRUE(v.accepted);  // the implicit check after the lists is the caller's
  EXPECT_FALSE(v.recipient_listed_checked);
  facts.recipient_facts.listed = Match::TempFail;
  EXPECT_EQ(evaluate("smtpd_recipient_restrictions = reject_unlisted_recipient", Stage::Rcpt, facts,
                     world)
                .reply,
            "451 4.3.0 <bob@example.com>: Temporary lookup failure");

  facts = outside_client();
  facts.sender_facts.listed = Match::No;
  facts.sender_facts.unlisted_code = 450;
  facts.sender_facts.unlisted_table = "virtual mailbox";
  EXPECT_EQ(evaluate("smtpd_reject_unlisted_sender = yes", Stage::Rcpt, facts, world).reply,
            "450 4.1.0 <alice@example.net>: Sender address rejected: User unknown in virtual "
            "mailbox table");
  EXPECT_EQ(
      evaluate("smtpd_sender_restrictions = reject_unlisted_sender", Stage::Rcpt, facts, world)
          .reply,
      "450 4.1.0 <alice@example.net>: Sender address rejected: User unknown in virtual "
      "mailbox table");
  EXPECT_TRUE(evaluate("", Stage::Rcpt, facts, world).accepted);
}

TEST(RestrictionEvaluator, PolicyService) {
  RestrictionSettings s = settings_from(
      "smtpd_recipient_restrictions = check_policy_service inet:127.0.0.1:10023, "
      "check_policy_service unix:/run/policy, reject");
  World world;
  std::vector<std::string> actions = {"DUNNO", "permit"};
  size_t n = 0;
  world.policy = [&](const PolicyNeed&) { return PolicyAnswer{true, actions[n++]}; };
  PolicyFacts facts = outside_client();
  facts.sasl_method = "PLAIN";
  facts.sasl_username = "alice";
  facts.queue_id = "Q1";
  facts.size = 1234;
  Verdict v = evaluate(s, Stage::Rcpt, facts, world);
  EXPECT_TRUE(v.accepted);
  ASSERT_EQ(world.asked.size(), 2u);
  const PolicyNeed& first = std::get<PolicyNeed>(world.asked[0]);
  EXPECT_EQ(first.service, "inet:127.0.0.1:10023");
  EXPECT_EQ(std::get<PolicyNeed>(world.asked[1]).service, "unix:/run/policy");
  std::map<std::string, std::string> attributes(first.attributes.begin(), first.attributes.end());
  EXPECT_EQ(first.attributes.front(),
            (std::pair<std::string, std::string>{"request", "smtpd_access_policy"}));
  EXPECT_EQ(attributes["protocol_state"], "RCPT");
  EXPECT_EQ(attributes["protocol_name"], "ESMTP");
  EXPECT_EQ(attributes["client_address"], "192.0.2.10");
  EXPECT_EQ(attributes["client_name"], "client.example.net");
  EXPECT_EQ(attributes["helo_name"], "client.example.net");
  EXPECT_EQ(attributes["sender"], "alice@example.net");
  EXPECT_EQ(attributes["recipient"], "bob@example.com");
  EXPECT_EQ(attributes["recipient_count"], "0");
  EXPECT_EQ(attributes["queue_id"], "Q1");
  EXPECT_EQ(attributes["size"], "1234");
  EXPECT_EQ(attributes["sasl_method"], "PLAIN");
  EXPECT_EQ(attributes["sasl_username"], "alice");
  for (const char* name :
       {"reverse_client_name", "instance", "sasl_sender", "ccert_subject", "ccert_issuer",
        "ccert_fingerprint", "encryption_protocol", "encryption_cipher", "encryption_keysize",
        "etrn_domain", "stress", "server_address", "server_port", "client_port"}) {
    EXPECT_EQ(attributes.count(name), 1u) << name;
  }

  // The answer is an access(5) action; a failure is smtpd_policy_service_default_action.
  world = World{};
  world.policy = [](const PolicyNeed&) { return PolicyAnswer{true, "defer_if_permit Greylisted"}; };
  EXPECT_EQ(evaluate(s, Stage::Rcpt, facts, world).reply,
            "554 5.7.1 <bob@example.com>: Recipient address rejected: Access denied");
  RestrictionSettings permissive =
      settings_from("smtpd_recipient_restrictions = check_policy_service inet:127.0.0.1:10023");
  EXPECT_EQ(evaluate(permissive, Stage::Rcpt, facts, world).reply,
            "450 4.7.1 <bob@example.com>: Recipient address rejected: Greylisted");
  world.policy = [](const PolicyNeed&) { return PolicyAnswer{false, ""}; };
  EXPECT_EQ(evaluate(permissive, Stage::Rcpt, facts, world).reply,
            "451 4.3.5 <bob@example.com>: Recipient address rejected: Server configuration "
            "problem");
  RestrictionSettings lenient = settings_from(
      "smtpd_policy_service_default_action = DUNNO\n"
      "smtpd_recipient_restrictions = check_policy_service inet:127.0.0.1:10023");
  EXPECT_TRUE(evaluate(lenient, Stage::Rcpt, facts, world).accepted);

  // At DATA the recipient count is sent, and the recipient only when there is one.
  RestrictionSettings data =
      settings_from("smtpd_data_restrictions = check_policy_service unix:/run/policy");
  world = World{};
  facts.recipient_count = 3;
  evaluate(data, Stage::Data, facts, world);
  ASSERT_EQ(world.asked.size(), 1u);
  std::map<std::string, std::string> at_data(
      std::get<PolicyNeed>(world.asked[0]).attributes.begin(),
      std::get<PolicyNeed>(world.asked[0]).attributes.end());
  EXPECT_EQ(at_data["protocol_state"], "DATA");
  EXPECT_EQ(at_data["recipient_count"], "3");
  EXPECT_EQ(at_data["recipient"], "");
}

TEST(RestrictionEvaluator, Sleep) {
  World world;
  Verdict v = evaluate("smtpd_client_restrictions = sleep 1, sleep 2, reject_unauth_pipelining",
                       Stage::Rcpt, outside_client(), world);
  EXPECT_TRUE(v.accepted);
  EXPECT_EQ(world.slept, (std::vector<int>{1, 2}));
}

TEST(RestrictionEvaluator, EachQuestionIsAskedOnce) {
  RestrictionSettings s = settings_from(
      "smtpd_client_restrictions = check_client_access hash:/c, check_client_access hash:/c,"
      " reject_rbl_client zen.example, reject_rbl_client zen.example");
  World world;
  EXPECT_TRUE(evaluate(s, Stage::Rcpt, outside_client(), world).accepted);
  EXPECT_EQ(world.asked.size(), 7u + 1u);  // seven client keys, one DNS query
}

// With Postfix's default lists the RCPT verdict is the one policy/recipient_check.h gives for
// relay access today.
TEST(RestrictionEvaluator, DefaultListsEqualTheRecipientCheck) {
  RecipientPolicy policy;
  policy.route.myorigin = "localhost";
  policy.route.mydestination = DomainList({"localhost", "mx.example.org"}, {}, false);
  policy.route.relay_domains = DomainList({"relayed.example"}, {}, true);
  policy.mynetworks =
      NetworkSet(NetworkList::parse({"127.0.0.0/8", "[::1]/128", "10.1.0.0/16"}, nullptr), {});
  policy.reject_unlisted_recipient = false;
  RestrictionSettings s = settings_from("", policy.mynetworks);
  const char* clients[] = {"192.0.2.1", "127.0.0.1", "::1", "10.1.200.3", "10.2.0.1"};
  const char* recipients[] = {"user@localhost",
                              "User@LOCALHOST",
                              "user@remote.example",
                              "user@relayed.example",
                              "user@sub.relayed.example",
                              "user@xrelayed.example",
                              "user@mx.EXAMPLE.org",
                              "user%victim.example@relayed.example",
                              "victim.example!user@relayed.example",
                              "\"user@victim.example\"@relayed.example",
                              "user%victim.example@localhost",
                              "user%relayed.example@localhost",
                              "user%mx.example.org@localhost"};
  for (const char* client : clients) {
    for (const char* rcpt : recipients) {
      RecipientVerdict want = check_recipient(policy, client, rcpt);
      PolicyFacts facts = outside_client();
      facts.client_address = client;
      facts.recipient = rcpt;
      facts.recipient_facts = resolve_address_facts(policy.route, rcpt);
      World world;
      Verdict got = evaluate(s, Stage::Rcpt, facts, world);
      EXPECT_EQ(got.accepted,
                want.kind != RecipientClass::Rejected && want.kind != RecipientClass::Deferred)
          << client << " " << rcpt;
      EXPECT_EQ(reply_of(got), want.reply) << client << " " << rcpt;
      // And with SASL, as smtpd_relay_restrictions' permit_sasl_authenticated says.
      facts.sasl_username = "alice";
      EXPECT_TRUE(evaluate(s, Stage::Rcpt, facts, world).accepted) << rcpt;
    }
  }
}

TEST(RestrictionEvaluator, LongRepliesAreCut) {
  RestrictionSettings s = settings_from("smtpd_client_restrictions = check_client_access hash:/c");
  World world;
  world.tables["hash:/c"]["192.0.2.10"] =
      LookupResult::found("REJECT " + std::string(600, 'x') + "\x01");
  Verdict v = evaluate(s, Stage::Rcpt, outside_client(), world);
  EXPECT_EQ(v.reply.size(), 510u);
}

// smtpd_sender_login_maps and the four reject_*sender_login_mismatch restrictions, as
// Postfix's reject_auth_sender_login_mismatch() and reject_unauth_sender_login_mismatch().
TEST(RestrictionEvaluator, SenderLoginMismatch) {
  const char* kOwnedByAlice = "553 5.7.1 <alice@example.org>: Sender address rejected: ";
  struct Case {
    const char* restriction;
    const char* sender;
    const char* login;  // "" = not logged in
    std::string reply;  // "" = accepted
  } cases[] = {
      // Logged in: the owner passes, anyone else is refused; an address without owner is
      // refused except by reject_known_sender_login_mismatch.
      {"reject_sender_login_mismatch", "alice@example.org", "alice", ""},
      {"reject_sender_login_mismatch", "alice@example.org", "ALICE", ""},
      {"reject_sender_login_mismatch", "Alice+list@Example.ORG", "alice", ""},
      {"reject_sender_login_mismatch", "shared@example.org", "carol", ""},
      {"reject_sender_login_mismatch", "alice@example.org", "bob",
       std::string(kOwnedByAlice) + "not owned by user bob"},
      {"reject_sender_login_mismatch", "nobody@example.net", "bob",
       "553 5.7.1 <nobody@example.net>: Sender address rejected: not owned by user bob"},
      {"reject_sender_login_mismatch", "anyone@team.example", "bob", ""},  // @domain entry
      {"reject_sender_login_mismatch", "anyone@team.example", "alice",
       "553 5.7.1 <anyone@team.example>: Sender address rejected: not owned by user alice"},
      {"reject_authenticated_sender_login_mismatch", "nobody@example.net", "bob",
       "553 5.7.1 <nobody@example.net>: Sender address rejected: not owned by user bob"},
      {"reject_known_sender_login_mismatch", "nobody@example.net", "bob", ""},
      {"reject_known_sender_login_mismatch", "alice@example.org", "bob",
       std::string(kOwnedByAlice) + "not owned by user bob"},
      {"reject_unauthenticated_sender_login_mismatch", "alice@example.org", "bob", ""},
      // Not logged in: an owned address is refused, an address without owner passes.
      {"reject_sender_login_mismatch", "alice@example.org", "",
       std::string(kOwnedByAlice) + "not logged in"},
      {"reject_sender_login_mismatch", "nobody@example.net", "", ""},
      {"reject_known_sender_login_mismatch", "alice@example.org", "",
       std::string(kOwnedByAlice) + "not logged in"},
      {"reject_unauthenticated_sender_login_mismatch", "alice@example.org", "",
       std::string(kOwnedByAlice) + "not logged in"},
      {"reject_authenticated_sender_login_mismatch", "alice@example.org", "", ""},
      // The null sender is never checked.
      {"reject_sender_login_mismatch", "", "bob", ""},
  };
  World world;
  auto& logins = world.tables["hash:/logins"];
  logins["alice@example.org"] = LookupResult::found("alice");
  logins["shared@example.org"] = LookupResult::found("alice, carol bob");
  logins["@team.example"] = LookupResult::found("bob");
  for (const Case& c : cases) {
    std::string main_cf = fmt::format(
        "recipient_delimiter = +\nsmtpd_sender_login_maps = hash:/logins\n"
        "smtpd_sender_restrictions = {}",
        c.restriction);
    PolicyFacts facts = outside_client();
    facts.sender = c.sender;
    facts.sasl_username = c.login;
    Verdict v = evaluate(main_cf, Stage::Rcpt, facts, world);
    EXPECT_EQ(reply_of(v), c.reply) << c.restriction << " " << c.sender << " " << c.login;
    if (!c.reply.empty()) {
      EXPECT_TRUE(logged(v, "reject", c.reply));
    }
  }
  // Without smtpd_sender_login_maps nothing is checked; nothing is looked up.
  world.asked.clear();
  PolicyFacts facts = outside_client();
  facts.sender = "alice@example.org";
  EXPECT_TRUE(evaluate("smtpd_sender_restrictions = reject_sender_login_mismatch", Stage::Rcpt,
                       facts, world)
                  .accepted);
  EXPECT_TRUE(world.asked.empty());
}

TEST(RestrictionEvaluator, SenderLoginMapsSearchOrder) {
  World world;
  world.tables["hash:/b"]["user@example.org"] = LookupResult::found("bob");
  world.tables["pcre:/p"]["@example.org"] = LookupResult::found("nobody");  // never asked
  PolicyFacts facts = outside_client();
  facts.sender = "User+Ext@Example.org";
  facts.sasl_username = "bob";
  Verdict v = evaluate(
      "recipient_delimiter = +\nsmtpd_sender_login_maps = hash:/a, pcre:/p, hash:/b\n"
      "smtpd_sender_restrictions = reject_sender_login_mismatch",
      Stage::Rcpt, facts, world);
  EXPECT_TRUE(v.accepted) << v.reply;
  // Each key in every table before the next key; a pattern table gets the full address only.
  EXPECT_EQ(world.asked, (std::vector<Need>{LookupNeed{"hash:/a", "user+ext@example.org"},
                                            LookupNeed{"pcre:/p", "user+ext@example.org"},
                                            LookupNeed{"hash:/b", "user+ext@example.org"},
                                            LookupNeed{"hash:/a", "user@example.org"},
                                            LookupNeed{"hash:/b", "user@example.org"}}));

  // A table that cannot answer is a temporary failure, never "no owner".
  World failing;
  failing.tables["hash:/a"]["alice@example.org"] = LookupResult::temp_fail("down");
  facts.sender = "alice@example.org";
  facts.sasl_username = "";
  v = evaluate(
      "smtpd_sender_login_maps = hash:/a\n"
      "smtpd_sender_restrictions = reject_sender_login_mismatch",
      Stage::Rcpt, facts, failing);
  EXPECT_EQ(v.reply, "451 4.3.0 <alice@example.org>: Temporary lookup failure");
  EXPECT_TRUE(logged(v, "warning", "hash:/a: table lookup problem: down"));
}

}  // namespace
}  // namespace estafeta::policy
