// Tests for restriction list parsing: every name, arguments, classes and start-up errors.
#include "policy/restriction_list.h"

#include <gtest/gtest.h>

namespace estafeta::policy {
namespace {

using K = RestrictionKind;
const std::set<std::string, std::less<>> kClasses = {"strict", "from_partners"};

RestrictionList parse(std::string_view value) {
  auto list = parse_restriction_list("test", restriction_words(value), kClasses);
  EXPECT_TRUE(list.ok()) << value << ": " << (list.ok() ? "" : list.error().message);
  return list.ok() ? *list : RestrictionList{};
}

TEST(RestrictionList, EveryNameWithoutArgument) {
  struct Case {
    const char* name;
    K kind;
  } cases[] = {
      {"permit", K::Permit},
      {"REJECT", K::Reject},
      {"defer", K::Defer},
      {"defer_if_permit", K::DeferIfPermit},
      {"defer_if_reject", K::DeferIfReject},
      {"warn_if_reject", K::WarnIfReject},
      {"reject_unauth_pipelining", K::RejectUnauthPipelining},
      {"reject_multi_recipient_bounce", K::RejectMultiRecipientBounce},
      {"permit_mynetworks", K::PermitMynetworks},
      {"permit_sasl_authenticated", K::PermitSaslAuthenticated},
      {"reject_unknown_client_hostname", K::RejectUnknownClientHostname},
      {"reject_unknown_client", K::RejectUnknownClientHostname},
      {"reject_unknown_reverse_client_hostname", K::RejectUnknownReverseClientHostname},
      {"reject_invalid_helo_hostname", K::RejectInvalidHeloHostname},
      {"reject_invalid_hostname", K::RejectInvalidHeloHostname},
      {"reject_non_fqdn_helo_hostname", K::RejectNonFqdnHeloHostname},
      {"reject_non_fqdn_hostname", K::RejectNonFqdnHeloHostname},
      {"reject_unknown_helo_hostname", K::RejectUnknownHeloHostname},
      {"reject_unknown_hostname", K::RejectUnknownHeloHostname},
      {"reject_non_fqdn_sender", K::RejectNonFqdnSender},
      {"reject_unknown_sender_domain", K::RejectUnknownSenderDomain},
      {"reject_unlisted_sender", K::RejectUnlistedSender},
      {"permit_auth_destination", K::PermitAuthDestination},
      {"reject_unauth_destination", K::RejectUnauthDestination},
      {"defer_unauth_destination", K::DeferUnauthDestination},
      {"reject_non_fqdn_recipient", K::RejectNonFqdnRecipient},
      {"reject_unknown_recipient_domain", K::RejectUnknownRecipientDomain},
      {"reject_unlisted_recipient", K::RejectUnlistedRecipient},
      {"check_recipient_maps", K::RejectUnlistedRecipient},
      {"strict", K::Class},
  };
  for (const Case& c : cases) {
    RestrictionList list = parse(c.name);
    ASSERT_EQ(list.size(), 1u) << c.name;
    EXPECT_EQ(list[0].kind, c.kind) << c.name;
  }
}

TEST(RestrictionList, Arguments) {
  RestrictionList list = parse(
      "check_client_access cidr:/etc/clients, check_reverse_client_hostname_access "
      "pcre:/r check_helo_access hash:/h check_sender_access hash:/s, check_recipient_access "
      "lmdb:/r check_etrn_access hash:/e sleep 3 check_policy_service inet:127.0.0.1:10023 "
      "reject_rbl_client zen.example=127.0.0.[2..11] permit_dnswl_client wl.example "
      "reject_rhsbl_client dbl.example reject_rhsbl_reverse_client dbl.example "
      "permit_rhswl_client wl.example reject_rhsbl_helo dbl.example reject_rhsbl_sender "
      "dbl.example reject_rhsbl_recipient dbl.example hash:/implicit");
  std::vector<std::pair<K, std::string>> want = {
      {K::CheckClientAccess, "cidr:/etc/clients"},
      {K::CheckReverseClientHostnameAccess, "pcre:/r"},
      {K::CheckHeloAccess, "hash:/h"},
      {K::CheckSenderAccess, "hash:/s"},
      {K::CheckRecipientAccess, "lmdb:/r"},
      {K::CheckEtrnAccess, "hash:/e"},
      {K::Sleep, ""},
      {K::CheckPolicyService, "inet:127.0.0.1:10023"},
      {K::RejectRblClient, "zen.example"},
      {K::PermitDnswlClient, "wl.example"},
      {K::RejectRhsblClient, "dbl.example"},
      {K::RejectRhsblReverseClient, "dbl.example"},
      {K::PermitRhswlClient, "wl.example"},
      {K::RejectRhsblHelo, "dbl.example"},
      {K::RejectRhsblSender, "dbl.example"},
      {K::RejectRhsblRecipient, "dbl.example"},
      {K::ImplicitAccess, "hash:/implicit"},
  };
  ASSERT_EQ(list.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(list[i].kind, want[i].first) << i;
    EXPECT_EQ(list[i].argument, want[i].second) << i;
  }
  EXPECT_EQ(list[6].seconds, 3);
  EXPECT_TRUE(list[8].reply_filter.matches("127.0.0.11"));
  EXPECT_FALSE(list[8].reply_filter.matches("127.0.0.12"));
  EXPECT_TRUE(list[9].reply_filter.empty());
  EXPECT_TRUE(takes_table(K::CheckClientAccess));
  EXPECT_TRUE(takes_table(K::ImplicitAccess));
  EXPECT_FALSE(takes_table(K::RejectRblClient));
}

TEST(RestrictionList, StartupErrors) {
  struct Case {
    const char* value;
    const char* error;
  } cases[] = {
      {"permit_mynetwork", "test: unknown restriction \"permit_mynetwork\""},
      {"reject_maps_rbl", "test: restriction \"reject_maps_rbl\" is not supported by Estafeta"},
      {"check_sender_mx_access", "test: restriction \"check_sender_mx_access\" needs an argument"},
      {"check_client_access", "test: restriction \"check_client_access\" needs an argument"},
      {"check_client_access reject",
       "test: restriction \"check_client_access\": bad argument \"reject\": need "
       "maptype:mapname"},
      {"sleep x", "test: restriction \"sleep\" must be followed by a number, not \"x\""},
      {"check_policy_service policyd",
       "test: restriction \"check_policy_service\" must be followed by transport:server, not "
       "\"policyd\""},
      {"reject_rbl_client =127.0.0.2",
       "test: restriction \"reject_rbl_client\" requires a domain name argument, not "
       "\"=127.0.0.2\""},
      {"reject_rbl_client zen.example=127.0.0",
       "test: restriction \"reject_rbl_client zen.example=127.0.0\": bad DNSBL reply filter "
       "\"127.0.0\""},
      {"Strict", "test: unknown restriction \"Strict\""},  // class names are case-sensitive
  };
  for (const Case& c : cases) {
    auto list = parse_restriction_list("test", restriction_words(c.value), kClasses);
    ASSERT_FALSE(list.ok()) << c.value;
    EXPECT_EQ(list.error().message, c.error);
  }
}

// The DNS-based access checks (policy/dns_access.h) take a table; permit_mx_backup nothing.
TEST(RestrictionList, DnsBasedChecks) {
  using K = RestrictionKind;
  auto list = parse_restriction_list(
      "test",
      restriction_words("check_client_hostname_access hash:/a, check_client_a_access hash:/b, "
                        "Check_Reverse_Client_Hostname_NS_Access hash:/c, check_helo_mx_access "
                        "cidr:/d, check_sender_mx_access hash:/e, check_recipient_ns_access "
                        "hash:/f, permit_mx_backup"),
      kClasses);
  ASSERT_TRUE(list.ok()) << list.error().message;
  std::vector<std::pair<K, std::string>> want = {
      {K::CheckClientHostnameAccess, "hash:/a"},
      {K::CheckClientAAccess, "hash:/b"},
      {K::CheckReverseClientHostnameNsAccess, "hash:/c"},
      {K::CheckHeloMxAccess, "cidr:/d"},
      {K::CheckSenderMxAccess, "hash:/e"},
      {K::CheckRecipientNsAccess, "hash:/f"},
      {K::PermitMxBackup, ""},
  };
  ASSERT_EQ(list->size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ((*list)[i].kind, want[i].first) << i;
    EXPECT_EQ((*list)[i].argument, want[i].second) << i;
  }
  EXPECT_TRUE(takes_table(K::CheckSenderMxAccess));
  EXPECT_FALSE(takes_table(K::PermitMxBackup));
}

TEST(RestrictionList, Words) {
  EXPECT_EQ(restriction_words(" a,b  c,\n\td,,"), (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_TRUE(restriction_words("").empty());
  // Separators inside braces do not split: an inline table is one word.
  EXPECT_EQ(restriction_words("check_sender_access inline:{ a@b=REJECT, c@d=OK }, permit"),
            (std::vector<std::string>{"check_sender_access", "inline:{ a@b=REJECT, c@d=OK }",
                                      "permit"}));
}

TEST(RestrictionList, InlineTableWithSpacesIsOneArgument) {
  auto list = parse_restriction_list(
      "test", restriction_words("check_sender_access inline:{ a@b=REJECT, { c@d = 550 no } }"),
      kClasses);
  ASSERT_TRUE(list.ok()) << list.error().message;
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].argument, "inline:{ a@b=REJECT, { c@d = 550 no } }");
}

TEST(RestrictionList, BracesAroundARestrictionOrItsArgumentAreAClearError) {
  for (const char* value : {"check_policy_service { inet:127.0.0.1:9998, timeout=10s }",
                            "{ permit_mynetworks }, reject"}) {
    auto list = parse_restriction_list("test", restriction_words(value), kClasses);
    ASSERT_FALSE(list.ok()) << value;
    EXPECT_NE(list.error().message.find("braces"), std::string::npos) << list.error().message;
  }
}

}  // namespace
}  // namespace estafeta::policy
