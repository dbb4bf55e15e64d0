// Tests of cleanup's address rewriting: the lookup key order, canonical mapping,
// masquerading, virtual alias expansion, automatic BCC, header rewriting and the settings.
// Each test names the Postfix rule it pins down.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "maps/memory_map.h"
#include "rewrite/address_lookup.h"
#include "rewrite/canonical.h"
#include "rewrite/masquerade.h"
#include "rewrite/rewriter.h"
#include "rewrite/settings.h"
#include "rewrite/virtual_alias.h"

namespace estafeta::rewrite {
namespace {

using maps::LookupStatus;
using List = std::vector<std::string>;

// Owns the tables a test builds; hands out TableLists of borrowed pointers.
class Tables {
 public:
  const maps::Map* add(std::unordered_map<std::string, std::string> entries) {
    owned_.push_back(std::make_unique<maps::MemoryMap>(std::move(entries), true));
    return owned_.back().get();
  }
  const maps::Map* add(std::unique_ptr<maps::Map> map) {
    owned_.push_back(std::move(map));
    return owned_.back().get();
  }
  TableList list(std::unordered_map<std::string, std::string> entries) {
    return TableList{Table{add(std::move(entries)), false}};
  }

 private:
  std::vector<std::unique_ptr<maps::Map>> owned_;
};

// A table that cannot answer.
class FailingMap final : public maps::Map {
 public:
  maps::LookupResult lookup(std::string_view) const override {
    return maps::LookupResult::temp_fail("connection refused");
  }
};

// A "pattern" table that answers every key and remembers what it was asked.
class RecordingMap final : public maps::Map {
 public:
  maps::LookupResult lookup(std::string_view key) const override {
    keys.emplace_back(key);
    return maps::LookupResult::not_found();
  }
  mutable std::vector<std::string> keys;
};

Context context_with_local(std::string delimiter, std::vector<std::string> local) {
  Context c;
  c.recipient_delimiter = std::move(delimiter);
  c.is_local_domain = [local](std::string_view domain) {
    for (const std::string& d : local) {
      if (d == domain) return LookupStatus::Found;
    }
    return LookupStatus::NotFound;
  };
  return c;
}

const Context kPlus = context_with_local("+", {"local.example"});

// ---- Lookup key order (mail_addr_find) ----

TEST(FindAddress, KeysInPostfixOrder) {
  RecordingMap recorder;
  TableList tables{Table{&recorder, false}};
  find_address(tables, "u+x@local.example", kPlus);
  EXPECT_EQ(recorder.keys,
            List({"u+x@local.example", "u@local.example", "u+x", "u", "@local.example"}));
  recorder.keys.clear();
  find_address(tables, "u+x@remote.example", kPlus);  // no "user" keys for a remote domain
  EXPECT_EQ(recorder.keys, List({"u+x@remote.example", "u@remote.example", "@remote.example"}));
  recorder.keys.clear();
  find_address(tables, "u+x", kPlus);  // unqualified: itself, then without the extension
  EXPECT_EQ(recorder.keys, List({"u+x", "u"}));
  recorder.keys.clear();
  find_address(tables, "u+x@remote.example", Context{});  // no delimiter: no extension
  EXPECT_EQ(recorder.keys, List({"u+x@remote.example", "@remote.example"}));
}

TEST(FindAddress, PatternTablesSeeOnlyTheFullAddress) {
  RecordingMap recorder;
  TableList tables{Table{&recorder, true}};
  find_address(tables, "u+x@local.example", kPlus);
  EXPECT_EQ(recorder.keys, List({"u+x@local.example"}));
  EXPECT_TRUE(is_pattern_table("regexp:/etc/x"));
  EXPECT_TRUE(is_pattern_table("PCRE:/etc/x"));
  EXPECT_TRUE(is_pattern_table("cidr:/etc/x"));
  EXPECT_FALSE(is_pattern_table("hash:/etc/x"));
}

TEST(FindAddress, ExtensionIsRememberedOnlyWhenChopped) {
  Tables t;
  TableList tables = t.list({{"u@d.example", "v@e.example"}, {"w+x@d.example", "full"}});
  AddressMatch m = find_address(tables, "u+box@d.example", kPlus);
  EXPECT_EQ(m.status, LookupStatus::Found);
  EXPECT_EQ(m.value, "v@e.example");
  EXPECT_EQ(m.extension, "+box");
  m = find_address(tables, "w+x@d.example", kPlus);
  EXPECT_EQ(m.value, "full");
  EXPECT_EQ(m.extension, "");
}

TEST(FindAddress, KeyOrderBeatsTableOrder) {
  // One logical table: "a@d" in the second table wins over "@d" in the first.
  Tables t;
  TableList tables{Table{t.add({{"@d.example", "catchall@x"}}), false},
                   Table{t.add({{"a@d.example", "specific@x"}}), false}};
  EXPECT_EQ(find_address(tables, "a@d.example", kPlus).value, "specific@x");
  EXPECT_EQ(find_address(tables, "b@d.example", kPlus).value, "catchall@x");
}

TEST(FindAddress, TemporaryFailuresAreNeverNotFound) {
  Tables t;
  FailingMap failing;
  TableList tables{Table{t.add({{"a@d.example", "x@y"}}), false}, Table{&failing, false}};
  // The first key is answered by the first table before the failing one is asked.
  EXPECT_EQ(find_address(tables, "a@d.example", kPlus).status, LookupStatus::Found);
  EXPECT_EQ(find_address(tables, "b@d.example", kPlus).status, LookupStatus::TempFail);
  EXPECT_EQ(find_address(TableList{Table{nullptr, false}}, "a@b", kPlus).status,
            LookupStatus::TempFail);
  Context broken = kPlus;
  broken.is_local_domain = [](std::string_view) { return LookupStatus::TempFail; };
  EXPECT_EQ(find_address(t.list({{"@d.example", "x"}}), "a@d.example", broken).status,
            LookupStatus::TempFail);
}

// ---- Results (mail_addr_map) ----

TEST(MapAddress, UnmatchedExtensionPropagates) {
  Tables t;
  TableList tables = t.list({{"u@d.example", "v@e.example, w"}});
  MappedAddress m = map_address(tables, "u+box@d.example", true, kPlus);
  EXPECT_EQ(m.addresses, List({"v+box@e.example", "w+box"}));
  m = map_address(tables, "u+box@d.example", false, kPlus);
  EXPECT_EQ(m.addresses, List({"v@e.example", "w"}));
  // The original delimiter goes back on, whichever of several it was.
  Context multi = kPlus;
  multi.recipient_delimiter = "+-";
  EXPECT_EQ(map_address(tables, "u-box@d.example", true, multi).addresses,
            List({"v-box@e.example", "w-box"}));
}

TEST(MapAddress, UserKeyOfALocalDomainPropagatesToo) {
  Tables t;
  TableList tables = t.list({{"u", "v@e.example"}});
  EXPECT_EQ(map_address(tables, "u+box@local.example", true, kPlus).addresses,
            List({"v+box@e.example"}));
  EXPECT_EQ(map_address(tables, "u+box@remote.example", true, kPlus).status,
            LookupStatus::NotFound);
}

TEST(MapAddress, DomainResultKeepsTheLocalPart) {
  Tables t;
  TableList tables = t.list({{"@old.example", "@new.example"}, {"u@d.example", "@e.example"}});
  EXPECT_EQ(map_address(tables, "Ann+x@old.example", true, kPlus).addresses,
            List({"Ann+x@new.example"}));
  // Matched without the extension: the local part loses it, propagation puts it back.
  EXPECT_EQ(map_address(tables, "u+x@d.example", true, kPlus).addresses, List({"u+x@e.example"}));
  EXPECT_EQ(map_address(tables, "u+x@d.example", false, kPlus).addresses, List({"u@e.example"}));
}

TEST(MapAddress, ResultsAreCanonicalizedAndNonAddressesFail) {
  Tables t;
  TableList tables = t.list({{"a@d.example", "bob"}, {"empty@d.example", " , "}});
  Context qualify = kPlus;
  qualify.canonicalize = [](std::string_view a) {
    return a.find('@') == std::string_view::npos ? std::string(a) + "@origin.example"
                                                 : std::string(a);
  };
  EXPECT_EQ(map_address(tables, "a@d.example", false, qualify).addresses,
            List({"bob@origin.example"}));
  EXPECT_EQ(map_address(tables, "empty@d.example", false, kPlus).status, LookupStatus::TempFail);
}

TEST(ParseTableAddresses, CommasSpacesQuotesAndDisplayNames) {
  EXPECT_EQ(parse_table_addresses("a@x, b@y  c@z,,"), List({"a@x", "b@y", "c@z"}));
  EXPECT_EQ(parse_table_addresses("\"j doe\"@x (comment), k@y"), List({"\"j doe\"@x", "k@y"}));
  EXPECT_EQ(parse_table_addresses("Ann Smith <a@x>, b@y"), List({"a@x", "b@y"}));
  EXPECT_EQ(parse_table_addresses(""), List());
}

// ---- canonical(5) ----

TEST(Canonical, RecursiveUntilNoMatchOrSelf) {
  Tables t;
  TableList tables =
      t.list({{"a@d", "b@d"}, {"b@d", "c@d"}, {"self@d", "SELF@d"}, {"multi@d", "m1@d m2@d"}});
  EXPECT_EQ(map_one_to_one(tables, "canonical_maps", "a@d", true, kPlus).address, "c@d");
  MappedOne self = map_one_to_one(tables, "canonical_maps", "self@d", true, kPlus);
  EXPECT_EQ(self.address, "SELF@d");
  EXPECT_TRUE(self.warnings.empty());
  MappedOne multi = map_one_to_one(tables, "canonical_maps", "multi@d", true, kPlus);
  EXPECT_EQ(multi.address, "m1@d");
  ASSERT_EQ(multi.warnings.size(), 1u);
  EXPECT_EQ(multi.warnings[0], "multi-valued canonical_maps entry for multi@d");
  EXPECT_EQ(map_one_to_one(tables, "canonical_maps", "", true, kPlus).address, "");
}

TEST(Canonical, LoopStopsAfterTenRoundsWithAWarning) {
  Tables t;
  TableList tables = t.list({{"a@d", "b@d"}, {"b@d", "a@d"}});
  MappedOne m = map_one_to_one(tables, "canonical_maps", "a@d", true, kPlus);
  EXPECT_EQ(m.address, "a@d");  // ten rounds: back where it started
  EXPECT_FALSE(m.deferral);
  ASSERT_EQ(m.warnings.size(), 1u);
  EXPECT_EQ(m.warnings[0], "unreasonable canonical_maps map nesting for a@d");
}

TEST(Canonical, TableFailureDefers) {
  FailingMap failing;
  MappedOne m =
      map_one_to_one(TableList{Table{&failing, false}}, "canonical_maps", "a@d", true, kPlus);
  ASSERT_TRUE(m.deferral);
  EXPECT_EQ(m.deferral->status, "4.3.0");
  EXPECT_EQ(m.deferral->text, "Error: queue file write error");
  EXPECT_NE(m.deferral->log.find("canonical_maps map lookup problem for a@d"), std::string::npos);
  EXPECT_EQ(m.address, "a@d");
}

// ---- masquerade_domains ----

TEST(Masquerade, StripsSubdomainsBelowAListedDomain) {
  MasqueradeRules r{{"a.example"}, {}};
  EXPECT_EQ(masquerade("u@host.a.example", r), "u@a.example");
  EXPECT_EQ(masquerade("u@deep.host.A.EXAMPLE", r), "u@a.example");
  EXPECT_EQ(masquerade("u@a.example", r), "u@a.example");
  EXPECT_EQ(masquerade("u@xa.example", r), "u@xa.example");  // not a parent: no dot
  EXPECT_EQ(masquerade("u@other.example", r), "u@other.example");
  EXPECT_EQ(masquerade("unqualified", r), "unqualified");
  EXPECT_EQ(masquerade("u@host.a.example", MasqueradeRules{}), "u@host.a.example");
}

TEST(Masquerade, FirstMatchingEntryDecidesAndBangProtects) {
  MasqueradeRules r{{"!sub.a.example", "a.example"}, {}};
  EXPECT_EQ(masquerade("u@x.sub.a.example", r), "u@x.sub.a.example");
  EXPECT_EQ(masquerade("u@y.a.example", r), "u@a.example");
  MasqueradeRules order{{"example.com", "a.example.com"}, {}};
  EXPECT_EQ(masquerade("u@h.a.example.com", order), "u@example.com");
  MasqueradeRules twice{{"!!a.example"}, {}};  // each '!' toggles
  EXPECT_EQ(masquerade("u@h.a.example", twice), "u@a.example");
  // An entry equal to the domain stops the search: later entries are not tried.
  MasqueradeRules exact{{"h.a.example", "a.example"}, {}};
  EXPECT_EQ(masquerade("u@h.a.example", exact), "u@h.a.example");
}

TEST(Masquerade, ExceptionsAreNeverMasqueraded) {
  MasqueradeRules r{{"a.example"}, {"root", "mailer-daemon"}};
  EXPECT_EQ(masquerade("root@host.a.example", r), "root@host.a.example");
  EXPECT_EQ(masquerade("ROOT@host.a.example", r), "ROOT@host.a.example");
  EXPECT_EQ(masquerade("rooty@host.a.example", r), "rooty@a.example");
}

// ---- virtual(5) ----

AliasExpansion expand(const TableList& tables, std::string_view address, AliasLimits limits = {}) {
  return expand_virtual_alias(tables, address, limits, true, kPlus);
}

TEST(VirtualAlias, OneToManyAndRecursive) {
  Tables t;
  TableList tables = t.list({{"list@v.example", "a@v.example, b@x.example c@y.example"},
                             {"a@v.example", "a1@z.example a2@z.example"}});
  EXPECT_EQ(expand(tables, "list@v.example").addresses,
            List({"a1@z.example", "b@x.example", "c@y.example", "a2@z.example"}));
  EXPECT_EQ(expand(tables, "nobody@v.example").addresses, List({"nobody@v.example"}));
}

TEST(VirtualAlias, AddressListingItselfKeepsItself) {
  Tables t;
  TableList tables = t.list({{"ann@v.example", "ann@v.example, archive@v.example"},
                             {"archive@v.example", "store@z.example"}});
  AliasExpansion e = expand(tables, "ann@v.example");
  EXPECT_FALSE(e.deferral);
  EXPECT_EQ(e.addresses, List({"ann@v.example", "store@z.example"}));
}

TEST(VirtualAlias, CatchAllUserKeyAndExtensions) {
  Tables t;
  TableList tables = t.list({{"@v.example", "catch@z.example"},
                             {"known@v.example", "k@z.example"},
                             {"postmaster", "admin@z.example"}});
  EXPECT_EQ(expand(tables, "anyone@v.example").addresses, List({"catch@z.example"}));
  EXPECT_EQ(expand(tables, "known+tag@v.example").addresses, List({"k+tag@z.example"}));
  EXPECT_EQ(expand_virtual_alias(tables, "known+tag@v.example", {}, false, kPlus).addresses,
            List({"k@z.example"}));
  // "user" only for local domains.
  EXPECT_EQ(expand(tables, "postmaster@local.example").addresses, List({"admin@z.example"}));
  EXPECT_EQ(expand(tables, "postmaster@remote.example").addresses,
            List({"postmaster@remote.example"}));
}

TEST(VirtualAlias, DuplicatesRemoved) {
  Tables t;
  TableList tables = t.list({{"a@v", "b@v, c@v, b@v"}, {"c@v", "b@v"}});
  EXPECT_EQ(expand(tables, "a@v").addresses, List({"b@v"}));
}

TEST(VirtualAlias, LimitsDeferWithPostfixStatus) {
  Tables t;
  TableList loop = t.list({{"a@v", "b@v"}, {"b@v", "a@v"}});
  AliasExpansion e = expand(loop, "a@v", AliasLimits{5, 1000, 1000});
  ASSERT_TRUE(e.deferral);
  EXPECT_EQ(e.deferral->status, "4.6.0");
  EXPECT_EQ(e.deferral->text, "Alias expansion error");
  EXPECT_NE(e.deferral->log.find("unreasonable virtual_alias_maps map nesting for a@v"),
            std::string::npos);
  EXPECT_EQ(e.addresses, List({"a@v"}));

  TableList chain = t.list({{"a@v", "b@v"}, {"b@v", "c@v"}, {"c@v", "d@v"}});
  // As Postfix: a chain of N lookups that found something needs a limit above N (the
  // limit is checked before the lookup that finds nothing more).
  EXPECT_FALSE(expand(chain, "a@v", AliasLimits{4, 1000, 1000}).deferral);
  EXPECT_TRUE(expand(chain, "a@v", AliasLimits{3, 1000, 1000}).deferral);

  TableList wide = t.list({{"a@v", "1@v 2@v 3@v 4@v"}});
  EXPECT_FALSE(expand(wide, "a@v", AliasLimits{1000, 4, 1000}).deferral);
  e = expand(wide, "a@v", AliasLimits{1000, 3, 1000});
  ASSERT_TRUE(e.deferral);
  EXPECT_NE(e.deferral->log.find("map expansion size for a@v"), std::string::npos);

  TableList longer = t.list({{"a@v", std::string(20, 'x') + "@v"}});
  EXPECT_TRUE(expand(longer, "a@v", AliasLimits{1000, 1000, 20}).deferral);
  EXPECT_FALSE(expand(longer, "a@v", AliasLimits{1000, 1000, 22}).deferral);
}

TEST(VirtualAlias, TableFailureDefers) {
  FailingMap failing;
  AliasExpansion e = expand(TableList{Table{&failing, false}}, "a@v");
  ASSERT_TRUE(e.deferral);
  EXPECT_EQ(e.deferral->status, "4.6.0");
  EXPECT_EQ(e.addresses, List({"a@v"}));
}

TEST(VirtualAlias, EntryQueryUsesTheSameKeys) {
  Tables t;
  TableList tables = t.list({{"@catch.example", "x@y"}, {"u@v.example", "x@y"}});
  EXPECT_EQ(virtual_alias_entry(tables, "u+ext@v.example", kPlus), LookupStatus::Found);
  EXPECT_EQ(virtual_alias_entry(tables, "any@catch.example", kPlus), LookupStatus::Found);
  EXPECT_EQ(virtual_alias_entry(tables, "w@v.example", kPlus), LookupStatus::NotFound);
  FailingMap failing;
  EXPECT_EQ(virtual_alias_entry(TableList{Table{&failing, false}}, "w@v.example", kPlus),
            LookupStatus::TempFail);
}

// ---- The whole stage ----

message::Recipient rcpt(std::string address, std::string notify = "", std::string orcpt = "") {
  return message::Recipient{std::move(address), std::move(orcpt), std::move(notify)};
}

TEST(Rewriter, CanonicalOrderAndClasses) {
  Tables t;
  RewriteTables tables;
  tables.sender_canonical = t.list({{"s@d", "t@d"}});
  tables.recipient_canonical = t.list({{"r@d", "q@d"}});
  tables.canonical = t.list({{"t@d", "u@d"}, {"q@d", "p@d"}, {"s@d", "never@d"}});
  Rewriter rw(RewriteSettings{}, tables, kPlus);
  // sender_canonical_maps first, then canonical_maps; recipient tables never for senders.
  EXPECT_EQ(rw.rewrite_address("s@d", AddressClass::EnvelopeSender).address, "u@d");
  EXPECT_EQ(rw.rewrite_address("r@d", AddressClass::EnvelopeSender).address, "r@d");
  EXPECT_EQ(rw.rewrite_address("r@d", AddressClass::EnvelopeRecipient).address, "p@d");
  EXPECT_EQ(rw.rewrite_address("s@d", AddressClass::HeaderRecipient).address, "never@d");

  RewriteSettings only_senders;
  only_senders.canonical_classes = ClassSet{AddressClass::EnvelopeSender};
  Rewriter narrow(only_senders, tables, kPlus);
  EXPECT_EQ(narrow.rewrite_address("t@d", AddressClass::EnvelopeRecipient).address, "t@d");
  EXPECT_EQ(narrow.rewrite_address("t@d", AddressClass::EnvelopeSender).address, "u@d");
}

TEST(Rewriter, MasqueradeClassesDefaultSkipEnvelopeRecipients) {
  RewriteSettings s;
  s.masquerade.domains = {"a.example"};
  Rewriter rw(s, RewriteTables{}, kPlus);
  EXPECT_EQ(rw.rewrite_address("u@h.a.example", AddressClass::EnvelopeSender).address,
            "u@a.example");
  EXPECT_EQ(rw.rewrite_address("u@h.a.example", AddressClass::EnvelopeRecipient).address,
            "u@h.a.example");
  EXPECT_EQ(rw.rewrite_address("u@h.a.example", AddressClass::HeaderRecipient).address,
            "u@a.example");
}

TEST(Rewriter, ExpansionKeepsOriginalRecipientAndDsn) {
  Tables t;
  RewriteTables tables;
  tables.recipient_canonical = t.list({{"old@v.example", "list@v.example"}});
  tables.virtual_alias =
      t.list({{"list@v.example", "a@x.example, b@x.example"}, {"one@v.example", "solo@x.example"}});
  Rewriter rw(RewriteSettings{}, tables, kPlus);
  EnvelopeRewrite e = rw.rewrite_envelope(
      "s@d", {rcpt("old@v.example", "SUCCESS,FAILURE", "rfc822;old@v.example"),
              rcpt("one@v.example", "SUCCESS"), rcpt("plain@x.example", "SUCCESS")});
  ASSERT_FALSE(e.deferral);
  EXPECT_EQ(e.recipients, (std::vector<FinalRecipient>{
                              {"a@x.example", "old@v.example", "rfc822;old@v.example", "FAILURE"},
                              {"b@x.example", "old@v.example", "rfc822;old@v.example", "FAILURE"},
                              {"solo@x.example", "one@v.example", "", "NEVER"},
                              {"plain@x.example", "plain@x.example", "", "SUCCESS"}}));
  EXPECT_EQ(e.expanded,
            (std::vector<FinalRecipient>{
                {"list@v.example", "old@v.example", "rfc822;old@v.example", "SUCCESS,FAILURE"},
                {"one@v.example", "one@v.example", "", "SUCCESS"}}));
}

TEST(Rewriter, DuplicateFilterKeysOnOriginalAndDsn) {
  Tables t;
  RewriteTables tables;
  tables.virtual_alias = t.list({{"a@v", "x@y"}, {"b@v", "x@y"}});
  Rewriter rw(RewriteSettings{}, tables, kPlus);
  EnvelopeRewrite e = rw.rewrite_envelope("", {rcpt("a@v"), rcpt("a@v"), rcpt("b@v"), rcpt("x@y")});
  EXPECT_EQ(e.recipients,
            (std::vector<FinalRecipient>{
                {"x@y", "a@v", "", ""}, {"x@y", "b@v", "", ""}, {"x@y", "x@y", "", ""}}));
}

TEST(Rewriter, AutomaticBccRecipients) {
  Tables t;
  RewriteTables tables;
  tables.sender_bcc = t.list({{"@d.example", "sender-archive@z"}});
  tables.recipient_bcc = t.list({{"r@v", "rcpt-archive@z, second@z"}});
  tables.virtual_alias = t.list({{"legal@z", "legal1@z legal2@z"}});
  RewriteSettings s;
  s.always_bcc = "legal@z";
  Rewriter rw(s, tables, kPlus);
  EnvelopeRewrite e = rw.rewrite_envelope("s@d.example", {rcpt("r@v", "SUCCESS")});
  ASSERT_FALSE(e.deferral);
  EXPECT_EQ(e.recipients,
            (std::vector<FinalRecipient>{{"sender-archive@z", "sender-archive@z", "", "NEVER"},
                                         {"r@v", "r@v", "", "SUCCESS"},
                                         {"rcpt-archive@z", "rcpt-archive@z", "", "NEVER"},
                                         {"legal1@z", "legal@z", "", "NEVER"},
                                         {"legal2@z", "legal@z", "", "NEVER"}}));
  ASSERT_EQ(e.warnings.size(), 1u);  // the second recipient_bcc address is not used
  EXPECT_TRUE(e.expanded.empty());   // NEVER has no SUCCESS to report

  // No BCC when turned off, for the null sender's own lookup, and without recipients.
  EXPECT_EQ(rw.rewrite_envelope("s@d.example", {rcpt("r@v")}, false).recipients.size(), 1u);
  EXPECT_EQ(rw.rewrite_envelope("", {rcpt("q@v")}).recipients.size(), 3u);      // q + legal1/2
  EXPECT_TRUE(rw.rewrite_envelope("s@d.example", {}).recipients.size() == 1u);  // sender's
}

TEST(Rewriter, AnyTableFailureDefersTheMessage) {
  Tables t;
  FailingMap failing;
  TableList broken{Table{&failing, false}};
  for (int which = 0; which < 4; ++which) {
    RewriteTables tables;
    if (which == 0) tables.sender_canonical = broken;
    if (which == 1) tables.virtual_alias = broken;
    if (which == 2) tables.sender_bcc = broken;
    if (which == 3) tables.recipient_bcc = broken;
    Rewriter rw(RewriteSettings{}, tables, kPlus);
    EnvelopeRewrite e = rw.rewrite_envelope("s@d", {rcpt("r@v")});
    EXPECT_TRUE(e.deferral) << which;
  }
}

TEST(Rewriter, HeaderAddressesRewrittenInPlace) {
  Tables t;
  RewriteTables tables;
  tables.canonical = t.list({{"@old.example", "@new.example"}});
  tables.sender_canonical = t.list({{"ann@x.example", "ann.smith@x.example"}});
  RewriteSettings s;
  s.masquerade.domains = {"x.example"};
  Rewriter rw(s, tables, kPlus);
  HeaderRewrite h =
      rw.rewrite_header("from", "\"Smith, Ann\" <ann@x.example> (work),\r\n\tbob@old.example");
  EXPECT_TRUE(h.changed);
  EXPECT_EQ(h.value, "\"Smith, Ann\" <ann.smith@x.example> (work),\r\n\tbob@new.example");
  // Recipient headers skip sender_canonical_maps but are masqueraded by default.
  EXPECT_EQ(rw.rewrite_header("Cc", "team: ann@x.example, c@h.x.example;").value,
            "team: ann@x.example, c@x.example;");
  // An address the tables leave alone keeps its bytes, white space and all.
  HeaderRewrite same = rw.rewrite_header("To", "Bob <bob @ elsewhere.example>");
  EXPECT_FALSE(same.changed);
  EXPECT_EQ(same.value, "Bob <bob @ elsewhere.example>");
  HeaderRewrite subject = rw.rewrite_header("Subject", "bob@old.example");
  EXPECT_FALSE(subject.changed);
  EXPECT_EQ(subject.value, "bob@old.example");

  FailingMap failing;
  RewriteTables broken;
  broken.canonical = TableList{Table{&failing, false}};
  EXPECT_TRUE(Rewriter(s, broken, kPlus).rewrite_header("To", "a@b").deferral);
}

TEST(Rewriter, HeaderClasses) {
  for (const char* n : {"From", "sender", "REPLY-TO", "Errors-To", "Return-Receipt-To",
                        "Resent-From", "Resent-Sender", "Resent-Reply-To"}) {
    EXPECT_EQ(header_address_class(n), AddressClass::HeaderSender) << n;
  }
  for (const char* n :
       {"To", "cc", "Bcc", "Apparently-To", "Resent-To", "Resent-Cc", "Resent-Bcc"}) {
    EXPECT_EQ(header_address_class(n), AddressClass::HeaderRecipient) << n;
  }
  EXPECT_EQ(header_address_class("Subject"), std::nullopt);
  EXPECT_EQ(header_address_class("Return-Path"), std::nullopt);
}

TEST(Rewriter, VirtualAliasEntryChecksCanonicalTablesToo) {
  Tables t;
  RewriteTables tables;
  tables.canonical = t.list({{"c@v.example", "x@y"}});
  tables.recipient_canonical = t.list({{"r@v.example", "x@y"}});
  tables.virtual_alias = t.list({{"@w.example", "x@y"}});
  Rewriter rw(RewriteSettings{}, tables, kPlus);
  EXPECT_EQ(rw.has_virtual_alias_entry("c@v.example"), LookupStatus::Found);
  EXPECT_EQ(rw.has_virtual_alias_entry("r+x@v.example"), LookupStatus::Found);
  EXPECT_EQ(rw.has_virtual_alias_entry("any@w.example"), LookupStatus::Found);
  EXPECT_EQ(rw.has_virtual_alias_entry("u@v.example"), LookupStatus::NotFound);
  FailingMap failing;
  tables.virtual_alias = TableList{Table{&failing, false}};
  EXPECT_EQ(Rewriter(RewriteSettings{}, tables, kPlus).has_virtual_alias_entry("u@v.example"),
            LookupStatus::TempFail);
}

// ---- Settings ----

TEST(Settings, DefaultsArePostfixs) {
  config::LoadResult loaded = config::Config::parse("", "main.cf", "/etc/estafeta", "mx.example");
  ASSERT_TRUE(loaded.config);
  Result<RewriteSettings> s = make_rewrite_settings(*loaded.config);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->canonical_classes, kAllClasses);
  EXPECT_EQ(s->masquerade_classes,
            (ClassSet{AddressClass::EnvelopeSender, AddressClass::HeaderSender,
                      AddressClass::HeaderRecipient}));
  EXPECT_TRUE(s->propagate_canonical);
  EXPECT_TRUE(s->propagate_virtual);
  EXPECT_EQ(s->alias_limits.recursion_limit, 1000);
  EXPECT_EQ(s->alias_limits.expansion_limit, 1000);
  EXPECT_TRUE(rewrite_table_specs(*s).empty());
}

TEST(Settings, ParsedFromMainCf) {
  config::LoadResult loaded = config::Config::parse(
      "canonical_maps = hash:/etc/c, inline:{ a=b, c=d }\n"
      "sender_canonical_maps = hash:/etc/c\n"
      "canonical_classes = envelope_sender\n"
      "masquerade_domains = !sub.a.example, a.example\n"
      "masquerade_exceptions = root\n"
      "masquerade_classes =\n"
      "propagate_unmatched_extensions = virtual\n"
      "virtual_alias_maps = hash:/etc/v\n"
      "virtual_alias_recursion_limit = 7\n"
      "virtual_alias_expansion_limit = 9\n"
      "always_bcc = legal@z.example\n"
      "sender_bcc_maps = hash:/etc/sb\n"
      "recipient_bcc_maps = hash:/etc/rb\n"
      "recipient_delimiter = +-\n",
      "main.cf", "/etc/estafeta", "mx.example");
  ASSERT_TRUE(loaded.config);
  Result<RewriteSettings> s = make_rewrite_settings(*loaded.config);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->canonical_maps, List({"hash:/etc/c", "inline:{ a=b, c=d }"}));
  EXPECT_EQ(s->canonical_classes, ClassSet{AddressClass::EnvelopeSender});
  EXPECT_EQ(s->masquerade.domains, List({"!sub.a.example", "a.example"}));
  EXPECT_EQ(s->masquerade.exceptions, List({"root"}));
  EXPECT_EQ(s->masquerade_classes, ClassSet{});
  EXPECT_FALSE(s->propagate_canonical);
  EXPECT_TRUE(s->propagate_virtual);
  EXPECT_EQ(s->virtual_alias_domains, List({"hash:/etc/v"}));  // $virtual_alias_maps
  EXPECT_EQ(s->alias_limits.recursion_limit, 7);
  EXPECT_EQ(s->alias_limits.expansion_limit, 9);
  EXPECT_EQ(s->always_bcc, "legal@z.example");
  EXPECT_EQ(s->recipient_delimiter, "+-");
  EXPECT_EQ(rewrite_table_specs(*s), List({"hash:/etc/c", "inline:{ a=b, c=d }", "hash:/etc/v",
                                           "hash:/etc/sb", "hash:/etc/rb"}));
}

TEST(Settings, UnknownClassIsAnError) {
  EXPECT_FALSE(parse_classes({"envelope_sender", "header_body"}).ok());
  EXPECT_EQ(*parse_classes({"header_recipient"}), ClassSet{AddressClass::HeaderRecipient});
}

}  // namespace
}  // namespace estafeta::rewrite
