// Table-driven tests for the relay decision, network matching and mailbox names.
#include "policy/recipient_check.h"

#include <gtest/gtest.h>

#include "policy/mailbox_name.h"

namespace estafeta::policy {
namespace {

RecipientPolicy make_policy() {
  RecipientPolicy p;
  p.route.myorigin = "localhost";
  p.route.mydestination = DomainList({"localhost", "MX.example.org"}, {}, false);
  p.route.relay_domains = DomainList({"relayed.example"}, {}, true);
  p.mynetworks =
      NetworkSet(NetworkList::parse({"127.0.0.0/8", "[::1]/128", "10.1.0.0/16"}, nullptr), {});
  return p;
}

// A table with fixed answers, standing in for any maps::Map.
class FixedMap : public maps::Map {
 public:
  FixedMap(std::string key, maps::LookupResult answer)
      : key_(std::move(key)), answer_(std::move(answer)) {}
  maps::LookupResult lookup(std::string_view key) const override {
    return key == key_ ? answer_ : maps::LookupResult::not_found();
  }

 private:
  std::string key_;
  maps::LookupResult answer_;
};

TEST(RecipientCheck, Table) {
  struct Case {
    const char* client;
    const char* rcpt;
    RecipientClass expected;
  } cases[] = {
      {"192.0.2.1", "user@localhost", RecipientClass::Local},
      {"192.0.2.1", "User@LOCALHOST", RecipientClass::Local},
      {"192.0.2.1", "postmaster", RecipientClass::Local},
      {"192.0.2.1", "../etc@localhost", RecipientClass::Rejected},
      {"192.0.2.1", "a/b@localhost", RecipientClass::Rejected},
      {"192.0.2.1", ".hidden@localhost", RecipientClass::Rejected},
      {"192.0.2.1", "user@remote.example", RecipientClass::Rejected},
      {"127.0.0.1", "user@remote.example", RecipientClass::Relay},
      {"::1", "user@remote.example", RecipientClass::Relay},
      {"10.1.200.3", "user@remote.example", RecipientClass::Relay},
      {"10.2.0.1", "user@remote.example", RecipientClass::Rejected},
      {"192.0.2.1", "user@relayed.example", RecipientClass::Relay},
      {"192.0.2.1", "user@sub.relayed.example", RecipientClass::Relay},
      {"192.0.2.1", "user@xrelayed.example", RecipientClass::Rejected},
      {"192.0.2.1", "user@mx.EXAMPLE.org", RecipientClass::Local},
      // A quoted '@' at a local domain is a source route through us (Postfix's
      // resolve_dequoted): "a@b"@localhost is a@b, not ours.
      {"192.0.2.1", "\"a@b\"@localhost", RecipientClass::Rejected},
      {"192.0.2.1", "\"a@localhost\"@localhost", RecipientClass::Local},
      // Source routes through a relay domain are never relayed for outside clients
      // (user%elsewhere@domain, elsewhere!user@domain, "user@elsewhere"@domain).
      {"192.0.2.1", "user%victim.example@relayed.example", RecipientClass::Rejected},
      {"192.0.2.1", "victim.example!user@relayed.example", RecipientClass::Rejected},
      {"192.0.2.1", "\"user@victim.example\"@relayed.example", RecipientClass::Rejected},
      {"127.0.0.1", "user%victim.example@relayed.example", RecipientClass::Relay},
      // ... and through a local domain they resolve to the routed address.
      {"192.0.2.1", "user%victim.example@localhost", RecipientClass::Rejected},
      {"192.0.2.1", "user%relayed.example@localhost", RecipientClass::Relay},
      {"192.0.2.1", "user%mx.example.org@localhost", RecipientClass::Local},
  };
  auto policy = make_policy();
  for (const auto& c : cases) {
    auto verdict = check_recipient(policy, c.client, c.rcpt);
    EXPECT_EQ(verdict.kind, c.expected) << c.client << " " << c.rcpt;
    EXPECT_EQ(verdict.kind == RecipientClass::Rejected, !verdict.reply.empty()) << c.rcpt;
  }
  // An authenticated client relays, as with Postfix's permit_sasl_authenticated.
  EXPECT_EQ(check_recipient(policy, "192.0.2.1", "u@remote.example", true).kind,
            RecipientClass::Relay);
  EXPECT_EQ(check_recipient(policy, "192.0.2.1", "u@remote.example").reply,
            "454 4.7.1 <u@remote.example>: Relay access denied");
}

TEST(RecipientCheck, TablesAndTemporaryFailures) {
  FixedMap domains("tabled.example", maps::LookupResult::found("OK"));
  FixedMap broken("down.example", maps::LookupResult::temp_fail("server down"));
  FixedMap networks("192.0.2.9", maps::LookupResult::found("OK"));
  RecipientPolicy p;
  p.route.mydestination = DomainList({"localhost"}, {&domains, &broken}, false);
  p.mynetworks = NetworkSet(NetworkList{}, {&networks});
  EXPECT_EQ(check_recipient(p, "192.0.2.1", "u@tabled.example").kind, RecipientClass::Local);
  EXPECT_EQ(check_recipient(p, "192.0.2.1", "u@TABLED.example").kind, RecipientClass::Local);
  auto deferred = check_recipient(p, "192.0.2.1", "u@down.example");
  EXPECT_EQ(deferred.kind, RecipientClass::Deferred);
  EXPECT_EQ(deferred.reply, "451 4.3.0 <u@down.example>: Temporary lookup failure");
  EXPECT_EQ(check_recipient(p, "192.0.2.9", "u@remote.example").kind, RecipientClass::Relay);
  EXPECT_EQ(check_recipient(p, "192.0.2.1", "u@remote.example").kind, RecipientClass::Rejected);
}

// A table holding exactly the listed keys.
class KeySet : public maps::Map {
 public:
  explicit KeySet(std::vector<std::string> keys) : keys_(std::move(keys)) {}
  maps::LookupResult lookup(std::string_view key) const override {
    for (const auto& k : keys_) {
      if (k == key) return maps::LookupResult::found("x");
    }
    return maps::LookupResult::not_found();
  }

 private:
  std::vector<std::string> keys_;
};

TEST(RecipientCheck, UnlistedRecipientsAreRefusedPerClass) {
  KeySet passwd({"alice", "bob"});
  KeySet aliases({"postmaster", "info"});
  KeySet virtual_alias({"sales@valias.example", "@catchall.example"});
  KeySet mailboxes({"ann@vbox.example"});
  KeySet relay_users({"carol@relayed.example"});
  RecipientPolicy p = make_policy();
  p.route.recipient_delimiter = "+";
  p.route.virtual_alias_domains = DomainList({"valias.example", "catchall.example"}, {}, false);
  p.route.virtual_mailbox_domains = DomainList({"vbox.example"}, {}, false);
  p.local = {true, {&passwd, &aliases}, 550};
  p.virtual_alias = {true, {&virtual_alias}, 550};
  p.virtual_mailbox = {true, {&mailboxes}, 550};
  p.relay = {true, {&relay_users}, 450};
  struct Case {
    const char* rcpt;
    const char* reply;  // "" = accepted
  } cases[] = {
      {"alice@localhost", ""},
      {"alice+folder@localhost", ""},  // the extension is stripped for the lookup
      {"info@mx.example.org", ""},
      {"postmaster", ""},  // unqualified: @myorigin, a local domain
      {"nobody@localhost",
       "550 5.1.1 <nobody@localhost>: Recipient address rejected: User unknown in local "
       "recipient table"},
      {"sales@valias.example", ""},
      {"anyone@catchall.example", ""},
      {"bogus@valias.example",
       "550 5.1.1 <bogus@valias.example>: Recipient address rejected: User unknown in virtual "
       "alias table"},
      {"ann@vbox.example", ""},
      {"ben@vbox.example",
       "550 5.1.1 <ben@vbox.example>: Recipient address rejected: User unknown in virtual "
       "mailbox table"},
      {"carol@relayed.example", ""},
      {"dave@relayed.example",
       "450 4.1.1 <dave@relayed.example>: Recipient address rejected: User unknown in relay "
       "recipient table"},
      // Sender-specified routing is refused for every class but local (Postfix's
      // permit_auth_destination), even where the tables would match.
      {"x%relayed.example@catchall.example",
       "454 4.7.1 <x%relayed.example@catchall.example>: Relay access denied"},
      {"a!ann@vbox.example", "454 4.7.1 <a!ann@vbox.example>: Relay access denied"},
  };
  for (const auto& c : cases) {
    auto verdict = check_recipient(p, "192.0.2.1", c.rcpt);
    EXPECT_EQ(verdict.reply, c.reply) << c.rcpt;
  }
  // A mynetworks client gets the same answer: relaying is allowed, unknown users are not.
  EXPECT_EQ(check_recipient(p, "127.0.0.1", "nobody@localhost").kind, RecipientClass::Rejected);
  // Off: any address of the class is accepted.
  p.reject_unlisted_recipient = false;
  EXPECT_EQ(check_recipient(p, "192.0.2.1", "nobody@localhost").kind, RecipientClass::Local);
}

TEST(RecipientCheck, RecipientTableFailureDefers) {
  FixedMap broken("alice@localhost", maps::LookupResult::temp_fail("database down"));
  RecipientPolicy p = make_policy();
  p.local = {true, {&broken}, 550};
  auto verdict = check_recipient(p, "192.0.2.1", "alice@localhost");
  EXPECT_EQ(verdict.kind, RecipientClass::Deferred);
  EXPECT_EQ(verdict.reply, "451 4.3.0 <alice@localhost>: Temporary lookup failure");
}

TEST(AddressList, LeadingDotMatchesSubdomainsOnly) {
  DomainList list({".example.com", "exact.example"}, {}, false);
  EXPECT_EQ(list.contains("a.example.com"), Match::Yes);
  EXPECT_EQ(list.contains("a.b.EXAMPLE.com"), Match::Yes);
  EXPECT_EQ(list.contains("example.com"), Match::No);
  EXPECT_EQ(list.contains("sub.exact.example"), Match::No);
  DomainList parent({"example.com"}, {}, true);
  EXPECT_EQ(parent.contains("a.example.com"), Match::Yes);
  EXPECT_EQ(parent.contains("example.com"), Match::Yes);
  EXPECT_EQ(parent.contains("badexample.com"), Match::No);
}

TEST(AddressList, SplitsTablesFromLiterals) {
  auto split =
      split_list_items({"localhost", "hash:/etc/estafeta/domains", "::1/128", "2001:db8::/32",
                        "[::1]/128", "cidr:/etc/networks", "inline:{a.example=OK}"});
  EXPECT_EQ(split.literals,
            (std::vector<std::string>{"localhost", "::1/128", "2001:db8::/32", "[::1]/128"}));
  EXPECT_EQ(split.tables,
            (std::vector<std::string>{"hash:/etc/estafeta/domains", "cidr:/etc/networks",
                                      "inline:{a.example=OK}"}));
}

TEST(Network, ParseAndMatch) {
  std::vector<std::string> bad;
  auto list = NetworkList::parse({"192.168.0.0/24", "2001:db8::/32", "[::1]/128", "10.9.9.9",
                                  "bogus", "1.2.3.4/33", "192.168.7.9/24"},
                                 &bad);
  ASSERT_EQ(bad.size(), 3u);  // as Postfix: host bits set in a network are an error
  EXPECT_EQ(bad[0].rfind("bogus: ", 0), 0u) << bad[0];
  EXPECT_EQ(bad[1].rfind("1.2.3.4/33: ", 0), 0u) << bad[1];
  EXPECT_EQ(bad[2].rfind("192.168.7.9/24: ", 0), 0u) << bad[2];
  EXPECT_TRUE(list.contains("192.168.0.77"));
  EXPECT_FALSE(list.contains("192.168.1.1"));
  EXPECT_TRUE(list.contains("2001:db8:1::5"));
  EXPECT_FALSE(list.contains("2001:db9::1"));
  EXPECT_TRUE(list.contains("::1"));
  EXPECT_TRUE(list.contains("10.9.9.9"));
  EXPECT_FALSE(list.contains("10.9.9.8"));
  EXPECT_FALSE(list.contains("not an ip"));
}

TEST(MailboxName, Rules) {
  EXPECT_EQ(mailbox_name("John.Doe"), "john.doe");
  EXPECT_EQ(mailbox_name(""), std::nullopt);
  EXPECT_EQ(mailbox_name(".."), std::nullopt);
  EXPECT_EQ(mailbox_name("a b"), std::nullopt);
  EXPECT_EQ(mailbox_name(std::string(65, 'a')), std::nullopt);
  EXPECT_EQ(mailbox_name("a\x01"), std::nullopt);
}

}  // namespace
}  // namespace estafeta::policy
