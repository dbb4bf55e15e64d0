// Tests for the restriction settings read from main.cf: defaults, codes, start-up errors.
#include "policy/restriction_settings.h"

#include <gtest/gtest.h>

#include "policy/restriction_test_support.h"

namespace estafeta::policy {
namespace {

Result<RestrictionSettings> from(const std::string& main_cf) {
  return test_support::try_settings_from(main_cf, NetworkSet());
}

TEST(RestrictionSettings, PostfixDefaults) {
  auto s = from("");
  ASSERT_TRUE(s.ok()) << s.error().message;
  ASSERT_EQ(s->relay.size(), 3u);
  EXPECT_EQ(s->relay[0].kind, RestrictionKind::PermitMynetworks);
  EXPECT_EQ(s->relay[1].kind, RestrictionKind::PermitSaslAuthenticated);
  EXPECT_EQ(s->relay[2].kind, RestrictionKind::DeferUnauthDestination);
  EXPECT_TRUE(s->client.empty());
  EXPECT_TRUE(s->recipient.empty());
  EXPECT_TRUE(s->delay_reject);
  EXPECT_EQ(s->codes.reject_code, 554);
  EXPECT_EQ(s->codes.defer_code, 450);
  EXPECT_EQ(s->codes.relay_domains_reject_code, 554);
  EXPECT_EQ(s->codes.access_map_reject_code, 554);
  EXPECT_EQ(s->codes.access_map_defer_code, 450);
  EXPECT_EQ(s->codes.maps_rbl_reject_code, 554);
  EXPECT_EQ(s->codes.unknown_client_reject_code, 450);
  EXPECT_EQ(s->codes.invalid_hostname_reject_code, 501);
  EXPECT_EQ(s->codes.non_fqdn_reject_code, 504);
  EXPECT_EQ(s->codes.unknown_hostname_reject_code, 450);
  EXPECT_EQ(s->codes.unknown_address_reject_code, 450);
  EXPECT_EQ(s->codes.multi_recipient_bounce_reject_code, 550);
  EXPECT_EQ(s->unknown_address_tempfail_action, TempfailAction::DeferIfPermit);
  EXPECT_EQ(s->unknown_helo_hostname_tempfail_action, TempfailAction::DeferIfPermit);
  EXPECT_TRUE(s->access_parent_matches_subdomains);
  EXPECT_EQ(s->null_access_lookup_key, "<>");
  EXPECT_EQ(s->default_rbl_reply,
            "$rbl_code Service unavailable; $rbl_class [$rbl_what] blocked using "
            "$rbl_domain${rbl_reason?; $rbl_reason}");
  EXPECT_EQ(s->policy_default_action, "451 4.3.5 Server configuration problem");
  EXPECT_FALSE(s->reject_unlisted_sender);
  EXPECT_TRUE(s->table_specs().empty());
}

TEST(RestrictionSettings, ListsClassesTablesAndServices) {
  auto s = from(
      "smtpd_delay_reject = no\n"
      "reject_tempfail_action = defer\n"
      "unknown_helo_hostname_tempfail_action = defer_if_permit\n"
      "smtpd_restriction_classes = strict\n"
      "strict = check_sender_access hash:/s, reject\n"
      "smtpd_client_restrictions = check_client_access cidr:/c, hash:/implicit\n"
      "smtpd_recipient_restrictions = check_policy_service inet:127.0.0.1:10023, strict, "
      "check_policy_service inet:127.0.0.1:10023\n"
      "rbl_reply_maps = hash:/rbl\n"
      "smtpd_sender_login_maps = hash:/logins, hash:/s\n");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_FALSE(s->delay_reject);
  EXPECT_EQ(s->unknown_address_tempfail_action, TempfailAction::Defer);
  EXPECT_EQ(s->unknown_helo_hostname_tempfail_action, TempfailAction::DeferIfPermit);
  ASSERT_EQ(s->classes.count("strict"), 1u);
  EXPECT_EQ(s->table_specs(), (std::vector<std::string>{"cidr:/c", "hash:/implicit", "hash:/s",
                                                        "hash:/rbl", "hash:/logins"}));
  EXPECT_EQ(s->policy_services(), std::vector<std::string>{"inet:127.0.0.1:10023"});
}

// reject_tempfail_action is the default of both finer parameters.
TEST(RestrictionSettings, RejectTempfailActionIsTheDefaultOfTheFinerOnes) {
  auto s = from("reject_tempfail_action = defer\n");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->unknown_address_tempfail_action, TempfailAction::Defer);
  EXPECT_EQ(s->unknown_helo_hostname_tempfail_action, TempfailAction::Defer);
  auto finer = from(
      "reject_tempfail_action = defer\nunknown_helo_hostname_tempfail_action = defer_if_permit\n");
  ASSERT_TRUE(finer.ok()) << finer.error().message;
  EXPECT_EQ(finer->unknown_helo_hostname_tempfail_action, TempfailAction::DeferIfPermit);
}

TEST(RestrictionSettings, StartupErrors) {
  struct Case {
    const char* main_cf;
    const char* error;
  } cases[] = {
      {"smtpd_client_restrictions = permit_mynetwork",
       "smtpd_client_restrictions: unknown restriction \"permit_mynetwork\""},
      {"smtpd_sender_restrictions = check_sender_access",
       "smtpd_sender_restrictions: restriction \"check_sender_access\" needs an argument"},
      {"smtpd_restriction_classes = strict",
       "smtpd_restriction_classes: restriction class \"strict\" needs a definition"},
      {"smtpd_restriction_classes = strict\nstrict = reject_everything",
       "restriction class strict: unknown restriction \"reject_everything\""},
      {"smtpd_data_restrictions = hash:/x",
       "smtpd_data_restrictions: \"hash:/x\": a table needs an access check in front "
       "(check_client_access, check_helo_access, check_sender_access, "
       "check_recipient_access, ...)"},
      {"smtpd_relay_restrictions = permit_mynetworks",
       "smtpd_relay_restrictions and smtpd_recipient_restrictions: specify at least one "
       "working instance of reject_unauth_destination, defer_unauth_destination, reject, "
       "defer or defer_if_permit (without one, this server would relay mail for anyone)"},
      {"rbl_reply_maps = /etc/rbl", "rbl_reply_maps: \"/etc/rbl\" is not a type:table"},
      {"smtpd_sender_login_maps = /etc/logins",
       "smtpd_sender_login_maps: \"/etc/logins\" is not a type:table"},
  };
  for (const Case& c : cases) {
    auto s = from(c.main_cf);
    ASSERT_FALSE(s.ok()) << c.main_cf;
    EXPECT_EQ(s.error().message, c.error);
  }
  // The relay safety check looks inside restriction classes too.
  EXPECT_TRUE(from("smtpd_restriction_classes = relay_rules\n"
                   "relay_rules = permit_mynetworks, reject_unauth_destination\n"
                   "smtpd_relay_restrictions = relay_rules")
                  .ok());
  EXPECT_TRUE(from("smtpd_relay_restrictions =\n"
                   "smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination")
                  .ok());
}

}  // namespace
}  // namespace estafeta::policy
