// Tests of the canonical form and the address resolver (Postfix's trivial-rewrite rules).
#include "route/resolver.h"

#include <gtest/gtest.h>

#include "route/canonical_form.h"

namespace estafeta::route {
namespace {

class DomainTable : public maps::Map {
 public:
  maps::LookupResult lookup(std::string_view key) const override {
    if (key == "tabled.example") return maps::LookupResult::found("OK");
    if (key == "down.example") return maps::LookupResult::temp_fail("down");
    return maps::LookupResult::not_found();
  }
};

RouteSettings settings(const DomainTable* table = nullptr) {
  RouteSettings s;
  s.myhostname = "mx.example.org";
  s.mydomain = "example.org";
  s.myorigin = "example.org";
  std::vector<const maps::Map*> tables;
  if (table) tables.push_back(table);
  s.mydestination =
      policy::DomainList({"mx.example.org", "example.org", "localhost"}, tables, false);
  s.own_addresses = {"192.0.2.25", "2001:db8::25"};
  s.virtual_alias_domains = policy::DomainList({"alias.example"}, {}, false);
  s.virtual_mailbox_domains = policy::DomainList({"hosted.example"}, {}, false);
  s.relay_domains = policy::DomainList({"relayed.example"}, {}, true);
  s.local_transport = "local:mx.example.org";
  return s;
}

TEST(CanonicalForm, PostfixRewrites) {
  RouteSettings s = settings();
  EXPECT_EQ(canonical_form(s, ""), "");
  EXPECT_EQ(canonical_form(s, "alice"), "alice@example.org");
  EXPECT_EQ(canonical_form(s, "alice@host"), "alice@host");
  EXPECT_EQ(canonical_form(s, "alice@example.com."), "alice@example.com");
  EXPECT_EQ(canonical_form(s, "uucphost!bob"), "bob@uucphost");
  EXPECT_EQ(canonical_form(s, "bob%other.example"), "bob@other.example");
  EXPECT_EQ(canonical_form(s, "a%b%c.example"), "a%b@c.example");
  EXPECT_EQ(canonical_form(s, "bob%other@site.example"), "bob%other@site.example");
  s.swap_bangpath = false;
  s.allow_percent_hack = false;
  EXPECT_EQ(canonical_form(s, "uucphost!bob"), "uucphost!bob@example.org");
  EXPECT_EQ(canonical_form(s, "bob%other.example"), "bob%other.example@example.org");
  s.append_dot_mydomain = true;
  EXPECT_EQ(canonical_form(s, "alice@host"), "alice@host.example.org");
  EXPECT_EQ(canonical_form(s, "alice@host.example.com"), "alice@host.example.com");
  EXPECT_EQ(canonical_form(s, "alice@[192.0.2.1]"), "alice@[192.0.2.1]");
  s.myorigin = "";
  EXPECT_EQ(canonical_form(s, "alice"), "alice");
}

TEST(Resolver, ClassesTransportsAndNextHops) {
  RouteSettings s = settings();
  struct Case {
    const char* address;
    AddressClass address_class;
    const char* transport;
    const char* nexthop;
    const char* recipient;
  } cases[] = {
      {"alice@mx.example.org", AddressClass::Local, "local", "mx.example.org",
       "alice@mx.example.org"},
      {"alice@EXAMPLE.ORG", AddressClass::Local, "local", "mx.example.org", "alice@EXAMPLE.ORG"},
      {"alice@[192.0.2.25]", AddressClass::Local, "local", "mx.example.org", "alice@[192.0.2.25]"},
      {"alice@[IPv6:2001:db8::25]", AddressClass::Local, "local", "mx.example.org",
       "alice@[IPv6:2001:db8::25]"},
      {"alice@[192.0.2.26]", AddressClass::Default, "smtp", "[192.0.2.26]", "alice@[192.0.2.26]"},
      {"postmaster", AddressClass::Local, "local", "mx.example.org", "postmaster"},
      {"x@alias.example", AddressClass::VirtualAlias, "error",
       "5.1.1 User unknown in virtual alias table", "x@alias.example"},
      {"x@hosted.example", AddressClass::VirtualMailbox, "virtual", "hosted.example",
       "x@hosted.example"},
      {"x@relayed.example", AddressClass::Relay, "relay", "relayed.example", "x@relayed.example"},
      {"x@sub.relayed.example", AddressClass::Relay, "relay", "sub.relayed.example",
       "x@sub.relayed.example"},
      {"x@elsewhere.example", AddressClass::Default, "smtp", "elsewhere.example",
       "x@elsewhere.example"},
      // Source routes through a local domain are followed.
      {"bob%relayed.example@localhost", AddressClass::Relay, "relay", "relayed.example",
       "bob@relayed.example"},
      {"a%b%elsewhere.example@localhost", AddressClass::Default, "smtp", "elsewhere.example",
       "a%b@elsewhere.example"},
      {"relayed.example!bob@localhost", AddressClass::Relay, "relay", "relayed.example",
       "bob@relayed.example"},
      {"bob%localhost@mx.example.org", AddressClass::Local, "local", "mx.example.org",
       "bob@localhost"},
  };
  for (const auto& c : cases) {
    ResolveResult r = resolve(s, c.address);
    ASSERT_FALSE(r.temp_fail) << c.address;
    EXPECT_EQ(r.resolution.address_class, c.address_class) << c.address;
    EXPECT_EQ(r.resolution.transport, c.transport) << c.address;
    EXPECT_EQ(r.resolution.nexthop, c.nexthop) << c.address;
    EXPECT_EQ(r.resolution.recipient, c.recipient) << c.address;
  }
}

TEST(Resolver, RoutedAddressesAreMarked) {
  RouteSettings s = settings();
  EXPECT_FALSE(resolve(s, "x@relayed.example").resolution.routed);
  EXPECT_TRUE(resolve(s, "x%y@relayed.example").resolution.routed);
  EXPECT_TRUE(resolve(s, "y!x@relayed.example").resolution.routed);
  EXPECT_TRUE(resolve(s, "\"x@y\"@relayed.example").resolution.routed);
  EXPECT_TRUE(resolve(s, "a%b%elsewhere.example@localhost").resolution.routed);
  // Followed to the end without the hacks, the local part keeps its characters.
  s.allow_percent_hack = false;
  s.swap_bangpath = false;
  ResolveResult r = resolve(s, "bob%relayed.example@localhost");
  EXPECT_EQ(r.resolution.address_class, AddressClass::Local);
  EXPECT_FALSE(r.resolution.routed);
}

TEST(Resolver, AnAtSignInTheLocalPartOfALocalAddressIsASourceRouteEvenQuoted) {
  // Postfix's resolve_dequoted = yes: "user@elsewhere"@local is never one of our mailboxes
  // (the open-relay battery's form), whatever the hacks say.
  RouteSettings s = settings();
  s.allow_percent_hack = false;
  s.swap_bangpath = false;
  for (const char* address : {"\"relaytest@elsewhere.example\"@localhost",
                              "relaytest@elsewhere.example@localhost"}) {
    ResolveResult r = resolve(s, address);
    EXPECT_EQ(r.resolution.address_class, AddressClass::Default) << address;
    EXPECT_EQ(r.resolution.recipient, "relaytest@elsewhere.example") << address;
  }
  EXPECT_EQ(resolve(s, "\"bob\"@localhost").resolution.address_class, AddressClass::Local);
}

TEST(Resolver, RelayhostIsTheNextHopOfRemoteMailUnlessTheTransportNamesOne) {
  RouteSettings s = settings();
  s.relayhost = "[smarthost.example]:587";
  EXPECT_EQ(resolve(s, "x@elsewhere.example").resolution.nexthop, "[smarthost.example]:587");
  EXPECT_EQ(resolve(s, "x@relayed.example").resolution.nexthop, "[smarthost.example]:587");
  EXPECT_EQ(resolve(s, "x@hosted.example").resolution.nexthop, "hosted.example");
  EXPECT_EQ(resolve(s, "alice@mx.example.org").resolution.transport, "local");
  s.default_transport = "smtp:[other.example]";
  EXPECT_EQ(resolve(s, "x@elsewhere.example").resolution.nexthop, "[other.example]");
  EXPECT_EQ(resolve(s, "x@relayed.example").resolution.nexthop, "[smarthost.example]:587");
}

// A sender_dependent_relayhost_maps table.
class SenderRelayTable : public maps::Map {
 public:
  maps::LookupResult lookup(std::string_view key) const override {
    if (key == "boss@corp.example") return maps::LookupResult::found(" [boss-relay.example]:587");
    if (key == "@corp.example") return maps::LookupResult::found("[corp-relay.example]");
    if (key == "<>") return maps::LookupResult::found("[bounce-relay.example]");
    if (key == "@down.example") return maps::LookupResult::temp_fail("down");
    return maps::LookupResult::not_found();
  }
};

TEST(Resolver, SenderDependentRelayhostReplacesRelayhost) {
  SenderRelayTable table;
  RouteSettings s = settings();
  s.relayhost = "[smarthost.example]:587";
  s.recipient_delimiter = "+";
  s.sender_dependent_relayhost_maps = {&table};
  auto hop = [&](std::string_view rcpt, std::optional<std::string_view> sender) {
    ResolveResult r = resolve(s, rcpt, sender);
    return r.temp_fail ? std::string("(tempfail)") : r.resolution.nexthop;
  };
  EXPECT_EQ(hop("x@elsewhere.example", "boss@corp.example"), "[boss-relay.example]:587");
  EXPECT_EQ(hop("x@elsewhere.example", "boss+tag@corp.example"), "[boss-relay.example]:587");
  EXPECT_EQ(hop("x@elsewhere.example", "other@CORP.example"), "[corp-relay.example]");
  EXPECT_EQ(hop("x@relayed.example", "other@corp.example"), "[corp-relay.example]");
  EXPECT_EQ(hop("x@elsewhere.example", ""), "[bounce-relay.example]");
  EXPECT_EQ(hop("x@elsewhere.example", "a@else.example"), "[smarthost.example]:587");
  EXPECT_EQ(hop("x@elsewhere.example", std::nullopt), "[smarthost.example]:587");
  EXPECT_EQ(hop("x@elsewhere.example", "a@down.example"), "(tempfail)");
  // Local and virtual mail never use it; a transport with a next hop wins.
  EXPECT_EQ(resolve(s, "alice@mx.example.org", "boss@corp.example").resolution.transport, "local");
  EXPECT_EQ(hop("x@hosted.example", "boss@corp.example"), "hosted.example");
  EXPECT_EQ(hop("alice@mx.example.org", "a@down.example"), "mx.example.org");
  s.default_transport = "smtp:[other.example]";
  EXPECT_EQ(hop("x@elsewhere.example", "boss@corp.example"), "[other.example]");
}

// A transport(5) table.
class TransportTable : public maps::Map {
 public:
  maps::LookupResult lookup(std::string_view key) const override {
    if (key == "vip@elsewhere.example") return maps::LookupResult::found("smtp:[vip.example]:2525");
    if (key == "gone@elsewhere.example") return maps::LookupResult::found("error:5.1.1 gone");
    if (key == "elsewhere.example") return maps::LookupResult::found(":[gw.example]");
    if (key == ".sub.example") return maps::LookupResult::found("relay:");
    if (key == "mx.example.org") return maps::LookupResult::found("discard:");
    if (key == "broken.example") return maps::LookupResult::temp_fail("down");
    if (key == "*") return maps::LookupResult::found("smtp:[smarthost.example]");
    return maps::LookupResult::not_found();
  }
};

TEST(Resolver, TransportMapsOverrideTheClassInTransport5Order) {
  TransportTable table;
  RouteSettings s = settings();
  s.recipient_delimiter = "+";
  s.transport_maps = {&table};
  auto route = [&](std::string_view a) {
    ResolveResult r = resolve(s, a);
    EXPECT_FALSE(r.temp_fail) << a;
    return r.resolution.transport + " " + r.resolution.nexthop;
  };
  EXPECT_EQ(route("vip@elsewhere.example"), "smtp [vip.example]:2525");
  EXPECT_EQ(route("vip+tag@elsewhere.example"), "smtp [vip.example]:2525");  // no extension
  EXPECT_EQ(route("gone@elsewhere.example"), "error 5.1.1 gone");
  EXPECT_EQ(route("other@elsewhere.example"), "smtp [gw.example]");  // the class's transport
  EXPECT_EQ(route("x@a.sub.example"), "relay a.sub.example");        // the class's next hop
  EXPECT_EQ(route("x@sub.example"), "smtp [smarthost.example]");     // "*": not the parent
  EXPECT_EQ(route("alice@mx.example.org"), "discard ");
  EXPECT_EQ(resolve(s, "alice@mx.example.org").resolution.address_class, AddressClass::Local);
  EXPECT_TRUE(resolve(s, "x@broken.example").temp_fail);
}

TEST(Resolver, TransportSpecsAndTables) {
  DomainTable table;
  RouteSettings s = settings(&table);
  s.default_transport = "smtp:[smarthost.example]:587";
  s.virtual_transport = "lmtp:unix:private/dovecot-lmtp";
  EXPECT_EQ(resolve(s, "x@tabled.example").resolution.address_class, AddressClass::Local);
  EXPECT_TRUE(resolve(s, "x@down.example").temp_fail);
  ResolveResult r = resolve(s, "x@elsewhere.example");
  EXPECT_EQ(r.resolution.transport, "smtp");
  EXPECT_EQ(r.resolution.nexthop, "[smarthost.example]:587");
  r = resolve(s, "x@hosted.example");
  EXPECT_EQ(r.resolution.transport, "lmtp");
  EXPECT_EQ(r.resolution.nexthop, "unix:private/dovecot-lmtp");
}

TEST(FilterResolution, TransportAndDestinationReplaceTheResolution) {
  struct Case {
    std::string_view filter, address, transport, nexthop;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"smtp:[10.0.0.1]:10025", "a@example.org", "smtp", "[10.0.0.1]:10025"},
           {"virtual:", "a@example.org", "virtual", "example.org"},  // the recipient's domain
           {"error:5.7.1 filtered: no", "a@b", "error", "5.7.1 filtered: no"},
           {"local:", "postmaster", "local", ""},
       }) {
    auto r = filter_resolution(c.filter, c.address);
    ASSERT_TRUE(r.has_value()) << c.filter;
    EXPECT_EQ(r->transport, c.transport) << c.filter;
    EXPECT_EQ(r->nexthop, c.nexthop) << c.filter;
    EXPECT_EQ(r->recipient, c.address) << c.filter;
  }
  EXPECT_FALSE(filter_resolution("smtp", "a@b"));
  EXPECT_FALSE(filter_resolution(":x", "a@b"));
}

}  // namespace
}  // namespace estafeta::route
