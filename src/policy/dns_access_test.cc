// Tests for the DNS-based access checks and permit_mx_backup (dns_access.h): the keys
// searched and their order, the fallbacks (no MX, NS of a parent, literals), DNS failures,
// permit_mx_backup's decisions; then the same through the restriction engine: replies,
// the refusal of OK, check_client_hostname_access's keys.
#include "policy/dns_access.h"

#include <gtest/gtest.h>

#include <map>

#include "policy/restriction_test_support.h"

namespace estafeta::policy {
namespace {

using DnsStatus = DnsAnswer::Status;
using test_support::settings_from;

DnsAnswer ok(std::vector<std::string> values, std::vector<int> preferences = {}) {
  return DnsAnswer{DnsStatus::Ok, std::move(values), std::move(preferences), ""};
}
DnsAnswer status(DnsStatus s) { return DnsAnswer{s, {}, {}, ""}; }

// A context with canned DNS answers (unknown: NXDOMAIN) and a table of keys; records what
// was asked and searched.
struct FakeContext final : DnsCheckContext {
  std::map<std::pair<std::string, DnsType>, DnsAnswer> answers;
  std::map<std::string, std::string> table;
  std::vector<std::string> searched;
  std::vector<std::pair<std::string, DnsType>> asked;
  std::vector<std::string> warnings;
  std::vector<std::string> deferrals;
  std::string found;  // the value of the key found

  std::optional<DnsAnswer> dns(const std::string& name, DnsType type) override {
    asked.emplace_back(name, type);
    auto it = answers.find({name, type});
    return it == answers.end() ? status(DnsStatus::NotFound) : it->second;
  }
  SearchOutcome search(const std::vector<AccessKey>& keys) override {
    for (const AccessKey& key : keys) {
      searched.push_back(key.key);
      auto it = table.find(key.key);
      if (it != table.end()) {
        found = it->second;
        return SearchOutcome::Found;
      }
    }
    return SearchOutcome::NotFound;
  }
  void warning(std::string text) override { warnings.push_back(std::move(text)); }
  void defer_if_reject(int code, std::string_view dsn, std::string text) override {
    deferrals.push_back(std::to_string(code) + " " + std::string(dsn) + " " + text);
  }
};

SearchOutcome search(FakeContext& c, ServerType type, std::string_view domain) {
  return search_servers(c, type, domain, ParentStyle::Bare, "Sender address", "a@example.net");
}

using Keys = std::vector<std::string>;

TEST(DnsAccess, MxHostsByPreferenceNameThenAddresses) {
  FakeContext c;
  c.answers[{"example.net", DnsType::MX}] = ok({"mx2.example.net", "mx1.example.org"}, {20, 10});
  c.answers[{"mx1.example.org", DnsType::Address}] = ok({"192.0.2.1", "2001:db8::1"});
  c.answers[{"mx2.example.net", DnsType::Address}] = ok({"198.51.100.7"});
  EXPECT_EQ(search(c, ServerType::MX, "example.net"), SearchOutcome::NotFound);
  EXPECT_EQ(c.searched,
            (Keys{"mx1.example.org", "example.org", "org", "192.0.2.1", "192.0.2", "192.0", "192",
                  "2001:db8::1", "2001:db8:", "2001:db8", "2001", "mx2.example.net", "example.net",
                  "net", "198.51.100.7", "198.51.100", "198.51", "198"}));
  EXPECT_TRUE(c.warnings.empty());
}

TEST(DnsAccess, FirstKeyFoundDecidesAndLaterHostsAreNotAsked) {
  FakeContext c;
  c.answers[{"example.net", DnsType::MX}] = ok({"mx1.example.net", "mx2.example.net"}, {10, 20});
  c.answers[{"mx1.example.net", DnsType::Address}] = ok({"127.0.0.1"});
  c.table["127"] = "REJECT";  // "MX in 127.0.0.0/8"
  c.table["mx2.example.net"] = "OK";
  EXPECT_EQ(search(c, ServerType::MX, "example.net"), SearchOutcome::Found);
  EXPECT_EQ(c.found, "REJECT");
  for (const auto& question : c.asked) EXPECT_NE(question.first, "mx2.example.net");
  // A DUNNO found stops the search as well (the engine applies it).
  FakeContext d = FakeContext();
  d.answers = c.answers;
  d.table["example.net"] = "DUNNO";
  d.table["127"] = "REJECT";
  EXPECT_EQ(search(d, ServerType::MX, "example.net"), SearchOutcome::Found);
  EXPECT_EQ(d.found, "DUNNO");
}

TEST(DnsAccess, NoMxRecordsMeansTheDomainIsItsOwnMx) {
  for (DnsStatus none : {DnsStatus::NoData, DnsStatus::NotFound}) {
    FakeContext c;
    c.answers[{"host.example.net", DnsType::MX}] = status(none);
    c.answers[{"host.example.net", DnsType::Address}] = ok({"10.1.2.3"});
    c.table["10"] = "REJECT private";
    EXPECT_EQ(search(c, ServerType::MX, "host.example.net"), SearchOutcome::Found);
    EXPECT_EQ(c.searched,
              (Keys{"host.example.net", "example.net", "net", "10.1.2.3", "10.1.2", "10.1", "10"}));
  }
}

TEST(DnsAccess, DnsFailuresSkipTheCheckWithAWarning) {
  FakeContext c;
  c.answers[{"example.net", DnsType::MX}] = DnsAnswer{DnsStatus::TempFail, {}, {}, "timeout"};
  EXPECT_EQ(search(c, ServerType::MX, "example.net"), SearchOutcome::NotFound);
  EXPECT_TRUE(c.searched.empty());
  EXPECT_EQ(c.warnings, (Keys{"Unable to look up MX host for example.net: timeout"}));
  EXPECT_TRUE(c.deferrals.empty());

  // A host whose address cannot be found: warned about, the next host is still checked.
  FakeContext d;
  d.answers[{"example.net", DnsType::MX}] = ok({"gone.example.net", "mx.example.net"}, {10, 10});
  d.answers[{"mx.example.net", DnsType::Address}] = ok({"192.0.2.9"});
  d.table["192.0.2.9"] = "REJECT";
  EXPECT_EQ(search(d, ServerType::MX, "example.net"), SearchOutcome::Found);
  EXPECT_EQ(d.warnings, (Keys{"Unable to look up MX host gone.example.net for Sender address "
                              "a@example.net: Host not found"}));

  FakeContext a;
  EXPECT_EQ(search(a, ServerType::A, "nowhere.example"), SearchOutcome::NotFound);
  EXPECT_EQ(a.warnings, (Keys{"Unable to look up A host for nowhere.example: Host not found"}));
}

TEST(DnsAccess, NullMxHasNoHostToCheck) {
  FakeContext c;
  c.answers[{"example.net", DnsType::MX}] = ok({""}, {0});
  EXPECT_EQ(search(c, ServerType::MX, "example.net"), SearchOutcome::NotFound);
  EXPECT_TRUE(c.searched.empty());
}

TEST(DnsAccess, NameServersOfTheNearestParentZone) {
  FakeContext c;
  c.answers[{"mail.sub.example.net", DnsType::NS}] = status(DnsStatus::NoData);
  c.answers[{"sub.example.net", DnsType::NS}] = status(DnsStatus::NotFound);
  c.answers[{"example.net", DnsType::NS}] = ok({"ns.hoster.example"});
  c.answers[{"ns.hoster.example", DnsType::Address}] = ok({"203.0.113.53"});
  c.table["hoster.example"] = "REJECT bad hoster";
  EXPECT_EQ(search(c, ServerType::NS, "mail.sub.example.net"), SearchOutcome::Found);
  EXPECT_EQ(c.searched, (Keys{"ns.hoster.example", "hoster.example"}));

  // Nothing up to the top-level domain: a warning, no search.
  FakeContext d;
  EXPECT_EQ(search(d, ServerType::NS, "a.b.test"), SearchOutcome::NotFound);
  EXPECT_EQ(d.asked.size(), 3u);  // a.b.test, b.test, test
  EXPECT_EQ(d.warnings, (Keys{"Unable to look up NS host for test: Host not found"}));
}

TEST(DnsAccess, AddressRecordsOnlyForTheAType) {
  FakeContext c;
  c.answers[{"helo.example.net", DnsType::Address}] = ok({"192.168.1.1"});
  EXPECT_EQ(search(c, ServerType::A, "helo.example.net."), SearchOutcome::NotFound);
  EXPECT_EQ(c.searched, (Keys{"192.168.1.1", "192.168.1", "192.168", "192"}));
}

TEST(DnsAccess, AddressLiterals) {
  FakeContext c;
  EXPECT_EQ(search(c, ServerType::MX, "[192.0.2.1]"), SearchOutcome::NotFound);
  EXPECT_EQ(search(c, ServerType::A, "[IPv6:2001:db8::1]"), SearchOutcome::NotFound);
  EXPECT_EQ(search(c, ServerType::NS, "[192.0.2.1]"), SearchOutcome::NotFound);
  EXPECT_EQ(search(c, ServerType::MX, "[bad]"), SearchOutcome::NotFound);
  EXPECT_EQ(c.searched, (Keys{"192.0.2.1", "192.0.2", "192.0", "192", "2001:db8::1",
                              "2001:db8:", "2001:db8", "2001"}));
  EXPECT_TRUE(c.asked.empty());
}

TEST(DnsAccess, Kinds) {
  auto k = server_access_kind(RestrictionKind::CheckSenderMxAccess);
  ASSERT_TRUE(k.has_value());
  EXPECT_EQ(k->type, ServerType::MX);
  EXPECT_EQ(k->subject, ServerSubject::Sender);
  k = server_access_kind(RestrictionKind::CheckReverseClientHostnameAAccess);
  ASSERT_TRUE(k.has_value());
  EXPECT_EQ(k->type, ServerType::A);
  EXPECT_EQ(k->subject, ServerSubject::ReverseClient);
  EXPECT_FALSE(server_access_kind(RestrictionKind::CheckClientAccess).has_value());
  EXPECT_FALSE(server_access_kind(RestrictionKind::CheckClientHostnameAccess).has_value());
}

// ---- permit_mx_backup ----

struct MxBackupCase {
  FakeContext c;
  MxBackupSettings settings{"mx.local.example", {"192.0.2.25", "2001:db8::25"}, nullptr};
  MxBackupOutcome run(std::string_view domain = "customer.example") {
    return mx_backup(c, domain, settings, "Recipient address", "u@customer.example");
  }
};

TEST(MxBackup, PermitsWhenWeAreABackupMxByNameOrAddress) {
  MxBackupCase by_name;
  by_name.c.answers[{"customer.example", DnsType::MX}] =
      ok({"mail.customer.example", "MX.Local.Example."}, {10, 20});
  EXPECT_EQ(by_name.run(), MxBackupOutcome::Permit);

  MxBackupCase by_address;
  by_address.c.answers[{"customer.example", DnsType::MX}] =
      ok({"mail.customer.example", "backup.isp.example"}, {10, 20});
  by_address.c.answers[{"backup.isp.example", DnsType::Address}] = ok({"2001:db8:0::25"});
  EXPECT_EQ(by_address.run(), MxBackupOutcome::Permit);
}

TEST(MxBackup, RefusesWhenNotListedOrPrimary) {
  MxBackupCase other;
  other.c.answers[{"customer.example", DnsType::MX}] =
      ok({"mail.customer.example", "backup.other.example"}, {10, 20});
  other.c.answers[{"backup.other.example", DnsType::Address}] = ok({"198.51.100.1"});
  EXPECT_EQ(other.run(), MxBackupOutcome::Dunno);

  // We are a primary MX host (best preference, even next to others): not a backup.
  MxBackupCase primary;
  primary.c.answers[{"customer.example", DnsType::MX}] =
      ok({"mx.local.example", "mail.customer.example", "backup.isp.example"}, {10, 10, 20});
  primary.c.answers[{"backup.isp.example", DnsType::Address}] = ok({"192.0.2.25"});
  EXPECT_EQ(primary.run(), MxBackupOutcome::Dunno);

  // Only one preference level, ours: no backup at all.
  MxBackupCase only;
  only.c.answers[{"customer.example", DnsType::MX}] = ok({"mx.local.example"}, {10});
  EXPECT_EQ(only.run(), MxBackupOutcome::Dunno);

  MxBackupCase no_mx;
  EXPECT_EQ(no_mx.run(), MxBackupOutcome::Dunno);
  EXPECT_TRUE(no_mx.c.deferrals.empty());

  MxBackupCase null_mx;
  null_mx.c.answers[{"customer.example", DnsType::MX}] = ok({""}, {0});
  EXPECT_EQ(null_mx.run(), MxBackupOutcome::Dunno);
}

TEST(MxBackup, TemporaryFailuresDeferARejection) {
  MxBackupCase c;
  c.c.answers[{"customer.example", DnsType::MX}] =
      DnsAnswer{DnsStatus::TempFail, {}, {}, "Host not found, try again"};
  EXPECT_EQ(c.run(), MxBackupOutcome::Dunno);
  EXPECT_EQ(c.c.deferrals,
            (Keys{"450 4.4.4 <u@customer.example>: Recipient address rejected: Unable to look up "
                  "mail exchanger information: Host not found, try again"}));

  MxBackupCase host;
  host.c.answers[{"customer.example", DnsType::MX}] =
      ok({"mail.customer.example", "backup.isp.example"}, {10, 20});
  host.c.answers[{"backup.isp.example", DnsType::Address}] = status(DnsStatus::TempFail);
  EXPECT_EQ(host.run(), MxBackupOutcome::Dunno);
  ASSERT_EQ(host.c.deferrals.size(), 1u);
  EXPECT_NE(host.c.deferrals[0].find("Unable to look up host backup.isp.example as mail exchanger"),
            std::string::npos);
}

TEST(MxBackup, NetworksOfThePrimaryMxHosts) {
  NetworkSet networks(NetworkList::parse({"198.51.100.0/24"}, nullptr), {});
  auto with_primary = [&](std::vector<std::string> addresses) {
    MxBackupCase c;
    c.settings.networks = &networks;
    c.c.answers[{"customer.example", DnsType::MX}] =
        ok({"mail.customer.example", "mx.local.example"}, {10, 20});
    c.c.answers[{"mail.customer.example", DnsType::Address}] = ok(std::move(addresses));
    return c.run();
  };
  EXPECT_EQ(with_primary({"198.51.100.10"}), MxBackupOutcome::Permit);
  EXPECT_EQ(with_primary({"198.51.100.10", "203.0.113.1"}), MxBackupOutcome::Dunno);
  EXPECT_EQ(with_primary({"203.0.113.1"}), MxBackupOutcome::Dunno);
}

// ---- Through the restriction engine ----

struct Engine {
  std::map<std::string, std::string> table;  // "hash:/t"
  std::map<std::pair<std::string, DnsType>, DnsAnswer> dns;
  std::vector<std::string> looked_up;

  Verdict run(const RestrictionSettings& s, const PolicyFacts& facts) {
    RestrictionEvaluator evaluator(s, Stage::Rcpt, facts);
    for (int i = 0; i < 200; ++i) {
      Step step = evaluator.next();
      if (auto* verdict = std::get_if<Verdict>(&step)) return *verdict;
      const Need& need = std::get<Need>(step);
      if (auto* lookup = std::get_if<LookupNeed>(&need)) {
        looked_up.push_back(lookup->key);
        auto it = table.find(lookup->key);
        evaluator.answer_lookup(lookup->table == "hash:/t" && it != table.end()
                                    ? maps::LookupResult::found(it->second)
                                    : maps::LookupResult::not_found());
      } else if (auto* question = std::get_if<DnsNeed>(&need)) {
        auto it = dns.find({question->name, question->type});
        evaluator.answer_dns(it != dns.end() ? it->second : status(DnsStatus::NotFound));
      } else {
        ADD_FAILURE() << "unexpected need";
        return {};
      }
    }
    ADD_FAILURE() << "no verdict";
    return {};
  }
};

// The outside client of the shared tests, greeting with a name of its own (the HELO checks
// look it up).
PolicyFacts facts() {
  PolicyFacts f = test_support::outside_client();
  f.helo = "helo.example.net";
  return f;
}

TEST(DnsAccessEngine, SenderMxInABlockedNetworkIsRejected) {
  RestrictionSettings s =
      settings_from("smtpd_sender_restrictions = check_sender_mx_access hash:/t");
  Engine e;
  e.dns[{"example.net", DnsType::MX}] = ok({"mx.example.net"}, {10});
  e.dns[{"mx.example.net", DnsType::Address}] = ok({"127.0.0.2"});
  e.table["127"] = "REJECT MX in loopback network";
  Verdict v = e.run(s, facts());
  EXPECT_FALSE(v.accepted);
  EXPECT_EQ(v.reply,
            "554 5.7.1 <alice@example.net>: Sender address rejected: MX in loopback network");

  // OK is refused: a sender cannot let itself in through its own DNS.
  Engine allow;
  allow.dns = e.dns;
  allow.table["mx.example.net"] = "OK";
  v = allow.run(s, facts());
  EXPECT_FALSE(v.accepted);
  EXPECT_EQ(v.reply, "451 4.3.5 Server configuration error");
  ASSERT_FALSE(v.log.empty());
  EXPECT_EQ(v.log.front().text,
            "restriction check_sender_mx_access returns OK for example.net: this is not allowed "
            "for security reasons; use DUNNO instead of OK if you want to make an exception");

  // The null sender has no domain to look at.
  PolicyFacts bounce = facts();
  bounce.sender = "";
  Engine none;
  EXPECT_TRUE(none.run(s, bounce).accepted);
  EXPECT_TRUE(none.looked_up.empty());
}

TEST(DnsAccessEngine, HeloAAndRecipientNsAndClientChecks) {
  RestrictionSettings s = settings_from(
      "smtpd_helo_restrictions = check_helo_a_access hash:/t\n"
      "smtpd_recipient_restrictions = check_recipient_ns_access hash:/t, "
      "reject_unauth_destination\n");
  Engine helo;
  helo.dns[{"helo.example.net", DnsType::Address}] = ok({"10.0.0.1"});
  helo.table["10.0.0"] = "550 5.7.1 HELO name in a private network";
  Verdict v = helo.run(s, facts());
  EXPECT_EQ(v.reply,
            "550 5.7.1 <helo.example.net>: Helo command rejected: HELO name in a private network");

  Engine ns;
  ns.dns[{"example.com", DnsType::NS}] = ok({"ns1.bad-hoster.example"});
  ns.table["bad-hoster.example"] = "REJECT";
  v = ns.run(s, facts());
  EXPECT_EQ(v.reply, "554 5.7.1 <bob@example.com>: Recipient address rejected: Access denied");

  RestrictionSettings client =
      settings_from("smtpd_client_restrictions = check_client_mx_access hash:/t");
  PolicyFacts unknown = facts();
  unknown.client_name = "unknown";
  unknown.client_name_status = NameStatus::Permanent;
  Engine skipped;
  EXPECT_TRUE(skipped.run(client, unknown).accepted);
  EXPECT_TRUE(skipped.looked_up.empty());
}

TEST(DnsAccessEngine, ClientHostnameAccessSearchesTheNameOnly) {
  RestrictionSettings s =
      settings_from("smtpd_client_restrictions = check_client_hostname_access hash:/t");
  Engine name;
  name.table["example.net"] = "REJECT";
  Verdict v = name.run(s, facts());
  EXPECT_EQ(v.reply,
            "554 5.7.1 <client.example.net[192.0.2.10]>: Client host rejected: Access denied");
  Engine address;
  address.table["192.0.2.10"] = "REJECT";
  EXPECT_TRUE(address.run(s, facts()).accepted);
  EXPECT_EQ(address.looked_up, (Keys{"client.example.net", "example.net", "net"}));
  // OK is allowed here: the name is forward-confirmed.
  Engine allowed;
  allowed.table["client.example.net"] = "OK";
  EXPECT_TRUE(allowed.run(s, facts()).accepted);
}

TEST(DnsAccessEngine, PermitMxBackupRelaysForDomainsThatListUs) {
  RestrictionSettings s =
      settings_from("smtpd_relay_restrictions = permit_mx_backup, reject_unauth_destination\n");
  s.own_addresses = {"192.0.2.25"};
  PolicyFacts f = facts();
  f.recipient = "bob@customer.example";
  f.recipient_facts.authorized = Match::No;
  f.recipient_facts.final_destination = false;
  Engine backup;
  backup.dns[{"customer.example", DnsType::MX}] =
      ok({"mail.customer.example", "relay.isp.example"}, {10, 20});
  backup.dns[{"relay.isp.example", DnsType::Address}] = ok({"192.0.2.25"});
  EXPECT_TRUE(backup.run(s, f).accepted);

  Engine stranger;
  stranger.dns[{"customer.example", DnsType::MX}] = ok({"mail.customer.example"}, {10});
  Verdict v = stranger.run(s, f);
  EXPECT_EQ(v.reply, "554 5.7.1 <bob@customer.example>: Relay access denied");

  // A DNS failure: the relay refusal becomes a deferral.
  Engine failing;
  failing.dns[{"customer.example", DnsType::MX}] = status(DnsStatus::TempFail);
  v = failing.run(s, f);
  EXPECT_EQ(v.reply.substr(0, 10), "450 4.4.4 ");

  // Source-routed addresses are never relayed this way.
  f.recipient_facts.routed = true;
  EXPECT_FALSE(backup.run(s, f).accepted);
}

}  // namespace
}  // namespace estafeta::policy
